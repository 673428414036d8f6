"""Reference fixture for DeepSharp.Interpretability: every attribution method written with plain PyTorch autograd on a
small fixed CNN (Captum is not installed; each method below follows Captum's / pytorch-grad-cam's definition).

The CNN (conv1 1->4 3x3 pad 1, relu1, conv2 4->6 3x3 pad 1, relu2, pool 2x2, fc 96->3) is seeded, held in float64, and
its weights are written to interpretability_cnn.safetensors; the inputs, the noise of SmoothGrad, the start image of
the feature visualisation and every result go to interpretability.json. The C# tests build the same module, load the
weights strictly and compare.

Run with Debian's interpreter: /usr/bin/python3 tools/golden/interpretability.py
Outputs (committed): tests/DeepSharp.Interpretability.Tests/Golden/interpretability.json and interpretability_cnn.safetensors
"""
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from convert_torchvision import write_safetensors  # noqa: E402

OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Interpretability.Tests', 'Golden')
torch.set_default_dtype(torch.float64)


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(6 * 4 * 4, 3)

    def forward(self, x):
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(self.pool(x).flatten(1))


def score(out, target):
    return out.gather(1, torch.tensor(target).view(-1, 1)).sum()


def input_grad(model, x, target):
    x = x.detach().clone().requires_grad_(True)
    return torch.autograd.grad(score(model(x), target), x)[0]


def layer_act_grad(model, x, target, layer):
    store = {}
    handle = getattr(model, layer).register_forward_hook(lambda m, i, o: store.__setitem__('a', o))
    out = model(x)
    handle.remove()
    act = store['a']
    return act.detach(), torch.autograd.grad(score(out, target), act)[0]


def integrated_gradients(model, x, baseline, target, n_steps, method):
    if method == 'gausslegendre':
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        alphas, steps = 0.5 * (1 + nodes), 0.5 * weights
    else:  # riemann_trapezoid, as Captum: alphas linspace(0, 1, n), steps 1/n with the two ends halved
        alphas = np.linspace(0, 1, n_steps)
        steps = np.full(n_steps, 1.0 / n_steps)
        steps[0] /= 2
        steps[-1] /= 2
    total = torch.zeros_like(x)
    for a, w in zip(alphas, steps):
        total += float(w) * input_grad(model, baseline + float(a) * (x - baseline), target)
    attr = (x - baseline) * total
    with torch.no_grad():
        f = model(x).gather(1, torch.tensor(target).view(-1, 1)).view(-1)
        f0 = model(baseline).gather(1, torch.tensor(target).view(-1, 1)).view(-1)
    delta = attr.flatten(1).sum(1) - (f - f0)
    return attr, delta


def grad_cam(model, x, target, layer):
    act, grad = layer_act_grad(model, x, target, layer)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    raw = (weights * act).sum(1, keepdim=True)          # Captum LayerGradCam (relu_attributions=False)
    cam = F.interpolate(F.relu(raw), size=x.shape[2:], mode='bilinear', align_corners=False)
    return raw, cam


def grad_cam_pp(model, x, target, layer, eps=1e-6):
    act, grad = layer_act_grad(model, x, target, layer)
    g2, g3 = grad ** 2, grad ** 3
    sum_act = act.sum(dim=(2, 3), keepdim=True)
    aij = g2 / (2 * g2 + sum_act * g3 + eps)
    aij = torch.where(grad != 0, aij, torch.zeros_like(aij))
    weights = (F.relu(grad) * aij).sum(dim=(2, 3), keepdim=True)
    raw = F.relu((weights * act).sum(1, keepdim=True))
    return F.interpolate(raw, size=x.shape[2:], mode='bilinear', align_corners=False)


