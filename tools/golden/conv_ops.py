"""Reference values for convolution, pooling, embedding, interpolation and padding (DeepSharp's Conv area).

Case names are matched by tests/DeepSharp.Tests/Conv/*.cs, which repeat each case's hyperparameters.
Run: /usr/bin/python3 tools/golden/conv_ops.py
"""
import torch
import torch.nn.functional as F
from golden import Fixture

f = Fixture('conv_ops')
r = lambda *s: torch.randn(*s, dtype=torch.float64)
r32 = lambda *s: torch.randn(*s, dtype=torch.float32)

# ---- convolution ----------------------------------------------------------------------------------
f.case('conv2d_basic', lambda x, w, b: F.conv2d(x, w, b, padding=1), [r(2, 3, 6, 5), r(4, 3, 3, 3), r(4)])
f.case('conv2d_stride2_pad', lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=(1, 0)), [r(2, 2, 7, 6), r(3, 2, 3, 2), r(3)])
f.case('conv2d_dilation2', lambda x, w: F.conv2d(x, w, padding=2, dilation=2), [r(1, 2, 7, 7), r(2, 2, 3, 3)])
f.case('conv2d_groups2', lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), [r(2, 4, 5, 5), r(6, 2, 3, 3), r(6)])
f.case('conv2d_1x1', lambda x, w, b: F.conv2d(x, w, b), [r(2, 3, 4, 4), r(5, 3, 1, 1), r(5)])
f.case('conv2d_unbatched', lambda x, w: F.conv2d(x, w, padding=(0, 1)), [r(2, 5, 4), r(3, 2, 2, 3)])
f.case('conv2d_f32', lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [r32(2, 3, 9, 8), r32(4, 3, 3, 3), r32(4)])
f.case('conv1d', lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), [r(2, 3, 9), r(4, 3, 3), r(4)])
f.case('conv1d_groups_dil', lambda x, w: F.conv1d(x, w, groups=2, dilation=2), [r(1, 4, 8), r(4, 2, 3)])
f.case('convT2d_basic', lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), [r(2, 3, 4, 4), r(3, 2, 3, 3), r(2)])
f.case('convT2d_groups_dil', lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(1, 2), padding=(0, 1), output_padding=(1, 1), groups=2, dilation=2),
       [r(1, 4, 3, 4), r(4, 3, 2, 3), r(6)])
f.case('convT2d_f32', lambda x, w: F.conv_transpose2d(x, w, stride=2), [r32(2, 2, 3, 3), r32(2, 3, 3, 3)])
f.case('convT1d', lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1), [r(2, 2, 5), r(2, 3, 3)])

# ---- pooling --------------------------------------------------------------------------------------
f.case('maxpool2d_basic', lambda x: F.max_pool2d(x, 2), [r(2, 3, 6, 6)])
f.case('maxpool2d_stride_pad_dil', lambda x: F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 1)), [r(1, 2, 7, 8)])
f.case('maxpool2d_ceil', lambda x: F.max_pool2d(x, 2, stride=2, ceil_mode=True), [r(1, 2, 5, 5)])
f.case('maxpool2d_indices', lambda x: F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True), [r(2, 2, 6, 7)])
f.case('maxpool2d_f32', lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [r32(2, 3, 8, 7)])
f.case('maxpool1d', lambda x: F.max_pool1d(x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True), [r(2, 3, 9)])
f.case('avgpool2d', lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), [r(2, 2, 6, 5)])
f.case('avgpool2d_ceil_nopad', lambda x: F.avg_pool2d(x, (2, 3), stride=2, padding=1, ceil_mode=True, count_include_pad=False), [r(1, 2, 5, 6)])
f.case('avgpool2d_divisor', lambda x: F.avg_pool2d(x, 2, divisor_override=3), [r(1, 2, 4, 4)])
f.case('avgpool2d_f32', lambda x: F.avg_pool2d(x, 2, stride=1, ceil_mode=True), [r32(2, 3, 5, 4)])
f.case('avgpool1d', lambda x: F.avg_pool1d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [r(2, 3, 8)])
f.case('adaptive_avg2d', lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [r(2, 3, 7, 5)])
f.case('adaptive_avg2d_up', lambda x: F.adaptive_avg_pool2d(x, (5, 4)), [r(1, 2, 3, 3)])
f.case('adaptive_avg1d', lambda x: F.adaptive_avg_pool1d(x, 4), [r(2, 2, 7)])
f.case('adaptive_max2d', lambda x: F.adaptive_max_pool2d(x, (3, 4), return_indices=True), [r(1, 2, 7, 6)])

# ---- embedding ------------------------------------------------------------------------------------
idx = torch.tensor([[1, 2, 4], [2, 9, 1]], dtype=torch.int64)
f.case('embedding_padding', lambda i, w: F.embedding(i, w, padding_idx=2), [idx, r(10, 4)])
f.case('embedding', lambda i, w: F.embedding(i, w), [torch.tensor([3, 0, 3, 5], dtype=torch.int64), r(6, 3)])
f.case('embedding_f32', lambda i, w: F.embedding(i, w, padding_idx=-1), [torch.tensor([[0, 4], [4, 1]], dtype=torch.int64), r32(5, 3)])

# ---- interpolation --------------------------------------------------------------------------------
x = r(1, 2, 3, 4)
f.case('nearest_size', lambda x: F.interpolate(x, size=(5, 7), mode='nearest'), [x])
f.case('nearest_scale2', lambda x: F.interpolate(x, scale_factor=2, mode='nearest'), [x])
f.case('nearest_scale_frac', lambda x: F.interpolate(x, scale_factor=(1.5, 2.5), mode='nearest'), [x])
f.case('nearest_down', lambda x: F.interpolate(x, size=(2, 3), mode='nearest'), [r(2, 1, 5, 7)])
f.case('bilinear', lambda x: F.interpolate(x, size=(5, 7), mode='bilinear', align_corners=False), [x])
f.case('bilinear_align', lambda x: F.interpolate(x, size=(5, 7), mode='bilinear', align_corners=True), [x])
f.case('bilinear_scale', lambda x: F.interpolate(x, scale_factor=1.7, mode='bilinear', align_corners=False), [x])
f.case('bilinear_down', lambda x: F.interpolate(x, size=(2, 3), mode='bilinear', align_corners=False), [r(2, 1, 5, 7)])
f.case('bilinear_f32', lambda x: F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False), [r32(1, 3, 4, 5)])
f.case('linear_1d', lambda x: F.interpolate(x, size=8, mode='linear', align_corners=False), [r(2, 3, 5)])
f.case('linear_1d_align', lambda x: F.interpolate(x, size=8, mode='linear', align_corners=True), [r(2, 3, 5)])
f.case('nearest_1d', lambda x: F.interpolate(x, scale_factor=2.5, mode='nearest'), [r(2, 3, 5)])

# ---- padding --------------------------------------------------------------------------------------
f.case('pad_constant', lambda x: F.pad(x, (1, 2, 0, -1), value=0.5), [r(2, 3, 4)])
f.save()
