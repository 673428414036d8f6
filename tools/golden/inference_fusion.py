"""Reference values for DeepSharp's InferenceOptimizer: torch.nn.utils.fusion.fuse_conv_bn_eval and fuse_linear_bn_eval
on eval-mode layers with non-trivial running statistics, float64. Each case stores inputs [x, conv/linear weight,
conv/linear bias (or None), bn weight, bn bias, running_mean, running_var], outputs [fused weight, fused bias, fused
layer's output on x, unfused eval output on x] and extra {stride, padding, groups, eps}.
Run with Debian's interpreter: /usr/bin/python3 tools/golden/inference_fusion.py
"""
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from golden import Fixture

f = Fixture('inference_fusion', seed=12)


def stats(bn):
    with torch.no_grad():
        bn.weight.copy_(torch.rand_like(bn.weight) + 0.5)
        bn.bias.copy_(torch.randn_like(bn.bias))
        bn.running_mean.copy_(torch.randn_like(bn.running_mean))
        bn.running_var.copy_(torch.rand_like(bn.running_var) * 2 + 0.1)


def conv_case(name, cin, cout, k, stride, padding, groups, bias, shape, eps=1e-5):
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=bias).double().eval()
    bn = nn.BatchNorm2d(cout, eps=eps).double().eval()
    stats(bn)
    x = torch.randn(*shape, dtype=torch.float64)
    fused = fuse_conv_bn_eval(conv, bn)

    def run(x, *_):
        with torch.no_grad():
            return fused.weight.clone(), fused.bias.clone(), fused(x), bn(conv(x))

    f.case(name, run, [x, conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var], grad=False,
           extra={'stride': stride, 'padding': padding, 'groups': groups, 'eps': eps})


def linear_case(name, fin, fout, bias, batch, eps=1e-5):
    lin = nn.Linear(fin, fout, bias=bias).double().eval()
    bn = nn.BatchNorm1d(fout, eps=eps).double().eval()
    stats(bn)
    x = torch.randn(batch, fin, dtype=torch.float64)
    fused = fuse_linear_bn_eval(lin, bn)

    def run(x, *_):
        with torch.no_grad():
            return fused.weight.clone(), fused.bias.clone(), fused(x), bn(lin(x))

    f.case(name, run, [x, lin.weight, lin.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var], grad=False,
           extra={'eps': eps})


conv_case('conv3x3_nobias', 3, 5, 3, 1, 1, 1, False, (2, 3, 7, 6))
conv_case('conv3x3_stride2_bias', 4, 6, 3, 2, 1, 1, True, (1, 4, 9, 9), eps=1e-3)
conv_case('conv1x1', 6, 8, 1, 1, 0, 1, False, (2, 6, 5, 5))
conv_case('depthwise3x3', 6, 6, 3, 1, 1, 6, False, (1, 6, 6, 7))
linear_case('linear_bias', 7, 5, True, 4)
f.save()
