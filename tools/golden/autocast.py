"""Reference values for DeepSharp's autocast region (src/DeepSharp.Compression/MixedPrecision/Autocast.cs) against
torch.autocast(device_type="cpu", dtype=torch.bfloat16) on an MLP and a small conv net (conv, batch norm in training
mode, ReLU, max pooling, flatten, linear): the bf16 output of the model, the float32 cross-entropy of that output cast
to float32 (MixedPrecisionStep's loss; autocast keeps losses on its float32 list), and the float32 gradients of every
master parameter after backward. The same models without autocast give the float32 output, so the test can also check
that the region really computes in bfloat16.
Writes tests/DeepSharp.Compression.Tests/Golden/autocast.json. Run: /usr/bin/python3 tools/golden/autocast.py
"""
import json, os
import torch
import torch.nn as nn
import torch.nn.functional as F
from golden import enc, ROOT

torch.manual_seed(7)


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 5))


def cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(24, 5))


def run(model, x, y, autocast):
    model.zero_grad()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=autocast):
        out = model(x)
    loss = F.cross_entropy(out.float(), y)
    loss.backward()
    grads = {k: enc(p.grad.clone()) for k, p in model.named_parameters()}
    return out, loss, grads


cases = {}
for name, make, x in [('mlp', mlp, torch.randn(8, 20) * 2), ('cnn', cnn, torch.randn(4, 2, 8, 8) * 2)]:
    model = make()
    state = {k: enc(v) for k, v in model.state_dict().items() if v.is_floating_point()}
    y = torch.randint(0, 5, (x.shape[0],))
    out, loss, grads = run(model, x, y, True)
    assert out.dtype == torch.bfloat16 and loss.dtype == torch.float32
    model.load_state_dict({k: torch.tensor(v['data']).reshape(v['shape']) for k, v in state.items()}, strict=False)
    out32, loss32, grads32 = run(model, x, y, False)
    cases[name] = {'state': state, 'x': enc(x), 'y': enc(y), 'output': enc(out.float()), 'loss': loss.item(), 'grads': grads,
                   'output_fp32': enc(out32), 'loss_fp32': loss32.item(), 'grads_fp32': grads32}
    print(name, 'loss bf16', loss.item(), 'fp32', loss32.item(), 'max |out diff|', (out.float() - out32).abs().max().item())

out = os.path.join(ROOT, 'tests', 'DeepSharp.Compression.Tests', 'Golden', 'autocast.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {out} ({len(cases)} cases)')
