"""Writes a safetensors file by hand (struct + json, per the format spec) for DeepSharp's interop tests, and checks
files that DeepSharp wrote.

The `safetensors` Python package is not installed on the build machines, so the file is laid out here byte by byte:
an 8-byte little-endian header length, the JSON header padded with spaces to a multiple of 8, then each tensor's
row-major little-endian bytes back to back. Values (and the 16-bit float conversions) come from PyTorch.

Run with Debian's interpreter:
  /usr/bin/python3 tools/golden/safetensors_fixture.py            # writes the fixture + its expected values
  DEEPSHARP_INTEROP_OUT=/tmp/ds.safetensors dotnet test tests/DeepSharp.Tests --filter FullyQualifiedName~WritesInteropFile
  /usr/bin/python3 tools/golden/safetensors_fixture.py check /tmp/ds.safetensors   # validates DeepSharp's output

Outputs (committed): tests/DeepSharp.Tests/IO/Fixtures/python_fixture.safetensors and python_fixture.json.
"""
import json, math, os, struct, sys
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Tests', 'IO', 'Fixtures')

SPECIALS = [float('nan'), float('inf'), float('-inf'), -0.0, 0.0, 1e-40, -3.4e38, 1.0 / 3.0]

# spec dtype -> (element size, numpy dtype of the raw little-endian bytes)
RAW = {'F64': (8, '<f8'), 'F32': (4, '<f4'), 'F16': (2, '<u2'), 'BF16': (2, '<u2'), 'I64': (8, '<i8'), 'I32': (4, '<i4'),
       'U32': (4, '<u4'), 'I16': (2, '<i2'), 'U16': (2, '<u2'), 'I8': (1, '<i1'), 'U8': (1, '<u1'), 'BOOL': (1, '<u1')}


def tensors():
    """name -> (spec dtype, shape, raw little-endian bytes, expected values as loaded by DeepSharp)."""
    g = torch.Generator().manual_seed(0)
    out = {}

    def add(name, dtype, t, raw):
        out[name] = (dtype, list(t.shape), raw, t)

    f32 = torch.cat([torch.tensor(SPECIALS, dtype=torch.float32), torch.randn(16, generator=g)]).reshape(3, 8)
    add('weights.f32', 'F32', f32, f32.numpy().astype('<f4').tobytes())
    f64 = torch.cat([torch.tensor(SPECIALS, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)]).reshape(2, 2, 3)
    add('weights.f64', 'F64', f64, f64.numpy().astype('<f8').tobytes())
    src16 = torch.cat([torch.tensor([1.0, -2.5, 65504.0, 1e-7, 70000.0, 0.1, float('nan'), float('-inf'), -0.0]), torch.randn(7, generator=g)])
    half = src16.half()
    add('half.f16', 'F16', half.float().reshape(4, 4), half.view(torch.int16).numpy().astype('<i2').tobytes())
    bf = src16.bfloat16()
    add('half.bf16', 'BF16', bf.float().reshape(16), bf.view(torch.int16).numpy().astype('<i2').tobytes())
    i64 = torch.tensor([0, 1, -1, 2**62, -2**63, 2**63 - 1], dtype=torch.int64)
    add('ints.i64', 'I64', i64, i64.numpy().astype('<i8').tobytes())
    i32 = torch.tensor([[0, -7], [2**31 - 1, -2**31]], dtype=torch.int32)
    add('ints.i32', 'I32', i32, i32.numpy().astype('<i4').tobytes())
    u8 = torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)
    add('bytes.u8', 'U8', u8, u8.numpy().tobytes())
    i8 = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    add('bytes.i8', 'I8', i8, i8.numpy().tobytes())
    i16 = torch.tensor([-32768, -1, 300, 32767], dtype=torch.int16)
    add('shorts.i16', 'I16', i16, i16.numpy().astype('<i2').tobytes())
    b = torch.tensor([[True, False, True], [False, False, True]])
    add('mask.bool', 'BOOL', b, b.numpy().astype('<u1').tobytes())
    scalar = torch.tensor(3.25, dtype=torch.float32)
    add('scalar', 'F32', scalar, scalar.numpy().astype('<f4').tobytes())
    empty = torch.zeros(0, 3, dtype=torch.float32)
    add('empty', 'F32', empty, b'')
    return out


