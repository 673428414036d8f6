"""Reference values for the math ops: unary maths, pow, clamp, activations, softmax / log_softmax / logsumexp."""
import torch
import torch.nn.functional as F
from golden import Fixture

f = Fixture('math_ops')
r = lambda *s: torch.randn(*s, dtype=torch.float64)
pos = lambda *s: r(*s).abs() + 0.1
wide = lambda *s: r(*s) * 3

# unary maths
f.case('sqrt', torch.sqrt, [pos(3, 4)])
f.case('rsqrt', torch.rsqrt, [pos(3, 4)])
f.case('abs', torch.abs, [r(3, 4)])
f.case('sin', torch.sin, [wide(3, 4)])
f.case('cos', torch.cos, [wide(3, 4)])
f.case('tanh', torch.tanh, [wide(3, 4)])
f.case('sigmoid', torch.sigmoid, [wide(3, 4)])
f.case('reciprocal', torch.reciprocal, [pos(3, 4) * torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)])
f.case('log1p', torch.log1p, [r(3, 4).abs() * 0.9 - 0.5])
f.case('expm1', torch.expm1, [r(3, 4)])
f.case('erf', torch.erf, [wide(3, 5)])
f.case('square', torch.square, [r(3, 4)])
f.case('sign', torch.sign, [torch.tensor([-2.0, 0.0, 3.5, -0.1], dtype=torch.float64)], grad=False)

# pow
f.case('pow_tensor_broadcast', torch.pow, [pos(2, 3, 4), r(3, 1)])
f.case('pow_scalar_2_5', lambda a: torch.pow(a, 2.5), [pos(3, 4)])
f.case('pow_scalar_3', lambda a: torch.pow(a, 3), [r(3, 4)])
f.case('pow_scalar_neg', lambda a: torch.pow(a, -1.5), [pos(3, 4)])
f.case('pow_zero_masks', torch.pow, [torch.tensor([0.0, 0.0, 2.0, 3.0, 0.0], dtype=torch.float64),
                                     torch.tensor([2.0, 0.0, 0.0, 1.5, 1.0], dtype=torch.float64)])

# clamp (no value lies exactly on a bound)
f.case('clamp_both', lambda a: torch.clamp(a, -0.5, 0.7), [r(4, 5)])
f.case('clamp_min', lambda a: torch.clamp(a, min=-0.3), [r(4, 5)])
f.case('clamp_max', lambda a: torch.clamp(a, max=0.2), [r(4, 5)])

# activations
f.case('relu', F.relu, [r(4, 5)])
f.case('leaky_relu', lambda a: F.leaky_relu(a, 0.2), [r(4, 5)])
f.case('leaky_relu_default', F.leaky_relu, [r(4, 5)])
f.case('elu', lambda a: F.elu(a, 1.5), [wide(4, 5)])
f.case('selu', F.selu, [wide(4, 5)])
f.case('gelu_none', lambda a: F.gelu(a, approximate='none'), [wide(4, 5)])
f.case('gelu_tanh', lambda a: F.gelu(a, approximate='tanh'), [wide(4, 5)])
f.case('gelu_tails', lambda a: F.gelu(a), [torch.tensor([-12.0, -8.0, -5.0, -1e-6, 1e-6, 5.0, 8.0], dtype=torch.float64)])
f.case('silu', F.silu, [wide(4, 5)])
f.case('softplus', F.softplus, [wide(4, 5)])
f.case('softplus_beta_threshold', lambda a: F.softplus(a, beta=2.0, threshold=5.0), [wide(4, 5)])
f.case('hardtanh', lambda a: F.hardtanh(a, -0.5, 1.5), [wide(4, 5)])
f.case('relu6', F.relu6, [wide(4, 5) * 2])
f.case('logsigmoid', F.logsigmoid, [wide(4, 5)])
f.case('hardsigmoid', F.hardsigmoid, [wide(4, 5)])
f.case('hardswish', F.hardswish, [wide(4, 5)])
f.case('mish', F.mish, [wide(4, 5)])

# softmax family over every dim of a 3-D tensor
x3 = r(3, 4, 5) * 2
for d in (0, 1, -1):
    name = 'm1' if d == -1 else str(d)
    f.case(f'softmax_dim{name}', lambda a, d=d: torch.softmax(a, d), [x3])
    f.case(f'log_softmax_dim{name}', lambda a, d=d: torch.log_softmax(a, d), [x3])
f.case('softmax_float32', lambda a: torch.softmax(a, -1), [r(4, 7).float() * 3])
f.case('log_softmax_float32_dim0', lambda a: torch.log_softmax(a, 0), [r(6, 5).float() * 3])
f.case('logsumexp_dim1_keep', lambda a: torch.logsumexp(a, 1, keepdim=True), [x3])
f.case('logsumexp_dims02', lambda a: torch.logsumexp(a, (0, 2)), [x3])
f.case('logsumexp_large', lambda a: torch.logsumexp(a, -1), [torch.tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]], dtype=torch.float64)])
f.save()
