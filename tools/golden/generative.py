"""Reference values for tests/DeepSharp.Generative.Tests (run: /usr/bin/python3 tools/golden/generative.py).

Writes tests/DeepSharp.Generative.Tests/Golden/generative.json:
- fid_*: feature sets and the Frechet distance computed as pytorch-fid does (numpy mean/cov, scipy.linalg.sqrtm of
  sigma1 @ sigma2, real part), against which the eigen-based symmetric square root is held;
- gp_*: a tiny float64 critic (conv, LeakyReLU, group/batch norm, transposed conv, linear) with fixed weights, the
  WGAN-GP penalty at fixed points and its gradient with respect to every weight and the points (a double backward);
- schedule_*: DDPM linear betas (Ho et al. 2020) and the cosine schedule (Nichol and Dhariwal 2021), alphas_cumprod.
"""
import json, math, os
import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Generative.Tests', 'Golden', 'generative.json')


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {'shape': list(a.shape), 'data': a.reshape(-1).tolist()}


def fid(f1, f2):
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_cases(out):
    rng = np.random.default_rng(14)
    a = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(loc=0.3, size=(250, 6)) @ rng.normal(size=(6, 6)) * 0.8
    out['fid_full'] = {'a': arr(a), 'b': arr(b), 'fid': fid(a, b)}
    # ReLU features as the classifier gives them: many exact zeros, a low-rank covariance
    c = np.maximum(rng.normal(size=(400, 12)) @ rng.normal(size=(12, 12)) - 0.5, 0)
    d = np.maximum(rng.normal(size=(350, 12)) @ rng.normal(size=(12, 12)) - 0.2, 0)
    out['fid_relu'] = {'a': arr(c), 'b': arr(d), 'fid': fid(c, d)}
    out['fid_same'] = {'a': arr(c), 'b': arr(c), 'fid': fid(c, c)}


def critic_gn(x, p):
    h = F.conv2d(x, p['conv'], p['conv_b'], stride=2, padding=1)            # (N, 2, 4, 4)
    h = F.leaky_relu(h, 0.2)
    h = F.group_norm(h, 1, p['gn_w'], p['gn_b'])
    h = F.conv_transpose2d(h, p['convt'], None, stride=2, padding=1)        # (N, 2, 8, 8)
    h = F.leaky_relu(h, 0.2)
    return F.linear(h.flatten(1), p['lin'], p['lin_b']).flatten()


def critic_bn(x, p):
    h = F.conv2d(x, p['conv'], None, stride=2, padding=1)
    h = F.batch_norm(h, None, None, p['bn_w'], p['bn_b'], training=True)
    h = F.leaky_relu(h, 0.2)
    return F.linear(h.flatten(1), p['lin'], None).flatten()


def penalty(critic, points, p):
    scores = critic(points, p)
    g, = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return ((g.flatten(1).pow(2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()


def gp_case(critic, params):
    torch.manual_seed(3)
    points = torch.rand(3, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    p = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    gp = penalty(critic, points, p)
    names = list(p)
    grads = torch.autograd.grad(gp, [points] + [p[k] for k in names], allow_unused=True)
    grads = [torch.zeros_like(v) if g is None else g for g, v in zip(grads, [points] + [p[k] for k in names])]
    return {'points': arr(points.detach()), 'params': {k: arr(p[k].detach()) for k in names}, 'penalty': gp.item(),
            'grad_points': arr(grads[0]), 'grads': {k: arr(g) for k, g in zip(names, grads[1:])}}


def gp_cases(out):
    torch.manual_seed(1)
    r = lambda *s: torch.randn(*s, dtype=torch.float64) * 0.5
    out['gp_groupnorm'] = gp_case(critic_gn, {'conv': r(2, 1, 4, 4), 'conv_b': r(2), 'gn_w': 1 + r(2), 'gn_b': r(2),
                                              'convt': r(2, 2, 4, 4), 'lin': r(1, 128), 'lin_b': r(1)})
    out['gp_batchnorm'] = gp_case(critic_bn, {'conv': r(3, 1, 4, 4), 'bn_w': 1 + r(3), 'bn_b': r(3), 'lin': r(1, 48)})


def schedules(out):
    t = 1000
    betas = torch.linspace(1e-4, 0.02, t, dtype=torch.float64)
    out['schedule_linear'] = {'steps': t, 'betas': arr(betas), 'alphas_cumprod': arr(torch.cumprod(1 - betas, 0))}
    s = 0.008
    x = torch.linspace(0, t, t + 1, dtype=torch.float64)
    f = torch.cos(((x / t) + s) / (1 + s) * math.pi * 0.5) ** 2
    ac = f / f[0]
    betas = torch.clip(1 - (ac[1:] / ac[:-1]), 0, 0.999)
    out['schedule_cosine'] = {'steps': t, 'betas': arr(betas), 'alphas_cumprod': arr(torch.cumprod(1 - betas, 0))}


if __name__ == '__main__':
    out = {'torch': torch.__version__, 'scipy': scipy.__version__}
    fid_cases(out); gp_cases(out); schedules(out)
    extra = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'generative_unet.py')
    if os.path.exists(extra):
        import importlib.util
        spec = importlib.util.spec_from_file_location('generative_unet', extra)
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        mod.unet_case(out)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as fh:
        json.dump(out, fh, separators=(',', ':'))
    print('wrote', OUT, sorted(out))
