"""Reference adversarial examples for DeepSharp.Robustness's golden tests.

A small fixed CNN (conv 1->4 3x3 pad 1, batch norm with non-trivial running statistics, ReLU, 2x2 max pooling, linear
64->5) attacked with FGSM, PGD (L-infinity) and PGD-L2 written as torchattacks writes them (cross-entropy, sign step or
L2-normalised step, projection, clamping to [0, 1], model in eval mode), and the TRADES inner maximisation and loss as in
the TRADES reference (yaodongyu/TRADES trades.py: KL(sum) between softmax outputs, model.eval() for the attack,
model.train() for the loss). Random starts are drawn here and stored, so the C# side passes the same start in.
Output: tests/DeepSharp.Robustness.Tests/Golden/adversarial.json:
{"weights": {key: tensor}, "images": tensor, "labels": tensor, "targets": tensor,
 "cases": {name: {"method", "eps", "alpha", "steps", "start" (tensor or null), "output": tensor, ...}}}
with tensors as {"shape", "dtype", "data"}. Run with Debian's interpreter: /usr/bin/python3 tools/golden/adversarial.py
"""
import json, os
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Robustness.Tests', 'Golden', 'adversarial.json')
torch.manual_seed(17)


def enc(t):
    t = t.detach()
    dtype = {torch.float32: 'float32', torch.int64: 'int64'}[t.dtype]
    data = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        data = [float('%.9g' % v) for v in data]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        return self.fc(F.max_pool2d(F.relu(self.bn(self.conv(x))), 2).flatten(1))


model = SmallCnn()
with torch.no_grad():
    model.bn.running_mean.copy_(torch.randn(4) * 0.1)
    model.bn.running_var.copy_(torch.rand(4) * 0.5 + 0.5)
    model.bn.weight.copy_(torch.rand(4) + 0.5)
    model.bn.bias.copy_(torch.randn(4) * 0.1)
    model.bn.num_batches_tracked.fill_(3)
weights = {k: enc(v) for k, v in model.state_dict().items()}
initial = {k: v.clone() for k, v in model.state_dict().items()}

N = 6
images = torch.rand(N, 1, 8, 8)
images[:, :, 0, :] = 0.0           # pixels at the edges of [0, 1] exercise the clamp
images[:, :, -1, :] = 1.0
labels = torch.randint(0, 5, (N,))
targets = (labels + 1 + torch.randint(0, 4, (N,))) % 5
smallest = []


def loss_gradient(x, y, targeted):
    x = x.clone().detach().requires_grad_(True)
    cost = F.cross_entropy(model(x), y)
    if targeted:
        cost = -cost
    return torch.autograd.grad(cost, x)[0]


def fgsm(x, y, eps, targeted):
    grad = loss_gradient(x, y, targeted)
    nonzero = grad.abs()[grad != 0]
    smallest.append(float(nonzero.min() / grad.abs().max()))
    return torch.clamp(x + eps * grad.sign(), 0, 1).detach()


def pgd(x, y, eps, alpha, steps, start, targeted):
    adv = x.clone().detach()
    if start is not None:
        adv = torch.clamp(adv + start, 0, 1).detach()
    for _ in range(steps):
        grad = loss_gradient(adv, y, targeted)
        nonzero = grad.abs()[grad != 0]
        smallest.append(float(nonzero.min() / grad.abs().max()))
        adv = adv.detach() + alpha * grad.sign()
        delta = torch.clamp(adv - x, min=-eps, max=eps)
        adv = torch.clamp(x + delta, 0, 1).detach()
    return adv


def pgd_l2(x, y, eps, alpha, steps, start, targeted):
    n = len(x)
    adv = x.clone().detach()
    if start is not None:
        adv = torch.clamp(adv + start, 0, 1).detach()
    for _ in range(steps):
        grad = loss_gradient(adv, y, targeted)
        grad_norms = torch.norm(grad.view(n, -1), p=2, dim=1) + 1e-10
        grad = grad / grad_norms.view(n, 1, 1, 1)
        adv = adv.detach() + alpha * grad
        delta = adv - x
        delta_norms = torch.norm(delta.view(n, -1), p=2, dim=1)
        factor = torch.min(eps / delta_norms, torch.ones_like(delta_norms))
        delta = delta * factor.view(-1, 1, 1, 1)
        adv = torch.clamp(x + delta, 0, 1).detach()
    return adv


def l2_start(x, eps):
    # torchattacks PGDL2's random start: a normal direction scaled to a radius eps * U(0, 1)
    delta = torch.empty_like(x).normal_()
    n = delta.view(len(x), -1).norm(p=2, dim=1).view(len(x), 1, 1, 1)
    r = torch.zeros_like(n).uniform_(0, 1)
    return delta * r / n * eps


