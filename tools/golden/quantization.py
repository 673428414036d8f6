"""Reference values for tests/DeepSharp.Quantization.Tests (run: /usr/bin/python3 tools/golden/quantization.py).

Writes tests/DeepSharp.Quantization.Tests/Golden/quantization.json, one entry per case:
- quant_*: torch.quantize_per_tensor / quantize_per_channel (int_repr and dequantize), including half-way values
  (round half to even) and out-of-range values (clamping);
- obs_*: torch.ao.quantization observers fed a few batches: min/max (per channel where applicable), scale, zero point;
- fq_*: torch.fake_quantize_per_tensor_affine / per_channel_affine output and the straight-through gradient of
  sum(out * upstream);
- fqmod_*: the FakeQuantize module (moving-average min-max observer) over three batches.
"""
import json, os
import torch
from torch.ao.quantization import (MinMaxObserver, MovingAverageMinMaxObserver, PerChannelMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, HistogramObserver, FakeQuantize)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Quantization.Tests', 'Golden', 'quantization.json')
torch.manual_seed(0)
cases = {}


def arr(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).double().tolist()}


DT = {'qint8': torch.qint8, 'quint8': torch.quint8}
QS = {'affine': torch.per_tensor_affine, 'symmetric': torch.per_tensor_symmetric,
      'channel_affine': torch.per_channel_affine, 'channel_symmetric': torch.per_channel_symmetric}

# ---- quantize / dequantize ------------------------------------------------------------------------
halfway = torch.tensor([0.25, 0.75, -0.25, -0.75, 1.25, 2.5, -2.5, 63.75, 100.0, -100.0, 0.0, 1e-9])
for name, x, scale, zp, dt in [
        ('quant_tensor_quint8', torch.randn(3, 5) * 3, 0.05, 128, 'quint8'),
        ('quant_tensor_qint8', torch.randn(4, 7) * 2, 0.031, -3, 'qint8'),
        ('quant_tensor_halfway_qint8', halfway, 0.5, 0, 'qint8'),
        ('quant_tensor_halfway_quint8', halfway, 0.5, 10, 'quint8')]:
    q = torch.quantize_per_tensor(x, scale, zp, DT[dt])
    cases[name] = {'x': arr(x), 'scale': scale, 'zero_point': zp, 'dtype': dt,
                   'int_repr': arr(q.int_repr()), 'dequant': arr(q.dequantize())}

for name, x, axis, dt in [('quant_channel_qint8_axis0', torch.randn(4, 3, 2, 2) * 2, 0, 'qint8'),
                          ('quant_channel_quint8_axis1', torch.randn(2, 3, 5) * 2, 1, 'quint8')]:
    n = x.shape[axis]
    scales = torch.rand(n, dtype=torch.float64) * 0.05 + 0.01
    zps = torch.randint(-10, 10, (n,)) if dt == 'qint8' else torch.randint(100, 150, (n,))
    q = torch.quantize_per_channel(x, scales, zps, axis, DT[dt])
    cases[name] = {'x': arr(x), 'scales': arr(scales), 'zero_points': arr(zps), 'axis': axis, 'dtype': dt,
                   'int_repr': arr(q.int_repr()), 'dequant': arr(q.dequantize())}

# ---- observers ------------------------------------------------------------------------------------
batches = [torch.randn(8, 3, 4, 4) * 2 + 0.5, torch.randn(8, 3, 4, 4) * 3 - 1, torch.rand(8, 3, 4, 4) * 5]
positive = [torch.rand(4, 6) * 4 + 1, torch.rand(4, 6) * 2 + 0.5]


def observe(name, obs, data, kind, **kw):
    for b in data:
        obs(b)
    scale, zp = obs.calculate_qparams()
    cases[name] = {'kind': kind, 'args': kw, 'batches': [arr(b) for b in data], 'min': arr(obs.min_val), 'max': arr(obs.max_val),
                   'scale': arr(scale), 'zero_point': arr(zp)}


for dt in ['quint8', 'qint8']:
    for qs in ['affine', 'symmetric']:
        for rr in [False, True]:
            if dt == 'quint8' and qs == 'symmetric' and rr:
                continue  # torch refuses: "Cannot reduce range for symmetric quantization for quint8"
            observe(f'obs_minmax_{dt}_{qs}_{"rr" if rr else "full"}', MinMaxObserver(dtype=DT[dt], qscheme=QS[qs], reduce_range=rr),
                    batches, 'minmax', dtype=dt, qscheme=qs, reduce_range=rr)
