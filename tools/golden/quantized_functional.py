"""Reference values for quantized add / add_relu / cat (run: /usr/bin/python3 tools/golden/quantized_functional.py).

Writes tests/DeepSharp.Quantization.Tests/Golden/quantized_functional.json with PyTorch 1.13's 'onednn' engine:
torch.ao.nn.quantized.QFunctional (what FloatFunctional becomes after convert, used by residual models) with an output
scale/zero point: add, add_relu and cat of two quint8 tensors with different scales and zero points.
"""
import json, os
import torch
from torch.ao.nn.quantized import QFunctional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Quantization.Tests', 'Golden', 'quantized_functional.json')
torch.backends.quantized.engine = 'onednn'
torch.manual_seed(3)


def arr(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).double().tolist()}


def q(shape, scale, zp):
    return torch.quantize_per_tensor(torch.randn(*shape) * 2, scale, zp, torch.quint8)


cases = {}
a, b, c = q((2, 3, 4, 5), 0.05, 120), q((2, 3, 4, 5), 0.021, 10), q((2, 2, 4, 5), 0.03, 77)
f = QFunctional()
f.scale, f.zero_point = 0.07, 60
for name, out in [('qfunctional_add', f.add(a, b)), ('qfunctional_add_relu', f.add_relu(a, b)), ('qfunctional_cat', f.cat([a, c], dim=1))]:
    cases[name] = {'a': arr(a.int_repr()), 'a_scale': a.q_scale(), 'a_zp': a.q_zero_point(),
                   'b': arr((c if name.endswith('cat') else b).int_repr()),
                   'b_scale': (c if name.endswith('cat') else b).q_scale(), 'b_zp': (c if name.endswith('cat') else b).q_zero_point(),
                   'out_scale': 0.07, 'out_zp': 60, 'y': arr(out.int_repr())}
with open(OUT, 'w') as fh:
    json.dump({'torch': torch.__version__, 'engine': torch.backends.quantized.engine, 'cases': cases}, fh, separators=(',', ':'))
