"""Reference fixture for DeepSharp's model zoo (src/DeepSharp.Vision/Models), from torchvision 0.14.

For every architecture it stores the state-dict keys with shapes and the parameter count for num_classes=10 (the size
the tests build), and the count for num_classes=1000, checked here against torchvision's published num_params. For a set of cases it fills a model with the
deterministic formula of vision_fill.py (no weights need to be stored), runs a deterministic input through it in float64
and stores the logits; the C# test fills its own model with the same formula, loads it strictly and compares.

Run with Debian's interpreter: /usr/bin/python3 tools/golden/vision_models.py
Output (committed): tests/DeepSharp.Vision.Tests/Golden/vision_models.json
"""
import json, os, sys, warnings
import torch
import torch.nn as nn
import torchvision
import torchvision.models as M

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_fill import fill_state_dict, input_tensor, fill_value, INPUT_TAG  # noqa: E402

warnings.filterwarnings('ignore')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Vision.Tests', 'Golden', 'vision_models.json')

ARCHS = ['alexnet', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn', 'googlenet',
         'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d',
         'resnext101_64x4d', 'wide_resnet50_2', 'wide_resnet101_2', 'mobilenet_v2']


def build(name, num_classes, **kw):
    if name == 'googlenet':
        kw.setdefault('init_weights', True)
    return M.get_model(name, num_classes=num_classes, **kw)


def set_in_channels(model, name, c):
    """torchvision has no in_channels: swap the first convolution for one with c input channels."""
    if c == 3:
        return
    if name.startswith('resnet') or name.startswith('resnext') or name.startswith('wide'):
        model.conv1 = nn.Conv2d(c, 64, 7, 2, 3, bias=False)
    elif name == 'googlenet':
        model.conv1.conv = nn.Conv2d(c, 64, 7, 2, 3, bias=False)
    elif name.startswith('vgg'):
        old = model.features[0]
        model.features[0] = nn.Conv2d(c, old.out_channels, 3, padding=1)
    elif name == 'alexnet':
        model.features[0] = nn.Conv2d(c, 64, 11, 4, 2)
    elif name == 'mobilenet_v2':
        old = model.features[0][0]
        model.features[0][0] = nn.Conv2d(c, old.out_channels, 3, 2, 1, bias=False)
    else:
        raise ValueError(name)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def architectures():
    out = {}
    for name in ARCHS:
        full = sum(p.numel() for p in build(name, 1000).parameters())
        tv = M.get_model_weights(name).DEFAULT.meta['num_params']
        # torchvision publishes GoogLeNet's count without the auxiliary heads (its pretrained weights drop them)
        tv_full = full if name != 'googlenet' else sum(p.numel() for p in build(name, 1000, aux_logits=False).parameters())
        assert tv_full == tv, (name, tv_full, tv)
        m = build(name, 10)
        sd = m.state_dict()
        num_params = sum(p.numel() for p in m.parameters())
        out[name] = {'num_classes': 10, 'num_params': num_params, 'num_params_1000_classes': full, 'torchvision_num_params': tv,
                     'keys': [[k, list(v.shape)] for k, v in sd.items()]}
        print(f'{name}: {len(sd)} keys, {num_params} parameters')
    return out


def case(model_name, size, batch=2, num_classes=10, in_channels=3, train=False, options=None, extra=None):
    options = options or {}
    m = build(model_name, num_classes, **options)
    set_in_channels(m, model_name, in_channels)
    m.load_state_dict(fill_state_dict(m.state_dict()))
    m = m.double()
    m.train(train)
    shape = [batch, in_channels, size, size]
    x = torch.from_numpy(input_tensor(shape)).double()
    entry = {'model': model_name, 'num_classes': num_classes, 'in_channels': in_channels, 'input_shape': shape,
             'train': train, 'options': options}
    with torch.no_grad():
        if extra:
            entry.update(extra(m, x))
        else:
            entry['logits'] = flat(m(x))
    return entry


def googlenet_train(m, x):
    """Train mode with dropout 0 (at 128 px: batch statistics over a 2×1×1 map are too ill-conditioned for float32): logits and both auxiliary heads, each named by its head (hooks, since torchvision's
    namedtuple swaps aux_logits1 and aux_logits2)."""
    heads = {}
    m.aux1.register_forward_hook(lambda mod, i, o: heads.__setitem__('aux1', o))
    m.aux2.register_forward_hook(lambda mod, i, o: heads.__setitem__('aux2', o))
    r = m(x)
    return {'logits': flat(r.logits), 'aux1': flat(heads['aux1']), 'aux2': flat(heads['aux2'])}


def resnet_train(m, x):
    """Train mode: batch statistics, and the running statistics they update (at 64 px, for the reason above)."""
    y = m(x)
    return {'logits': flat(y), 'bn1_running_mean': flat(m.bn1.running_mean), 'bn1_running_var': flat(m.bn1.running_var)}


def cases():
    c = {}
    c['alexnet'] = case('alexnet', 64)
    for v in ['vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn']:
        c[v] = case(v, 32)
    c['googlenet'] = case('googlenet', 64)
    c['googlenet_transform_input'] = case('googlenet', 32, options={'transform_input': True})
    c['googlenet_no_aux'] = case('googlenet', 32, options={'aux_logits': False})
    c['googlenet_train'] = case('googlenet', 128, train=True, options={'dropout': 0.0, 'dropout_aux': 0.0}, extra=googlenet_train)
    c['resnet18'] = case('resnet18', 64)
    c['resnet18_in1'] = case('resnet18', 48, in_channels=1)
    c['resnet18_train'] = case('resnet18', 64, train=True, extra=resnet_train)
    c['resnet34'] = case('resnet34', 64)
    c['resnet50'] = case('resnet50', 64)
    c['resnet101'] = case('resnet101', 32)
    c['resnet152'] = case('resnet152', 32)
    c['resnext50_32x4d'] = case('resnext50_32x4d', 32)
    c['wide_resnet50_2'] = case('wide_resnet50_2', 32, batch=1)
    c['mobilenet_v2'] = case('mobilenet_v2', 64)
    c['mobilenet_v2_w05'] = case('mobilenet_v2', 64, options={'width_mult': 0.5})
    c['mobilenet_v2_w035_in1'] = case('mobilenet_v2', 40, in_channels=1, options={'width_mult': 0.35})
    for k, v in c.items():
        print(k, v['logits'][:3])
    return c


def fill_check():
    """A few values of the formula, so the C# side can check its implementation of it first."""
    return {'input_tag': INPUT_TAG,
            'input_first': [float(v) for v in input_tensor([20]).tolist()],
            'samples': [{'k': k, 'key': key, 'shape': shape, 'first': [float(v) for v in fill_value(k, key, shape).reshape(-1)[:12].tolist()]}
                        for k, key, shape in [(0, 'conv1.weight', [64, 3, 7, 7]), (7, 'layer1.0.bn1.running_var', [64]),
                                              (123456, 'fc.bias', [10]), (3, 'bn1.weight', [64]), (5, 'bn1.running_mean', [64])]]}


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    fixture = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'fill_check': fill_check(),
               'architectures': architectures(), 'cases': cases()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
    print(f'wrote {OUT} ({os.path.getsize(OUT) // 1024} KB)')


if __name__ == '__main__':
    main()
