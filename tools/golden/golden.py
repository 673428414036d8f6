"""Shared helpers for the scripts that write PyTorch reference fixtures for DeepSharp's tests.

Each script builds cases with `Fixture.case(...)` and calls `save()`. A case stores the inputs, the output,
an upstream gradient, and the gradient of sum(output * upstream) for every input that requires grad.
Fixtures are JSON, written to tests/DeepSharp.Tests/Golden/Fixtures/<name>.json and committed; the tests
never run Python. Run with Debian's interpreter: /usr/bin/python3 tools/golden/<script>.py
"""
import json, os, torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Tests', 'Golden', 'Fixtures')

DTYPES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.int32: 'int32', torch.bool: 'bool'}


def enc(t):
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        t = torch.tensor(t)
    t = t.detach()
    data = t.reshape(-1).tolist()
    if t.dtype == torch.bool:
        data = [1 if v else 0 for v in data]
    return {'shape': list(t.shape), 'dtype': DTYPES[t.dtype], 'data': data}


class Fixture:
    def __init__(self, name, seed=0):
        self.name = name
        self.cases = {}
        torch.manual_seed(seed)

    def case(self, name, fn, inputs, grad=True, extra=None):
        """fn(*inputs) -> tensor (or tuple: first element is differentiated, all are stored)."""
        ins = [x.detach().clone().requires_grad_(x.is_floating_point() and grad) if isinstance(x, torch.Tensor) else x for x in inputs]
        out = fn(*ins)
        outs = out if isinstance(out, tuple) else (out,)
        first = outs[0]
        entry = {'inputs': [enc(x) for x in ins], 'outputs': [enc(o) for o in outs]}
        if grad and first.requires_grad:
            upstream = torch.randn_like(first)
            gs = torch.autograd.grad([first], [x for x in ins if isinstance(x, torch.Tensor) and x.requires_grad],
                                     [upstream], allow_unused=True)
            it = iter(gs)
            entry['upstream'] = enc(upstream)
            entry['grads'] = [enc(next(it)) if isinstance(x, torch.Tensor) and x.requires_grad else None for x in ins]
        if extra:
            entry['extra'] = extra
        self.cases[name] = entry
        return out

    def save(self):
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, self.name + '.json')
        with open(path, 'w') as f:
            json.dump({'torch': torch.__version__, 'cases': self.cases}, f, separators=(',', ':'))
        print(f'wrote {path} ({len(self.cases)} cases)')