def write_safetensors(path, items, metadata):
    """items: name -> (dtype, shape, raw bytes). Header keys are written in reverse of the data order on purpose."""
    header, data, offset = {}, [], 0
    for name, (dtype, shape, raw) in items.items():
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(raw)]}
        data.append(raw)
        offset += len(raw)
    ordered = {'__metadata__': metadata}
    for name in reversed(list(header)):
        ordered[name] = header[name]
    text = json.dumps(ordered, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in data:
            f.write(raw)


def bits(values, dtype):
    """Exact encodings of the expected values: floats as hex bit patterns (NaN and -0.0 survive), ints as numbers."""
    if dtype == torch.float32:
        return ['%08x' % (v & 0xFFFFFFFF) for v in values.contiguous().view(torch.int32).reshape(-1).tolist()]
    if dtype == torch.float64:
        return ['%016x' % (v & 0xFFFFFFFFFFFFFFFF) for v in values.contiguous().view(torch.int64).reshape(-1).tolist()]
    if dtype == torch.bool:
        return [1 if v else 0 for v in values.reshape(-1).tolist()]
    return [int(v) for v in values.reshape(-1).tolist()]


def write_fixture():
    os.makedirs(OUT, exist_ok=True)
    items = tensors()
    metadata = {'format': 'pt', 'written_by': 'tools/golden/safetensors_fixture.py', 'note': 'unicode ✓ "quoted"'}
    write_safetensors(os.path.join(OUT, 'python_fixture.safetensors'), {k: v[:3] for k, v in items.items()}, metadata)
    loaded_as = {'F32': torch.float32, 'F16': torch.float32, 'BF16': torch.float32, 'F64': torch.float64, 'I64': torch.int64,
                 'I32': torch.int32, 'U8': torch.int32, 'I8': torch.int32, 'I16': torch.int32, 'BOOL': torch.bool}
    expected = {'metadata': metadata, 'tensors': {}}
    for name, (dtype, shape, raw, t) in items.items():
        target = loaded_as[dtype]
        expected['tensors'][name] = {'stored': dtype, 'shape': shape, 'dtype': {torch.float32: 'float32', torch.float64: 'float64',
                                     torch.int64: 'int64', torch.int32: 'int32', torch.bool: 'bool'}[target],
                                     'values': bits(t.to(target), target)}
    with open(os.path.join(OUT, 'python_fixture.json'), 'w') as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
    print('wrote', OUT)


def parse_strict(path, aligned=False):
    """Parses a safetensors file with the reference implementation's rules; returns (metadata, name -> numpy array)."""
    with open(path, 'rb') as f:
        blob = f.read()
    assert len(blob) >= 8, 'shorter than the 8-byte prefix'
    n = struct.unpack('<Q', blob[:8])[0]
    assert 8 + n <= len(blob), 'header length beyond file'
    raw_header = blob[8:8 + n]
    assert raw_header[:1] == b'{', 'header must start with {'
    assert n % 8 == 0, 'header not padded to 8 bytes (the reference writer pads; readers accept either)'
    header = json.loads(raw_header.decode('utf-8'))
    metadata = header.pop('__metadata__', {}) or {}
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()), 'metadata must be str -> str'
    data = blob[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1]['data_offsets'])
    pos = 0
    arrays = {}
    for name, info in entries:
        begin, end = info['data_offsets']
        assert begin == pos, f'{name}: offsets not contiguous ({begin} != {pos})'
        size, np_dtype = RAW[info['dtype']]
        numel = math.prod(info['shape'])
        assert end - begin == numel * size, f'{name}: byte size mismatch'
        assert not aligned or begin % size == 0, f'{name}: misaligned data (begin {begin} for element size {size})'
        arrays[name] = (info['dtype'], np.frombuffer(data[begin:end], dtype=np_dtype).reshape(info['shape']))
        pos = end
    assert pos == len(data), f'{len(data) - pos} trailing bytes'
    return metadata, arrays


