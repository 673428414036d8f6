"""The deterministic weight fill shared by DeepSharp's model-zoo golden tests and tools/convert_torchvision.py.

Real weights cannot sit in a fixture (VGG-16 is 500 MB), so both sides fill every tensor of a state dict from a
formula that integer arithmetic makes bit-identical in Python and C# (tests/DeepSharp.Vision.Tests/Models/WeightFill.cs):

  u(k, i) = (lowbias32((i + k * 0x9E3779B9) mod 2^32) >> 8) * 2^-23 - 1        in [-1, 1), 24-bit grid
  value   = float32(offset + scale * u)                                         (computed in float64, rounded once)

k is the tensor's position in the state dict, i the flat element index. offset and scale depend on the key and shape so
activations stay O(1): conv/linear weights U(-sqrt(6/fan_in), sqrt(6/fan_in)) (He-uniform), biases 0.1*u, BN weight
1 + 0.25*u, BN running_var 1.5 + 0.5*u (in [1, 2)), running_mean 0.1*u, num_batches_tracked 0; for the Vision
Transformer also MultiheadAttention's in_proj_weight like a weight, in_proj_bias like a bias, and the class token and
position embedding 0.2*u. The input of a test
is the same formula with k = INPUT_TAG, offset 0, scale 1.
"""
import math
import numpy as np

INPUT_TAG = 65535


def lowbias32(x):
    """Chris Wellons' 32-bit integer hash, on a numpy uint32 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    x = x ^ (x >> np.uint32(16))
    return x


def uniform(k, n):
    """u(k, i) for i in [0, n) as float64."""
    with np.errstate(over='ignore'):
        i = np.arange(n, dtype=np.uint64)
        x = ((i + np.uint64((k * 0x9E3779B9) & 0xFFFFFFFF)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        h = lowbias32(x)
    return (h >> np.uint32(8)).astype(np.float64) * 2.0 ** -23 - 1.0


def offset_scale(key, shape):
    """(offset, scale) of the fill for the state-dict entry `key` of the given shape."""
    leaf = key.rsplit('.', 1)[-1]
    if leaf == 'running_var':
        return 1.5, 0.5
    if leaf == 'running_mean':
        return 0.0, 0.1
    if leaf == 'bias':
        return 0.0, 0.1
    if leaf == 'weight' and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return 0.0, math.sqrt(6.0 / fan_in)
    if leaf == 'weight':
        return 1.0, 0.25
    if leaf == 'in_proj_weight':
        return 0.0, math.sqrt(6.0 / int(np.prod(shape[1:])))
    if leaf == 'in_proj_bias':
        return 0.0, 0.1
    if leaf in ('class_token', 'pos_embedding'):
        return 0.0, 0.2
    raise ValueError(f'no fill rule for {key} {shape}')


def fill_value(k, key, shape):
    """The filled tensor as a numpy array (float32, or int64 zeros for num_batches_tracked)."""
    n = int(np.prod(shape)) if len(shape) else 1
    if key.endswith('num_batches_tracked'):
        return np.zeros(shape, dtype=np.int64)
    off, sc = offset_scale(key, shape)
    return (off + sc * uniform(k, n)).astype(np.float32).reshape(shape)


def fill_state_dict(sd):
    """A new state dict (same keys, order, dtypes) filled by the formula."""
    import torch
    out = {}
    for k, (key, t) in enumerate(sd.items()):
        out[key] = torch.from_numpy(fill_value(k, key, list(t.shape))).to(t.dtype)
    return out


def input_tensor(shape):
    """The test input: u(INPUT_TAG, i) as float32."""
    n = int(np.prod(shape))
    return uniform(INPUT_TAG, n).astype(np.float32).reshape(shape)
