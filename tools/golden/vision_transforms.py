"""Reference outputs of torchvision's functional transforms and make_grid for DeepSharp.Vision's transform tests.

Deterministic functions only (the random transforms draw their parameters from DeepSharp's generator, so they are
tested through their get_params semantics instead). Output: tests/DeepSharp.Vision.Tests/Fixtures/transforms.json,
{"inputs": {name: tensor}, "cases": {case: {"input": name, "output": tensor}}} with tensors as
{"shape": [...], "data": [...]} (9 significant digits, enough for float32).
Run with Debian's interpreter: /usr/bin/python3 tools/golden/vision_transforms.py
"""
import json, os
import torch
import torchvision
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode
from torchvision.utils import make_grid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Vision.Tests', 'Fixtures', 'transforms.json')
torch.manual_seed(0)
cases = {}


inputs = {}


def enc(t):
    return {'shape': list(t.shape), 'data': [float('%.9g' % v) for v in t.detach().reshape(-1).tolist()]}


def case(name, x, y):
    key = next((k for k, v in inputs.items() if v is x), None)
    if key is None:
        key = f'input{len(inputs)}'
        inputs[key] = x
    cases[name] = {'input': key, 'output': enc(y)}


img = torch.rand(3, 11, 14)
grey = torch.rand(1, 11, 14)
BL, NN = InterpolationMode.BILINEAR, InterpolationMode.NEAREST

for h, w in ((5, 7), (20, 9), (22, 28), (11, 3), (4, 14)):
    for aa in (False, True):
        case(f'resize_{h}x{w}_aa{int(aa)}', img, TF.resize(img, [h, w], interpolation=BL, antialias=aa))
for h, w in ((5, 7), (22, 28), (7, 14), (30, 5)):
    case(f'resize_nearest_{h}x{w}', img, TF.resize(img, [h, w], interpolation=NN))
case('resize_short6_aa1', img, TF.resize(img, 6, antialias=True))
case('resize_short6_max7_aa1', img, TF.resize(img, 6, max_size=7, antialias=True))
case('resize_short20_aa0', img, TF.resize(img, 20, antialias=False))
case('resized_crop_aa0', img, TF.resized_crop(img, 2, 3, 7, 9, [5, 6], antialias=False))
case('resized_crop_aa1', img, TF.resized_crop(img, 2, 3, 7, 9, [5, 6], antialias=True))
case('resized_crop_up_aa1', img, TF.resized_crop(img, 1, 1, 4, 5, [9, 13], antialias=True))
case('center_crop_6x8', img, TF.center_crop(img, [6, 8]))
case('center_crop_7x9', img, TF.center_crop(img, [7, 9]))
case('center_crop_pad_13x17', img, TF.center_crop(img, [13, 17]))
case('center_crop_pad_12x10', img, TF.center_crop(img, [12, 10]))
case('crop_outside', img, TF.crop(img, -2, 3, 6, 14))
for mode in ('constant', 'edge', 'reflect', 'symmetric'):
    case(f'pad_{mode}', img, TF.pad(img, [1, 2, 3, 4], fill=0.5 if mode == 'constant' else 0, padding_mode=mode))
case('hflip', img, TF.hflip(img))
case('vflip', img, TF.vflip(img))
for f in (0.0, 0.3, 1.7):
    case(f'brightness_{f}', img, TF.adjust_brightness(img, f))
for f in (0.0, 0.4, 1.6):
    case(f'contrast_{f}', img, TF.adjust_contrast(img, f))
    case(f'contrast_grey_{f}', grey, TF.adjust_contrast(grey, f))
for f in (0.0, 0.5, 1.8):
    case(f'saturation_{f}', img, TF.adjust_saturation(img, f))
for f in (-0.4, -0.05, 0.13, 0.5):
    case(f'hue_{f}', img, TF.adjust_hue(img, f))
# hue on pixels where two or three channels tie (the branches of _rgb2hsv)
ties = torch.tensor([[0.2, 0.5, 0.5, 0.9, 0.3, 0.0], [0.2, 0.5, 0.1, 0.9, 0.3, 0.0], [0.2, 0.1, 0.5, 0.1, 0.7, 0.0]]).reshape(3, 2, 3)
case('hue_ties_0.25', ties, TF.adjust_hue(ties, 0.25))
case('grayscale_1', img, TF.rgb_to_grayscale(img, 1))
case('grayscale_3', img, TF.rgb_to_grayscale(img, 3))
case('erase', img, TF.erase(img, 2, 3, 4, 5, torch.tensor([0.1, 0.2, 0.3])[:, None, None]))
case('normalize', img, TF.normalize(img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))

batch = torch.randn(5, 3, 4, 6)
case('grid_nrow2_pad1', batch, make_grid(batch, nrow=2, padding=1))
case('grid_default', batch, make_grid(batch))
case('grid_normalize', batch, make_grid(batch, nrow=3, normalize=True))
case('grid_scale_each_range', batch, make_grid(batch, nrow=4, padding=3, normalize=True, value_range=(-1, 1), scale_each=True))
case('grid_scale_each', batch, make_grid(batch, nrow=5, normalize=True, scale_each=True, pad_value=0.25))
mono = torch.rand(3, 1, 4, 4)
case('grid_mono', mono, make_grid(mono, nrow=2, pad_value=0.7))
single = torch.randn(1, 3, 4, 4)
case('grid_single_normalize', single, make_grid(single, normalize=True))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'torchvision': torchvision.__version__,
               'inputs': {k: enc(v) for k, v in inputs.items()}, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {OUT} ({len(cases)} cases, {os.path.getsize(OUT)} bytes)')
