"""PyTorch checkpoint fixtures for DeepSharp's TorchFile reader, and a check of files DeepSharp wrote.

Run with Debian's interpreter (PyTorch 1.13):
  /usr/bin/python3 tools/golden/torch_checkpoint.py               # writes the fixtures below
  DEEPSHARP_TORCH_OUT=/tmp/ds.pth dotnet test tests/DeepSharp.Tests --filter FullyQualifiedName~WritesTorchFileForPyTorch
  /usr/bin/python3 tools/golden/torch_checkpoint.py check /tmp/ds.pth   # torch.load + load_state_dict of DeepSharp's file

Outputs (committed) in tests/DeepSharp.Tests/IO/Fixtures/:
  torch_zip.pth      a state dict in the zip format (torch.save's default): every storage dtype, views sharing one
                     storage (transpose, row slice with an offset), a 0-d and an empty tensor, a Parameter, and a real
                     module's state dict entries (with _metadata)
  torch_legacy.pth   the same dict with _use_new_zipfile_serialization=False
  torch_nested.pth   a training checkpoint: {'epoch', 'model': state dict, 'lr', 'names', 'shape', 'flag', 'none'}
  torch_malicious.pth  a pickle that asks for os.system (must be refused, never run)
  torch_expected.json  for every tensor: dtype, shape and values (float64 of what DeepSharp should load)
"""
import json, os, sys
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Tests', 'IO', 'Fixtures')


def state_dict():
    torch.manual_seed(0)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    net[1].running_mean.fill_(0.25)
    sd = {
        'f32': base,
        'f32_transposed': base.t(),                 # same storage, strides (1, 4)
        'f32_row': base[2],                         # same storage, offset 8
        'f64': torch.tensor([[1.5, -2.25], [1e-300, 3.0]], dtype=torch.float64),
        'f16': torch.tensor([0.5, -1.0, 65504.0, 1e-4], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -3.140625, 1e30], dtype=torch.bfloat16),
        'i64': torch.tensor([-(2 ** 40), 0, 7], dtype=torch.int64),
        'i32': torch.tensor([[-5, 6]], dtype=torch.int32),
        'i16': torch.tensor([-300, 300], dtype=torch.int16),
        'i8': torch.tensor([-128, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True]),
        'scalar': torch.tensor(2.5),
        'empty': torch.zeros(0, 3),
        'param': torch.nn.Parameter(torch.tensor([1.0, 2.0])),
    }
    for k, v in net.state_dict().items():
        sd['net.' + k] = v
    return sd


def expected(sd):
    out = {}
    for k, v in sd.items():
        v = v.detach()
        wide = v.double() if v.is_floating_point() else v.long() if v.dtype != torch.bool else v.long()
        out[k] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'values': wide.flatten().tolist()}
    return out


class Malicious:
    def __reduce__(self):
        return (os.system, ('echo pwned-by-pickle',))


def write():
    os.makedirs(OUT, exist_ok=True)
    sd = state_dict()
    torch.save(sd, os.path.join(OUT, 'torch_zip.pth'))
    torch.save(sd, os.path.join(OUT, 'torch_legacy.pth'), _use_new_zipfile_serialization=False)
    net_sd = {k[4:]: v for k, v in sd.items() if k.startswith('net.')}
    torch.save({'epoch': 3, 'model': net_sd, 'lr': 0.1, 'names': ['a', 'b'], 'shape': (2, 3), 'flag': True, 'none': None},
               os.path.join(OUT, 'torch_nested.pth'))
    torch.save({'weight': torch.ones(2), 'payload': Malicious()}, os.path.join(OUT, 'torch_malicious.pth'))
    with open(os.path.join(OUT, 'torch_expected.json'), 'w') as f:
        json.dump(expected(sd), f, indent=1, allow_nan=False)
    print('wrote fixtures to', OUT)


def check(path):
    """torch.load DeepSharp's file (weights_only where 1.13 has it) and compare with the values the C# test wrote."""
    sd = torch.load(path)
    want = torch.load(path + '.expected.pt') if os.path.exists(path + '.expected.pt') else None
    for k, v in sd.items():
        print(f'{k}: {v.dtype} {tuple(v.shape)} {v.flatten()[:4].tolist()}')
    with open(path + '.json') as f:
        expected_values = json.load(f)
    for k, e in expected_values.items():
        got = sd[k]
        assert list(got.shape) == e['shape'], (k, got.shape, e['shape'])
        assert str(got.dtype).replace('torch.', '') == e['dtype'], (k, got.dtype, e['dtype'])
        assert got.is_contiguous(), k
        assert got.double().flatten().tolist() == [float(x) for x in e['values']], k
    # a real module takes it: the Linear(3, 2) + BatchNorm1d(2) keys the C# test saved under 'net.'
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    net.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith('net.')})
    print('ok:', len(sd), 'tensors match; load_state_dict accepted the module keys')


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'check':
        check(sys.argv[2])
    else:
        write()
