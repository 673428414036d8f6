"""Reference values for the quantized modules (run: /usr/bin/python3 tools/golden/quantized_modules.py).

Writes tests/DeepSharp.Quantization.Tests/Golden/quantized_modules.json with PyTorch 1.13's 'onednn' engine:
- dynamic_linear_{tensor,channel}: torch.ao.quantization.quantize_dynamic on a Linear (default_dynamic_qconfig and
  per_channel_dynamic_qconfig): weights, input, the int8 weight's int_repr/scales and the output;
- static_cnn: a small chain CNN with the Fashion CNN's layer kinds (conv+bn+relu, conv+relu, max-pool, flatten,
  linear+relu, dropout, linear), fused with fuse_modules, prepared with get_default_qconfig('onednn') (HistogramObserver
  activations, per-channel symmetric qint8 weights), calibrated on fixed batches and converted: its float state dict,
  the calibration batches, every layer's output scale/zero point, and the quantized output on a test batch.
"""
import json, os
import torch, torch.nn as nn
from torch.ao.quantization import (quantize_dynamic, per_channel_dynamic_qconfig, default_dynamic_qconfig, QuantStub,
                                   DeQuantStub, fuse_modules, get_default_qconfig, prepare, convert)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Quantization.Tests', 'Golden', 'quantized_modules.json')
torch.backends.quantized.engine = 'onednn'
torch.manual_seed(1)
cases = {}


def arr(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).double().tolist()}


for name, qconfig in [('dynamic_linear_tensor', default_dynamic_qconfig), ('dynamic_linear_channel', per_channel_dynamic_qconfig)]:
    m = nn.Sequential(nn.Linear(37, 11))
    x = torch.randn(6, 37) * 1.5 + 0.2
    q = quantize_dynamic(m, {nn.Linear: qconfig}, dtype=torch.qint8)
    w = q[0].weight()
    per_channel = w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric)
    cases[name] = {'weight': arr(m[0].weight), 'bias': arr(m[0].bias), 'x': arr(x), 'y': arr(q(x)),
                   'w_int': arr(w.int_repr()), 'w_scale': arr(w.q_per_channel_scales() if per_channel else torch.tensor([w.q_scale()]))}


class Wrapped(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.quant, self.m, self.dequant = QuantStub(), m, DeQuantStub()

    def forward(self, x):
        return self.dequant(self.m(self.quant(x)))


net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(216, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 5))
with torch.no_grad():
    net[1].running_mean.copy_(torch.randn(4) * 0.1)
    net[1].running_var.copy_(torch.rand(4) + 0.5)
    net[1].weight.copy_(torch.rand(4) + 0.5)
    net[1].bias.copy_(torch.randn(4) * 0.1)
state = {k: arr(v) for k, v in net.state_dict().items()}
net.eval()
model = Wrapped(net).eval()
fuse_modules(model, [['m.0', 'm.1', 'm.2'], ['m.3', 'm.4'], ['m.7', 'm.8']], inplace=True)
model.qconfig = get_default_qconfig('onednn')
prepare(model, inplace=True)
calib = [torch.rand(8, 1, 12, 12) * 2 - 0.3 for _ in range(4)]
with torch.no_grad():
    for b in calib:
        model(b)
convert(model, inplace=True)
test = torch.rand(5, 1, 12, 12) * 2 - 0.3
with torch.no_grad():
    y = model(test)
layers = {'input': [model.quant.scale.item(), model.quant.zero_point.item()]}
for idx in ['0', '3', '7', '10']:
    layer = model.m._modules[idx]
    layers[idx] = [float(layer.scale), int(layer.zero_point)]
cases['static_cnn'] = {'state': state, 'calibration': [arr(b) for b in calib], 'test': arr(test), 'y': arr(y), 'qparams': layers}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'engine': torch.backends.quantized.engine, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {OUT} ({len(cases)} cases)')