def to_torch(dtype, array):
    if array.dtype == np.uint16:
        array = array.view('<i2')   # torch has no uint16; the bits are what matter
    t = torch.from_numpy(array.copy())
    if dtype == 'F16':
        return t.view(torch.float16)
    if dtype == 'BF16':
        return t.view(torch.bfloat16)
    if dtype == 'BOOL':
        return t.bool()
    return t


def check(path):
    """Validates a file written by the DeepSharp test IO/SafeTensorsTests.WritesInteropFile (env DEEPSHARP_INTEROP_OUT)
    and compares it with the values that test writes, recomputed here with PyTorch."""
    metadata, arrays = parse_strict(path, aligned=True)  # DeepSharp orders data so every tensor is aligned
    tensors_ = {k: to_torch(*v) for k, v in arrays.items()}
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.37 - 3.1
    base_specials = torch.tensor([float('nan'), float('inf'), float('-inf'), -0.0, 1e-40, 65519.0, 3.0e38, 1.0 + 2**-8], dtype=torch.float32)
    expected = {
        'f32': base, 'f64': base.double() / 3, 'i64': torch.arange(-3, 3, dtype=torch.int64) * (2**40),
        'i32': torch.tensor([[1, -2], [2**31 - 1, -2**31]], dtype=torch.int32), 'mask': torch.tensor([True, False, True]),
        'scalar': torch.tensor(2.5), 'specials.f16': base_specials.half(), 'specials.bf16': base_specials.bfloat16(),
        'transposed': torch.arange(6, dtype=torch.float32).reshape(2, 3).t(),
    }
    assert set(tensors_) == set(expected), f'names differ: {sorted(tensors_)} vs {sorted(expected)}'
    for name, want in expected.items():
        got = tensors_[name]
        assert got.dtype == want.dtype, f'{name}: dtype {got.dtype} vs {want.dtype}'
        assert list(got.shape) == list(want.shape), f'{name}: shape {list(got.shape)} vs {list(want.shape)}'
        if want.dtype in (torch.float16, torch.bfloat16):
            # NaN bit patterns differ between producers (.NET's NaN is negative; torch's vectorised bf16 path writes
            # 0xFFFF), so NaNs are compared as NaN and everything else bit for bit.
            nan = torch.isnan(want.float())
            same = torch.equal(torch.isnan(got.float()), nan) and torch.equal(got.view(torch.int16)[~nan], want.view(torch.int16)[~nan])
        elif want.dtype.is_floating_point:
            same = torch.equal(got.view(torch.int32 if want.dtype == torch.float32 else torch.int64),
                               want.contiguous().view(torch.int32 if want.dtype == torch.float32 else torch.int64))
        else:
            same = torch.equal(got, want)
        assert same, f'{name}: values differ\n{got}\n{want}'
    assert metadata.get('written_by') == 'DeepSharp', metadata
    # The merged file's header was rebuilt by the test; the writer's own outputs sit beside it as .part0/1/2 and must
    # pass the strict layout rules (8-byte padded header, aligned and contiguous data) and hold the same bytes.
    for i in range(3):
        part = f'{path}.part{i}'
        _, part_arrays = parse_strict(part, aligned=True)
        for name, (dtype, array) in part_arrays.items():
            assert arrays[name][0] == dtype and arrays[name][1].tobytes() == array.tobytes(), f'{part}: {name} differs'
    print(f'OK: {path}: {len(tensors_)} tensors bit-identical to PyTorch\'s values; metadata {metadata}')


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'check':
        check(sys.argv[2])
    else:
        write_fixture()