def trades(x, y, eps, alpha, steps, beta, start):
    kl = nn.KLDivLoss(reduction='sum')
    model.eval()
    adv = x.detach() + start
    for _ in range(steps):
        adv.requires_grad_()
        with torch.enable_grad():
            loss_kl = kl(F.log_softmax(model(adv), dim=1), F.softmax(model(x), dim=1))
        grad = torch.autograd.grad(loss_kl, [adv])[0]
        adv = adv.detach() + alpha * torch.sign(grad.detach())
        adv = torch.min(torch.max(adv, x - eps), x + eps)
        adv = torch.clamp(adv, 0.0, 1.0)
    model.train()
    adv = torch.clamp(adv, 0.0, 1.0).detach()
    model.zero_grad()
    logits = model(x)
    loss_natural = F.cross_entropy(logits, y)
    loss_robust = (1.0 / len(x)) * kl(F.log_softmax(model(adv), dim=1), F.softmax(logits, dim=1))
    loss = loss_natural + beta * loss_robust
    loss.backward()
    model.eval()
    return adv, loss, loss_natural, loss_robust, model.fc.weight.grad.clone(), model.conv.weight.grad.clone()


model.eval()
cases = {}
cases['fgsm'] = {'method': 'fgsm', 'eps': 0.1, 'targeted': False, 'output': enc(fgsm(images, labels, 0.1, False))}
cases['fgsm_targeted'] = {'method': 'fgsm', 'eps': 0.1, 'targeted': True, 'output': enc(fgsm(images, targets, 0.1, True))}
linf_start = torch.empty_like(images).uniform_(-0.1, 0.1)
for targeted in (False, True):
    y = targets if targeted else labels
    name = 'pgd_targeted' if targeted else 'pgd'
    cases[name] = {'method': 'pgd', 'eps': 0.1, 'alpha': 0.025, 'steps': 5, 'targeted': targeted, 'start': enc(linf_start),
                   'output': enc(pgd(images, y, 0.1, 0.025, 5, linf_start, targeted))}
cases['pgd_no_start'] = {'method': 'pgd', 'eps': 0.05, 'alpha': 0.02, 'steps': 3, 'targeted': False, 'start': None,
                         'output': enc(pgd(images, labels, 0.05, 0.02, 3, None, False))}
start2 = l2_start(images, 0.5)
for targeted in (False, True):
    y = targets if targeted else labels
    name = 'pgd_l2_targeted' if targeted else 'pgd_l2'
    cases[name] = {'method': 'pgd_l2', 'eps': 0.5, 'alpha': 0.1, 'steps': 5, 'targeted': targeted, 'start': enc(start2),
                   'output': enc(pgd_l2(images, y, 0.5, 0.1, 5, start2, targeted))}
cases['pgd_l2_no_start'] = {'method': 'pgd_l2', 'eps': 1.0, 'alpha': 0.3, 'steps': 4, 'targeted': False, 'start': None,
                            'output': enc(pgd_l2(images, labels, 1.0, 0.3, 4, None, False))}

trades_start = 0.001 * torch.randn(images.shape)
adv, loss, natural, robust, fc_grad, conv_grad = trades(images, labels, 0.1, 0.025, 5, 6.0, trades_start)
cases['trades'] = {'method': 'trades', 'eps': 0.1, 'alpha': 0.025, 'steps': 5, 'beta': 6.0, 'start': enc(trades_start),
                   'output': enc(adv), 'loss': loss.item(), 'natural_loss': natural.item(), 'robust_kl': robust.item(),
                   'fc_weight_grad': enc(fc_grad), 'conv_weight_grad': enc(conv_grad)}

# Madry et al.'s adversarial training loss: cross-entropy of the train-mode model on the PGD examples (from the
# initial weights: the TRADES loss's train-mode forwards moved the batch-norm running statistics)
model.load_state_dict(initial)
model.eval()
adv = pgd(images, labels, 0.1, 0.025, 5, linf_start, False)
model.train()
model.zero_grad()
loss = F.cross_entropy(model(adv), labels)
loss.backward()
model.eval()
cases['madry'] = {'method': 'madry', 'eps': 0.1, 'alpha': 0.025, 'steps': 5, 'start': enc(linf_start), 'output': enc(adv),
                  'loss': loss.item(), 'fc_weight_grad': enc(model.fc.weight.grad.clone())}

print('smallest non-zero |gradient| / max |gradient| over the sign steps:', min(smallest))
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'weights': weights, 'images': enc(images), 'labels': enc(labels),
               'targets': enc(targets), 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {OUT} ({len(cases)} cases)')
