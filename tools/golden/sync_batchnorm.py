"""Reference values for DeepSharp.Distributed's SyncBatchNorm: torch.nn.BatchNorm1d/2d in training mode on the whole
(concatenated) batch, float64. Each case stores inputs [x, weight, bias] (x is the global batch; rank r of N takes rows
r*B/N .. (r+1)*B/N - 1), outputs [y, running_mean, running_var] after one training forward, an upstream gradient for y,
and the gradients of sum(y * upstream) for x, weight and bias. The fixture goes beside the worker program that the
distributed tests start under mpiexec (tests/DeepSharp.Distributed.Worker/Fixtures), because the ranks compare against it.
Run with Debian's interpreter: /usr/bin/python3 tools/golden/sync_batchnorm.py
"""
import os
import torch
import torch.nn as nn
import golden
from golden import Fixture

golden.OUT = os.path.join(golden.ROOT, 'tests', 'DeepSharp.Distributed.Worker', 'Fixtures')
f = Fixture('sync_batchnorm', seed=7)


def bn_case(name, m, shape):
    m = m.to(torch.float64).train()
    with torch.no_grad():
        m.weight.copy_(torch.rand_like(m.weight) + 0.5)
        m.bias.copy_(torch.randn_like(m.bias))
    x = torch.randn(*shape, dtype=torch.float64) * 2 + 1

    def run(x, weight, bias):
        with torch.no_grad():
            m.weight.copy_(weight)
            m.bias.copy_(bias)
            m.running_mean.zero_()
            m.running_var.fill_(1)
            m.num_batches_tracked.zero_()
        # the module's own parameters carry the gradient; route it to the fixture's weight and bias leaves
        y = torch.nn.functional.batch_norm(x, m.running_mean, m.running_var, weight, bias, training=True, momentum=m.momentum, eps=m.eps)
        return y, m.running_mean.clone(), m.running_var.clone()

    f.case(name, run, [x, m.weight.detach().clone(), m.bias.detach().clone()], extra={'eps': m.eps, 'momentum': m.momentum})


bn_case('bn1d_8x3', nn.BatchNorm1d(3), (8, 3))
bn_case('bn2d_4x2x3x3', nn.BatchNorm2d(2), (4, 2, 3, 3))
f.save()
