"""Reference fixture for DeepSharp's Vision Transformer (src/DeepSharp.Vision/Models/VisionTransformer.cs), from torchvision 0.14.

- architectures: for vit_b_16 and vit_b_32 (10 classes) the state-dict keys with shapes and the parameter count; for every
  torchvision ViT (b_16, b_32, l_16, l_32, h_14) the hyperparameters and the parameter count for 1000 classes, checked
  here against torchvision's published num_params.
- cases: models filled by the deterministic formula of vision_fill.py, run in float64 on a formula input: the logits, and
  for two small configurations the gradients of sum(logits * u) (u from the same formula) with respect to the input, the
  class token and the position embedding (and for the 1-channel one also the input and the first block's in_proj_weight).

Run with Debian's interpreter: /usr/bin/python3 tools/golden/vision_vit.py
Output (committed): tests/DeepSharp.Vision.Tests/Golden/vision_vit.json
"""
import json, os, sys, warnings
import torch
import torch.nn as nn
import torchvision
import torchvision.models as M
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_fill import fill_state_dict, input_tensor  # noqa: E402

warnings.filterwarnings('ignore')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Vision.Tests', 'Golden', 'vision_vit.json')

NAMES = ['vit_b_16', 'vit_b_32', 'vit_l_16', 'vit_l_32', 'vit_h_14']
WITH_KEYS = ['vit_b_16', 'vit_b_32']


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def config(m):
    return {'image_size': m.image_size, 'patch_size': m.patch_size, 'num_layers': len(m.encoder.layers),
            'num_heads': m.encoder.layers[0].num_heads, 'hidden_dim': m.hidden_dim, 'mlp_dim': m.mlp_dim}


def architectures():
    out = {}
    for name in NAMES:
        full = M.get_model(name, num_classes=1000)
        count = sum(p.numel() for p in full.parameters())
        tv = M.get_model_weights(name).DEFAULT.meta['num_params']
        entry = {'config': config(full), 'num_params_1000_classes': count, 'torchvision_num_params': tv}
        # vit_h_14's published count is for its 518×518 SWAG weights (a longer position embedding)
        if name != 'vit_h_14':
            assert count == tv, (name, count, tv)
        del full
        if name in WITH_KEYS:
            m = M.get_model(name, num_classes=10)
            sd = m.state_dict()
            entry.update({'num_classes': 10, 'num_params': sum(p.numel() for p in m.parameters()),
                          'keys': [[k, list(v.shape)] for k, v in sd.items()]})
        out[name] = entry
        print(name, entry['config'], count, tv)
    return out


def set_in_channels(m, c):
    """torchvision has no in_channels: swap the patch projection for one with c input channels."""
    if c != 3:
        m.conv_proj = nn.Conv2d(c, m.hidden_dim, m.patch_size, m.patch_size)


def case(options, batch=2, num_classes=10, in_channels=3, grads=False, builder=None, all_grads=True):
    if builder:
        m = M.get_model(builder, num_classes=num_classes, image_size=options['image_size'])
    else:
        m = VisionTransformer(num_classes=num_classes, **options)
    set_in_channels(m, in_channels)
    m.load_state_dict(fill_state_dict(m.state_dict()))
    m = m.double().eval()
    size = m.image_size
    shape = [batch, in_channels, size, size]
    x = torch.from_numpy(input_tensor(shape)).double().requires_grad_(grads)
    entry = {'builder': builder, 'options': options, 'num_classes': num_classes, 'in_channels': in_channels, 'input_shape': shape}
    if grads:
        y = m(x)
        u = torch.from_numpy(input_tensor(list(y.shape))).double()
        (y * u).sum().backward()
        entry.update({'logits': flat(y), 'grad_class_token': flat(m.class_token.grad),
                      'grad_pos_embedding': flat(m.encoder.pos_embedding.grad)})
        if all_grads:
            entry.update({'grad_input': flat(x.grad), 'grad_in_proj_weight_0': flat(m.encoder.layers[0].self_attention.in_proj_weight.grad)})
    else:
        with torch.no_grad():
            entry['logits'] = flat(m(x))
    print(builder or options, entry['logits'][:3])
    return entry


def cases():
    small = {'image_size': 32, 'patch_size': 8, 'num_layers': 2, 'num_heads': 4, 'hidden_dim': 64, 'mlp_dim': 128}
    return {
        'small': case(small, grads=True, all_grads=False),
        'small_gray28': case({'image_size': 28, 'patch_size': 7, 'num_layers': 3, 'num_heads': 2, 'hidden_dim': 32, 'mlp_dim': 48},
                             batch=3, num_classes=5, in_channels=1, grads=True),
        'small_representation': case({**small, 'representation_size': 48}),
        'vit_b_16_32px': case({'image_size': 32}, batch=1, builder='vit_b_16'),
        'vit_b_32_64px': case({'image_size': 64}, batch=1, builder='vit_b_32'),
    }


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    fixture = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'architectures': architectures(), 'cases': cases()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
    print(f'wrote {OUT} ({os.path.getsize(OUT) // 1024} KB)')


if __name__ == '__main__':
    main()
