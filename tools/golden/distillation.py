"""Reference values for Hinton's distillation loss and the hint loss (src/DeepSharp.Compression/Distillation).

loss = alpha * kl_div(log_softmax(s/T), softmax(t/T), 'batchmean') * T^2 + (1 - alpha) * cross_entropy(s, y);
the gradient is taken with respect to the student logits only (the teacher is detached).
Writes tests/DeepSharp.Compression.Tests/Golden/distillation.json. Run: /usr/bin/python3 tools/golden/distillation.py
"""
import json, os
import torch
import torch.nn.functional as F
from golden import enc, ROOT

torch.manual_seed(1)
cases = {}
for name, T, alpha in [('t4_a09', 4.0, 0.9), ('t1_a05', 1.0, 0.5), ('t8_a1', 8.0, 1.0), ('t2_a0', 2.0, 0.0), ('t3_a03', 3.0, 0.3)]:
    s = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    t = torch.randn(6, 5, dtype=torch.float64) * 2
    y = torch.randint(0, 5, (6,))
    loss = alpha * F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction='batchmean') * T * T \
        + (1 - alpha) * F.cross_entropy(s, y)
    loss.backward()
    cases[name] = {'T': T, 'alpha': alpha, 's': enc(s), 't': enc(t), 'y': enc(y), 'loss': loss.item(), 'grad': enc(s.grad)}

s = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
t = torch.randn(2, 3, 4, 4, dtype=torch.float64)
loss = F.mse_loss(s, t)
loss.backward()
cases['hint'] = {'s': enc(s), 't': enc(t), 'loss': loss.item(), 'grad': enc(s.grad)}

out = os.path.join(ROOT, 'tests', 'DeepSharp.Compression.Tests', 'Golden', 'distillation.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {out} ({len(cases)} cases)')
