"""Reference trajectories for DeepSharp.Optim: optimizers, LR schedulers and gradient clipping.

Optimizer cases: params w (3, 4) and b (4,) in float64 start from fixed values and take 20 steps on
loss = sum((x @ w + b - y)^2) + sum(exp(0.5 * w)); outputs[0] is w after each step (20, 3, 4), outputs[1]
is b after each step (20, 4). inputs are x, y, w0, b0. Scheduler cases: outputs[0] is the lr of each param
group before each of 30 optimizer steps (30, groups); OneCycle cases add outputs[1], the momentum (or beta1).
Run with Debian's interpreter: /usr/bin/python3 tools/golden/optim.py
"""
import math
import torch
from golden import Fixture, enc

f = Fixture('optim')
torch.set_default_dtype(torch.float64)

x = torch.randn(5, 3)
y = torch.randn(5, 4)
w0 = torch.randn(3, 4) * 0.5
b0 = torch.randn(4) * 0.5


def loss_fn(w, b):
    return ((x @ w + b - y) ** 2).sum() + torch.exp(0.5 * w).sum()


def trajectory(name, make_opt, steps=20):
    w = w0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    opt = make_opt(w, b)
    ws, bs = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(w, b).backward()
        opt.step()
        ws.append(w.detach().clone())
        bs.append(b.detach().clone())
    f.cases[name] = {'inputs': [enc(x), enc(y), enc(w0), enc(b0)],
                     'outputs': [enc(torch.stack(ws)), enc(torch.stack(bs))]}


O = torch.optim
trajectory('sgd', lambda w, b: O.SGD([w, b], lr=0.01))
trajectory('sgd_momentum', lambda w, b: O.SGD([w, b], lr=0.01, momentum=0.9))
trajectory('sgd_momentum_dampening_wd', lambda w, b: O.SGD([w, b], lr=0.01, momentum=0.9, dampening=0.3, weight_decay=0.1))
trajectory('sgd_nesterov', lambda w, b: O.SGD([w, b], lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.05))
trajectory('sgd_maximize', lambda w, b: O.SGD([w, b], lr=0.001, momentum=0.5, maximize=True))
trajectory('sgd_groups', lambda w, b: O.SGD([{'params': [w]}, {'params': [b], 'lr': 0.05, 'momentum': 0.5}], lr=0.01))
trajectory('adam', lambda w, b: O.Adam([w, b], lr=0.05))
trajectory('adam_wd_amsgrad', lambda w, b: O.Adam([w, b], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True))
trajectory('adam_maximize', lambda w, b: O.Adam([w, b], lr=0.01, maximize=True))
trajectory('adamw', lambda w, b: O.AdamW([w, b], lr=0.05))
trajectory('adamw_amsgrad', lambda w, b: O.AdamW([w, b], lr=0.05, weight_decay=0.5, amsgrad=True))
trajectory('adam_groups', lambda w, b: O.Adam([{'params': [w], 'lr': 0.02}, {'params': [b], 'betas': (0.5, 0.9)}], lr=0.05))
trajectory('adagrad', lambda w, b: O.Adagrad([w, b], lr=0.1))
trajectory('adagrad_decay_wd_init', lambda w, b: O.Adagrad([w, b], lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5))
trajectory('rmsprop', lambda w, b: O.RMSprop([w, b], lr=0.01))
trajectory('rmsprop_centered_momentum', lambda w, b: O.RMSprop([w, b], lr=0.01, alpha=0.9, momentum=0.8, centered=True, weight_decay=0.1))
trajectory('rmsprop_momentum', lambda w, b: O.RMSprop([w, b], lr=0.005, momentum=0.5))
trajectory('adadelta', lambda w, b: O.Adadelta([w, b]))
trajectory('adadelta_wd_maximize', lambda w, b: O.Adadelta([w, b], lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True))


