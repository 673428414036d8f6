"""Bit patterns of torch's float32 -> float16 (.half()) and float32 -> bfloat16 (.bfloat16()) conversions, round to
nearest even, for ordinary values, ties, overflow, subnormals, signed zeros, infinities and NaN
(src/DeepSharp.Compression/Precision/ReducedPrecision.cs).
Writes tests/DeepSharp.Compression.Tests/Golden/precision.json. Run: /usr/bin/python3 tools/golden/precision.py
"""
import json, os, struct
import torch
from golden import ROOT

torch.manual_seed(2)


def f32(bits):
    return struct.unpack('<f', struct.pack('<I', bits))[0]


special = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, 70000.0, -70000.0, 1e-8, 5.96e-8, 2.98e-8, 2.99e-8, 6.1e-5,
           6.0e-5, 1e-45, 1e-40, 3.0e38, 3.4028234e38, float('inf'), float('-inf'), 0.1, 1.0 / 3, 2049.0, 2051.0,
           1.00390625, 1.01171875, -1.00390625]
bits = [0x3F808000, 0x3F818000, 0x3F80C000, 0x3F807FFF, 0x7F7FFFFF, 0x7F7F8000, 0x00000001, 0x00800000, 0x007FFFFF,
        0x80008000, 0x3F800001, 0x33000000, 0x33000001, 0x387FE000, 0x387FF000]
values = torch.tensor(special + [f32(b) for b in bits] + torch.randn(200).mul(100).tolist() + torch.randn(100).mul(1e-5).tolist(),
                      dtype=torch.float32)
nan = torch.tensor([float('nan')], dtype=torch.float32)
as_bits = lambda t: [int(v) & 0xFFFF for v in t.view(torch.int16).tolist()]
cases = {
    'values': [int(v) & 0xFFFFFFFF for v in values.view(torch.int32).tolist()],
    'half': as_bits(values.half()),
    'bfloat16': as_bits(values.bfloat16()),
    'half_back': [int(v) & 0xFFFFFFFF for v in values.half().float().view(torch.int32).tolist()],
    'bfloat16_back': [int(v) & 0xFFFFFFFF for v in values.bfloat16().float().view(torch.int32).tolist()],
    'nan_half': as_bits(nan.half()), 'nan_bfloat16': as_bits(nan.bfloat16()),
}
out = os.path.join(ROOT, 'tests', 'DeepSharp.Compression.Tests', 'Golden', 'precision.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {out}', len(cases['values']), cases['nan_half'], cases['nan_bfloat16'])
