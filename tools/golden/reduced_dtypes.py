"""PyTorch 1.13 CPU results of ops on float16 and bfloat16 tensors, for DeepSharp's 16-bit dtypes
(src/DeepSharp/Tensors/ReducedFloat.cs): every result is stored as its 16-bit pattern so the tests can check it bit for bit,
plus torch.result_type for every pair of dtypes and the float64 -> 16-bit casts.
Writes tests/DeepSharp.Tests/Golden/Fixtures/reduced_dtypes.json. Run: /usr/bin/python3 tools/golden/reduced_dtypes.py
"""
import json, os
import torch
import torch.nn.functional as F
from golden import OUT

torch.manual_seed(16)
NAMES = {torch.float16: 'float16', torch.bfloat16: 'bfloat16', torch.float32: 'float32', torch.float64: 'float64',
         torch.int64: 'int64', torch.int32: 'int32', torch.bool: 'bool'}


def bits(t):
    return [int(v) & 0xFFFF for v in t.contiguous().view(torch.int16).reshape(-1).tolist()]


def enc(t):
    """A 16-bit tensor: shape and the exact values (as float32 numbers) plus the bit patterns."""
    return {'shape': list(t.shape), 'dtype': NAMES[t.dtype], 'values': t.float().reshape(-1).tolist(), 'bits': bits(t)}


# each op reads its inputs from the dict t (the 16-bit tensors, or their float32 widening for emulated references)
OPS = {
    'add': lambda t: t['a'] + t['b'], 'sub': lambda t: t['a'] - t['b'], 'mul': lambda t: t['a'] * t['b'],
    'div': lambda t: t['a'] / t['b'], 'add_row': lambda t: t['a'] + t['row'], 'neg': lambda t: -t['a'],
    'add_scalar': lambda t: t['a'] + 0.1, 'mul_scalar': lambda t: t['a'] * 0.3, 'div_scalar': lambda t: t['a'] / 3,
    'relu': lambda t: torch.relu(t['a']), 'exp': lambda t: torch.exp(t['a'] / 4), 'tanh': lambda t: torch.tanh(t['a']),
    'sigmoid': lambda t: torch.sigmoid(t['a']), 'log': lambda t: torch.log(t['c']), 'sqrt': lambda t: torch.sqrt(t['b'].abs()),
    'gelu': lambda t: F.gelu(t['a']), 'leaky_relu': lambda t: F.leaky_relu(t['a'], 0.1),
    'sum': lambda t: t['big'].sum(), 'sum_dim': lambda t: t['big'].sum(1), 'mean': lambda t: t['big'].mean(),
    'mean_dim': lambda t: t['big'].mean(1), 'amax_dim': lambda t: t['a'].amax(1),
    'matmul': lambda t: t['p'] @ t['m'], 'linear': lambda t: F.linear(t['a'], t['lw'], t['lb']),
    'conv2d': lambda t: F.conv2d(t['x'], t['w'], t['cb'], padding=1),
    'softmax': lambda t: torch.softmax(t['a'], 1), 'log_softmax': lambda t: torch.log_softmax(t['a'], 1),
    'transpose_contiguous': lambda t: t['a'].t().contiguous(), 'slice': lambda t: t['a'][1:3, ::2].contiguous(),
    'cat': lambda t: torch.cat([t['a'], t['b']], 0), 'max_pool2d': lambda t: F.max_pool2d(t['x'], 2),
    'avg_pool2d': lambda t: F.avg_pool2d(t['x'], 2), 'cross_entropy': lambda t: F.cross_entropy(t['a'], torch.tensor([0, 5, 2, 3])),
}

cases = {}
emulated = []


def run(f, inputs, dt, key):
    # PyTorch 1.13's CPU has no float16 kernel for many ops (relu, conv2d, softmax, ...): there the reference is the
    # float32 op on the exactly widened inputs, rounded once, which is what its bfloat16 kernels and later versions do
    try:
        if key == 'log_softmax':
            # 1.13's bfloat16 log-softmax kernel rounds intermediates (x - max) to bfloat16 (up to 60 ulps off near 0):
            # DeepSharp computes it in float32 and rounds once, so the reference is the float32 op rounded once
            raise RuntimeError('reference in float32')
        return f(inputs)
    except RuntimeError:
        emulated.append(NAMES[dt] + '.' + key)
        return f({k: v.float() for k, v in inputs.items()}).to(dt)


for dt in (torch.float16, torch.bfloat16):
    name = NAMES[dt]
    a = (torch.randn(4, 6) * 3).to(dt)
    b = (torch.randn(4, 6) * 2 + 0.5).to(dt)
    row = torch.randn(6).to(dt)
    x = torch.randn(2, 3, 6, 6).to(dt)
    w = (torch.randn(4, 3, 3, 3) * 0.3).to(dt)
    cb = torch.randn(4).to(dt)
    lw = (torch.randn(5, 6) * 0.4).to(dt)
    lb = torch.randn(5).to(dt)
    # matmul operands of at least 16 rows/columns: PyTorch 1.13's small-matrix bfloat16 path rounds partial sums,
    # its general path (and DeepSharp) accumulates in float32 and rounds once
    p = torch.randn(16, 32).to(dt)
    m = (torch.randn(32, 16) * 0.5).to(dt)
    c = (torch.rand(4, 6) * 4 + 0.5).to(dt)
    big = (torch.randn(3, 300) * 4).to(dt)
    inputs = {'a': a, 'b': b, 'row': row, 'x': x, 'w': w, 'cb': cb, 'lw': lw, 'lb': lb, 'p': p, 'm': m, 'c': c, 'big': big}
    ops = {k: run(f, inputs, dt, k) for k, f in OPS.items()}
    compare = {'gt': (a > b).tolist(), 'eq': (a == a.t().contiguous().t()).tolist(), 'le_scalar': (a <= 0.5).tolist()}
    promoted = {'plus_float32': NAMES[(a + b.float()).dtype], 'plus_float64': NAMES[(a + b.double()).dtype],
                'plus_int64': NAMES[(a + torch.ones(4, 6, dtype=torch.int64)).dtype]}
    cases[name] = {'inputs': {k: enc(v) for k, v in inputs.items()}, 'ops': {k: enc(v) for k, v in ops.items()},
                   'compare': compare, 'promoted': promoted}

mixed = torch.randn(4, 6).half() + torch.randn(4, 6).bfloat16()
dtypes = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.int32, torch.bool]
promotion = [[NAMES[torch.result_type(torch.ones(2, dtype=p), torch.ones(2, dtype=q))] for q in dtypes] for p in dtypes]

# float64 -> 16-bit casts, including values where rounding through float32 first would differ
d = torch.tensor([1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -8 + 2 ** -40, 0.1, 1 / 3, 65519.999, 1e-8, -2.5e-5, 3e38, 1e300, -0.0],
                 dtype=torch.float64)
casts = {'float64': d.tolist(), 'to_float16': bits(d.to(torch.float16)), 'to_bfloat16': bits(d.to(torch.bfloat16))}

out = os.path.join(OUT, 'reduced_dtypes.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases, 'dtypes': [NAMES[t] for t in dtypes], 'promotion': promotion,
               'mixed_half_bfloat16': NAMES[mixed.dtype], 'casts': casts, 'emulated': emulated}, f, separators=(',', ':'))
print('wrote', out, os.path.getsize(out), 'emulated:', emulated)