def schedule(name, make, groups=(0.1,), steps=30, opt_kind='sgd', record_momentum=False, metrics=None):
    ps = [torch.zeros(2, requires_grad=True) for _ in groups]
    if opt_kind == 'sgd':
        opt = O.SGD([{'params': [p], 'lr': lr} for p, lr in zip(ps, groups)], lr=groups[0], momentum=0.9)
    else:
        opt = O.Adam([{'params': [p], 'lr': lr} for p, lr in zip(ps, groups)], lr=groups[0])
    sched = make(opt)
    lrs, moms = [], []
    for i in range(steps):
        lrs.append([g['lr'] for g in opt.param_groups])
        moms.append([g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups])
        for p in ps:
            p.grad = torch.ones_like(p)
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
    outs = [enc(torch.tensor(lrs))]
    if record_momentum:
        outs.append(enc(torch.tensor(moms)))
    f.cases[name] = {'inputs': [], 'outputs': outs}


S = O.lr_scheduler
schedule('steplr', lambda o: S.StepLR(o, step_size=7, gamma=0.5), groups=(0.1, 0.05))
schedule('multisteplr', lambda o: S.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3), groups=(0.1, 0.02))
schedule('exponentiallr', lambda o: S.ExponentialLR(o, gamma=0.9))
schedule('cosineannealinglr', lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.001), groups=(0.1, 0.05))
schedule('linearlr', lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8))
schedule('sequential_linear_cosine', lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
                                                                     S.CosineAnnealingLR(o, T_max=25, eta_min=0.002)], milestones=[5]))
schedule('sequential_exp_step', lambda o: S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.8), S.StepLR(o, step_size=4, gamma=0.5)], milestones=[10]))
schedule('onecycle_cos', lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=30), record_momentum=True)
schedule('onecycle_linear_threephase', lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30, pct_start=0.25, anneal_strategy='linear',
                                                           div_factor=10.0, final_div_factor=100.0, three_phase=True), record_momentum=True)
schedule('onecycle_adam', lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=30, base_momentum=0.8, max_momentum=0.9),
         opt_kind='adam', record_momentum=True)
schedule('onecycle_nomomentum', lambda o: S.OneCycleLR(o, max_lr=0.2, total_steps=31, cycle_momentum=False), record_momentum=True)
metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.8899, 0.9, 0.9, 0.9, 0.9, 0.7, 0.7, 0.7, 0.7, 0.7,
           0.69, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
schedule('plateau_min', lambda o: S.ReduceLROnPlateau(o, patience=2, cooldown=1, min_lr=0.002), groups=(0.1, 0.05), metrics=metrics)
schedule('plateau_max_abs', lambda o: S.ReduceLROnPlateau(o, mode='max', factor=0.5, patience=1, threshold=0.01, threshold_mode='abs'),
         metrics=[-m for m in metrics])
f.cases['plateau_metrics'] = {'inputs': [enc(torch.tensor(metrics))], 'outputs': []}

# gradient clipping: two grads, several norm types and max norms
g1 = torch.randn(3, 4)
g2 = torch.randn(5)
for name, max_norm, norm_type in [('clip_norm2', 1.0, 2.0), ('clip_norm1', 2.0, 1.0), ('clip_norminf', 0.5, math.inf),
                                  ('clip_norm3', 1.5, 3.0), ('clip_norm2_noop', 100.0, 2.0)]:
    p1 = torch.zeros(3, 4, requires_grad=True)
    p2 = torch.zeros(5, requires_grad=True)
    p1.grad = g1.clone()
    p2.grad = g2.clone()
    total = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm, norm_type)
    f.cases[name] = {'inputs': [enc(g1), enc(g2)], 'outputs': [enc(total), enc(p1.grad), enc(p2.grad)],
                     'extra': {'max_norm': max_norm, 'norm_type': 'inf' if math.isinf(norm_type) else norm_type}}
p1 = torch.zeros(3, 4, requires_grad=True)
p2 = torch.zeros(5, requires_grad=True)
p1.grad = g1.clone()
p2.grad = g2.clone()
torch.nn.utils.clip_grad_value_([p1, p2], 0.7)
f.cases['clip_value'] = {'inputs': [enc(g1), enc(g2)], 'outputs': [enc(p1.grad), enc(p2.grad)]}
f.save()
