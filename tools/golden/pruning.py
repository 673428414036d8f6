"""Reference masks for torch.nn.utils.prune (src/DeepSharp.Compression/Pruning).

Writes tests/DeepSharp.Compression.Tests/Golden/pruning.json: for each case the input tensors, the masks PyTorch
computes, and (case 'grad') the gradients of a pruned Linear. Random values are continuous, so magnitudes and norms
have no ties (topk's tie order is unspecified).
Run: /usr/bin/python3 tools/golden/pruning.py
"""
import json, math, os
import torch
import torch.nn as nn
import torch.nn.utils.prune as prune
from golden import enc, ROOT

torch.manual_seed(0)
cases = {}


def method_case(name, method, t):
    cases[name] = {'t': enc(t), 'mask': enc(method.compute_mask(t, torch.ones_like(t)))}


method_case('l1_frac', prune.L1Unstructured(0.3), torch.randn(6, 5))
method_case('l1_count', prune.L1Unstructured(7), torch.randn(6, 5))
method_case('l1_round_down', prune.L1Unstructured(0.5), torch.randn(5))      # round(2.5) = 2
method_case('l1_round_up', prune.L1Unstructured(0.5), torch.randn(7))        # round(3.5) = 4
method_case('l1_zero', prune.L1Unstructured(0.0), torch.randn(3, 4))
method_case('ln_dim0_n2', prune.LnStructured(0.5, n=2, dim=0), torch.randn(8, 4, 3, 3))
method_case('ln_dim1_n1', prune.LnStructured(2, n=1, dim=1), torch.randn(8, 4, 3, 3))
method_case('ln_inf_last', prune.LnStructured(0.25, n=float('inf'), dim=-1), torch.randn(5, 8))
method_case('ln_ninf', prune.LnStructured(0.5, n=float('-inf'), dim=0), torch.randn(6, 7))
method_case('ln_p3', prune.LnStructured(0.4, n=3, dim=0), torch.randn(5, 6))

# iterative pruning of one module: each amount applies to what is still unpruned
def module_sequence(name, module, steps):
    w = module.weight.detach().clone()
    masks = []
    for kind, kw in steps:
        getattr(prune, kind)(module, 'weight', **kw)
        masks.append(enc(module.weight_mask))
    cases[name] = {'t': enc(w), 'masks': masks, 'keys': list(module.state_dict().keys())}


module_sequence('iter_l1', nn.Linear(5, 6), [('l1_unstructured', {'amount': 0.3}), ('l1_unstructured', {'amount': 0.5}),
                                            ('l1_unstructured', {'amount': 3})])
module_sequence('iter_ln', nn.Conv2d(4, 8, 3), [('ln_structured', {'amount': 0.25, 'n': 2, 'dim': 0}),
                                               ('ln_structured', {'amount': 0.5, 'n': 2, 'dim': 0})])
module_sequence('iter_mixed', nn.Conv2d(3, 6, 3), [('l1_unstructured', {'amount': 0.5}),
                                                  ('ln_structured', {'amount': 0.34, 'n': 1, 'dim': 0}),
                                                  ('ln_structured', {'amount': 1, 'n': 2, 'dim': 1})])

# global pruning over two layers, twice
fc1, fc2 = nn.Linear(6, 8), nn.Linear(8, 4)
w1, w2 = fc1.weight.detach().clone(), fc2.weight.detach().clone()
params = [(fc1, 'weight'), (fc2, 'weight')]
prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.6)
first = [enc(fc1.weight_mask), enc(fc2.weight_mask)]
prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.5)
cases['global'] = {'w1': enc(w1), 'w2': enc(w2), 'first': first, 'second': [enc(fc1.weight_mask), enc(fc2.weight_mask)]}

# global after a per-layer pruning of one of the layers
fc3, fc4 = nn.Linear(5, 4), nn.Linear(4, 3)
w3, w4 = fc3.weight.detach().clone(), fc4.weight.detach().clone()
prune.l1_unstructured(fc3, 'weight', amount=5)
prune.global_unstructured([(fc3, 'weight'), (fc4, 'weight')], pruning_method=prune.L1Unstructured, amount=10)
cases['global_after_layer'] = {'w1': enc(w3), 'w2': enc(w4), 'masks': [enc(fc3.weight_mask), enc(fc4.weight_mask)]}

# gradients through a pruned Linear: zero where the mask is
lin = nn.Linear(5, 3)
w0, b0 = lin.weight.detach().clone(), lin.bias.detach().clone()
prune.l1_unstructured(lin, 'weight', amount=0.4)
x = torch.randn(4, 5)
up = torch.randn(4, 3)
(lin(x) * up).sum().backward()
keys_pruned = list(lin.state_dict().keys())
prune.remove(lin, 'weight')
cases['grad'] = {'w': enc(w0), 'b': enc(b0), 'x': enc(x), 'up': enc(up), 'mask': enc(lin.weight != 0),
                 'grad_orig': enc(lin.weight.grad), 'grad_bias': enc(lin.bias.grad), 'removed': enc(lin.weight),
                 'keys_pruned': keys_pruned, 'keys_removed': list(lin.state_dict().keys())}

out = os.path.join(ROOT, 'tests', 'DeepSharp.Compression.Tests', 'Golden', 'pruning.json')
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {out} ({len(cases)} cases)')