def occlusion(model, x, target, window, strides, baseline=0.0):
    """Captum Occlusion: every window position (ceil((dim - window) / stride) + 1 per dim, the last one cut at the
    border) is replaced by the baseline; each element gets the mean output drop over the windows covering it."""
    with torch.no_grad():
        t = torch.tensor(target).view(-1, 1)
        initial = model(x).gather(1, t).view(-1)
        dims = x.shape[1:]
        counts = [int(np.ceil((d - w) / s)) + 1 for d, w, s in zip(dims, window, strides)]
        total = torch.zeros_like(x)
        weight = torch.zeros(dims)
        for idx in np.ndindex(*counts):
            mask = torch.zeros(dims)
            sl = tuple(slice(i * s, min(i * s + w, d)) for i, s, w, d in zip(idx, strides, window, dims))
            mask[sl] = 1
            ablated = x * (1 - mask) + baseline * mask
            diff = initial - model(ablated).gather(1, t).view(-1)
            total += diff.view(-1, 1, 1, 1) * mask
            weight += mask
        return total / weight


def feature_vis(model, x0, layer, channel, steps, lr, l2, tv):
    x = x0.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    store = {}
    handle = getattr(model, layer).register_forward_hook(lambda m, i, o: store.__setitem__('a', o))
    for _ in range(steps):
        opt.zero_grad()
        model(x)
        act = store['a'][:, channel].mean()
        tv_term = ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum() + ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum()
        loss = -act + l2 * (x ** 2).sum() + tv * tv_term
        loss.backward()
        opt.step()
    handle.remove()
    return x.detach()


def enc(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': [float(v) for v in t.reshape(-1).tolist()]}


def main():
    torch.manual_seed(17)
    model = TinyCnn().eval()
    x = torch.randn(2, 1, 8, 8)
    target = [0, 2]
    cases = {'input': enc(x), 'target': target, 'logits': enc(model(x))}
    g = input_grad(model, x, target)
    cases['saliency'] = enc(g.abs())
    cases['saliency_signed'] = enc(g)
    cases['input_x_gradient'] = enc(x * g)
    noise = 0.2 * torch.randn(4, *x.shape)
    cases['smoothgrad_noise'] = enc(noise)
    cases['smoothgrad'] = enc(torch.stack([input_grad(model, x + n, target).abs() for n in noise]).mean(0))
    baseline = torch.full_like(x, -0.5)
    for name, base, n, method in [('ig_gl', torch.zeros_like(x), 16, 'gausslegendre'),
                                  ('ig_trap', torch.zeros_like(x), 16, 'riemann_trapezoid'),
                                  ('ig_gl_baseline', baseline, 7, 'gausslegendre')]:
        attr, delta = integrated_gradients(model, x, base, target, n, method)
        cases[name] = {'attr': enc(attr), 'delta': enc(delta), 'n_steps': n, 'method': method, 'baseline': enc(base)}
    for layer in ['conv2', 'pool']:
        raw, cam = grad_cam(model, x, target, layer)
        cases['gradcam_' + layer] = {'layer': enc(raw), 'cam': enc(cam)}
    cases['gradcampp_conv2'] = enc(grad_cam_pp(model, x, target, 'conv2'))
    cases['occlusion'] = {'window': [1, 3, 3], 'strides': [1, 2, 2], 'attr': enc(occlusion(model, x, target, (1, 3, 3), (1, 2, 2)))}
    x0 = 0.01 * torch.randn(1, 1, 8, 8)
    cases['feature_vis'] = {'start': enc(x0), 'layer': 'conv2', 'channel': 1, 'steps': 5, 'lr': 0.05, 'l2': 0.01, 'tv': 0.05,
                            'result': enc(feature_vis(model, x0, 'conv2', 1, 5, 0.05, 0.01, 0.05))}
    grid = torchvision.utils.make_grid(model.conv1.weight.detach(), nrow=2, padding=1, normalize=True, scale_each=True)
    cases['filter_grid'] = enc(grid)

    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, 'interpretability_cnn.safetensors'), model.state_dict())
    with open(os.path.join(OUT, 'interpretability.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
    print('wrote', OUT, len(cases), 'entries')


if __name__ == '__main__':
    main()