observe('obs_minmax_positive', MinMaxObserver(), positive, 'minmax', dtype='quint8', qscheme='affine', reduce_range=False)
observe('obs_minmax_custom_range', MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_symmetric, quant_min=0, quant_max=100),
        batches, 'minmax', dtype='quint8', qscheme='symmetric', reduce_range=False, quant_min=0, quant_max=100)
observe('obs_minmax_zeros', MinMaxObserver(), [torch.zeros(3, 3)], 'minmax', dtype='quint8', qscheme='affine', reduce_range=False)
observe('obs_moving_quint8', MovingAverageMinMaxObserver(), batches, 'moving', dtype='quint8', qscheme='affine', reduce_range=False)
observe('obs_moving_qint8_sym_rr', MovingAverageMinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, reduce_range=True,
                                                                 averaging_constant=0.1), batches, 'moving',
        dtype='qint8', qscheme='symmetric', reduce_range=True, averaging_constant=0.1)
observe('obs_channel_qint8_sym_axis0', PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric),
        [b[:, :, 0, 0] for b in batches], 'channel', dtype='qint8', qscheme='channel_symmetric', reduce_range=False, axis=0)
observe('obs_channel_quint8_affine_axis1', PerChannelMinMaxObserver(ch_axis=1), batches, 'channel',
        dtype='quint8', qscheme='channel_affine', reduce_range=False, axis=1)
observe('obs_channel_moving_axis1', MovingAveragePerChannelMinMaxObserver(ch_axis=1, dtype=torch.qint8, qscheme=torch.per_channel_symmetric),
        batches, 'channel_moving', dtype='qint8', qscheme='channel_symmetric', reduce_range=False, axis=1, averaging_constant=0.01)
for name, data, kw in [('obs_hist_quint8', batches, {}), ('obs_hist_quint8_rr', batches, {'reduce_range': True}),
                       ('obs_hist_qint8_sym', batches, {'dtype': torch.qint8, 'qscheme': torch.per_tensor_symmetric}),
                       ('obs_hist_positive', positive, {})]:
    obs = HistogramObserver(**kw)
    args = {'dtype': 'qint8' if kw.get('dtype') == torch.qint8 else 'quint8',
            'qscheme': 'symmetric' if kw.get('qscheme') == torch.per_tensor_symmetric else 'affine', 'reduce_range': kw.get('reduce_range', False)}
    observe(name, obs, data, 'histogram', **args)
    cases[name]['histogram'] = arr(obs.histogram)

# ---- fake quantize and its straight-through gradient ----------------------------------------------
for name, x, scale, zp, qmin, qmax in [('fq_tensor_f32', torch.randn(5, 6) * 4, 0.05, 120, 0, 255),
                                       ('fq_tensor_f64', torch.randn(4, 5, dtype=torch.float64) * 2, 0.02, 0, -128, 127),
                                       ('fq_tensor_halfway', halfway, 0.5, 0, -64, 63)]:
    x = x.clone().requires_grad_()
    y = torch.fake_quantize_per_tensor_affine(x, scale, zp, qmin, qmax)
    up = torch.randn_like(y)
    (g,) = torch.autograd.grad([y], [x], [up])
    cases[name] = {'x': arr(x), 'scale': scale, 'zero_point': zp, 'quant_min': qmin, 'quant_max': qmax, 'dtype': str(x.dtype),
                   'out': arr(y), 'upstream': arr(up), 'grad': arr(g)}
x = (torch.randn(3, 4, 5) * 3).requires_grad_()
scales = torch.tensor([0.02, 0.05, 0.1, 0.01])
zps = torch.tensor([0, -5, 3, 10], dtype=torch.int32)
y = torch.fake_quantize_per_channel_affine(x, scales, zps, 1, -128, 127)
up = torch.randn_like(y)
(g,) = torch.autograd.grad([y], [x], [up])
cases['fq_channel_axis1'] = {'x': arr(x), 'scales': arr(scales), 'zero_points': arr(zps), 'axis': 1, 'quant_min': -128, 'quant_max': 127,
                             'out': arr(y), 'upstream': arr(up), 'grad': arr(g)}

fq = FakeQuantize()  # MovingAverageMinMaxObserver, quint8, [0, 255], per-tensor affine
outs, qp = [], []
for b in batches:
    outs.append(arr(fq(b)))
    qp.append([fq.scale.item(), fq.zero_point.item()])
cases['fqmod_default'] = {'batches': [arr(b) for b in batches], 'outs': outs, 'qparams': qp}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {OUT} ({len(cases)} cases)')
