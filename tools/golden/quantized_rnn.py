"""Reference values for the dynamic quantized LSTM/GRU (run: /usr/bin/python3 tools/golden/quantized_rnn.py).

Writes tests/DeepSharp.Quantization.Tests/Golden/quantized_rnn.json with PyTorch 1.13's 'onednn' engine:
torch.ao.quantization.quantize_dynamic(model, {nn.LSTM, nn.GRU}, dtype=torch.qint8) (default_dynamic_qconfig: per-tensor
symmetric qint8 weights, activations quantized per call with reduce_range) on small LSTM/GRU layers (one and two layers,
uni- and bidirectional, batch first, given or zero initial states). Each case: the float state dict, the input, the
initial state, the quantized output and final state, the float output (to see the quantization error), and each
weight's int8 scale from default_weight_observer.
"""
import json, os
import torch, torch.nn as nn
from torch.ao.quantization import quantize_dynamic, default_weight_observer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Quantization.Tests', 'Golden', 'quantized_rnn.json')
torch.backends.quantized.engine = 'onednn'
torch.manual_seed(3)
cases = {}


def arr(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).double().tolist()}


class Holder(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h):
        return self.rnn(x, h)


configs = [
    ('lstm_1', nn.LSTM, dict(input_size=7, hidden_size=9), 5, 3, False),
    ('lstm_2_bi_bf', nn.LSTM, dict(input_size=6, hidden_size=8, num_layers=2, bidirectional=True, batch_first=True), 4, 3, True),
    ('gru_1', nn.GRU, dict(input_size=7, hidden_size=9), 5, 3, False),
    ('gru_2_bi_bf', nn.GRU, dict(input_size=6, hidden_size=8, num_layers=2, bidirectional=True, batch_first=True), 4, 3, True),
]
for name, cls, kw, T, B, with_state in configs:
    rnn = cls(**kw).eval()
    L = kw.get('num_layers', 1) * (2 if kw.get('bidirectional') else 1)
    H = kw['hidden_size']
    x = torch.randn(B, T, kw['input_size']) if kw.get('batch_first') else torch.randn(T, B, kw['input_size'])
    x = x * 1.3 + 0.1
    if cls is nn.LSTM:
        state = (torch.randn(L, B, H) * 0.5, torch.randn(L, B, H) * 0.5) if with_state else None
    else:
        state = torch.randn(L, B, H) * 0.5 if with_state else None
    with torch.no_grad():
        yf, sf = rnn(x, state)
        q = quantize_dynamic(Holder(rnn), {nn.LSTM, nn.GRU}, dtype=torch.qint8)
        yq, sq = q(x, state)
    case = {'kind': 'lstm' if cls is nn.LSTM else 'gru', 'config': kw,
            'state_dict': {k: arr(v) for k, v in rnn.state_dict().items()},
            'x': arr(x), 'y': arr(yq), 'y_float': arr(yf)}
    scales = {}
    for k, v in rnn.state_dict().items():
        if k.startswith('weight'):
            obs = default_weight_observer()
            obs(v)
            scales[k] = float(obs.calculate_qparams()[0])
    case['weight_scales'] = scales
    if cls is nn.LSTM:
        if state is not None:
            case['h0'], case['c0'] = arr(state[0]), arr(state[1])
        case['hn'], case['cn'] = arr(sq[0]), arr(sq[1])
    else:
        if state is not None:
            case['h0'] = arr(state)
        case['hn'] = arr(sq)
    cases[name] = case

with open(OUT, 'w') as f:
    json.dump({'generator': 'tools/golden/quantized_rnn.py', 'torch': torch.__version__, 'engine': 'onednn', 'cases': cases}, f)
for n, c in cases.items():
    import math
    d = max(abs(a - b) for a, b in zip(c['y']['data'], c['y_float']['data']))
    print(n, 'max |int8 - float| =', d)
