"""Reference values and gradients for the loss functions (src/DeepSharp/NN/F.Losses.cs).

Every case stores in 'extra' which DeepSharp function to call ('fn') and its options; the inputs follow a fixed
order per function (see tests/DeepSharp.Tests/Losses/LossGoldenTests.cs). Inputs passed through `.detach()` inside
the lambda (class weights, most targets) get no reference gradient.
Run: /usr/bin/python3 tools/golden/losses.py
"""
import torch
import torch.nn.functional as F
import torchvision
from golden import Fixture

f = Fixture('losses')
r = lambda *s: torch.randn(*s, dtype=torch.float64)
REDS = ['mean', 'sum', 'none']


def away_from(d, k, gap=0.1):
    """Pushes |d| at least `gap` away from the kink k (so values and gradients are not ambiguous)."""
    a = d.abs()
    close = (a - k).abs() < gap
    return torch.where(close, d.sign() * (k + 2 * gap), d)


def case(name, lam, inputs, **extra):
    f.case(name, lam, inputs, extra=extra)


# ---- cross-entropy -------------------------------------------------------------------------------------------
x = r(6, 4)
t = torch.tensor([0, 3, 1, 2, 3, 1])
w = torch.rand(4, dtype=torch.float64) + 0.5
t_ign = torch.tensor([0, -100, 1, 2, -100, 1])
t_ign2 = torch.tensor([0, 3, 2, 2, 2, 1])        # ignore_index = 2
for red in REDS:
    case(f'ce_plain_{red}', lambda x, t: F.cross_entropy(x, t, reduction=red), [x, t], fn='ce', reduction=red)
    case(f'ce_weight_{red}', lambda x, t, w: F.cross_entropy(x, t, weight=w.detach(), reduction=red), [x, t, w],
         fn='ce', reduction=red)
    case(f'ce_ignore_{red}', lambda x, t: F.cross_entropy(x, t, reduction=red), [x, t_ign], fn='ce', reduction=red)
    case(f'ce_ignore2_weight_{red}', lambda x, t, w: F.cross_entropy(x, t, weight=w.detach(), ignore_index=2, reduction=red),
         [x, t_ign2, w], fn='ce', reduction=red, ignore_index=2)
    case(f'ce_smooth_{red}', lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, reduction=red), [x, t],
         fn='ce', reduction=red, label_smoothing=0.1)
    case(f'ce_smooth_ignore_{red}', lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2, reduction=red), [x, t_ign],
         fn='ce', reduction=red, label_smoothing=0.2)
    case(f'ce_smooth_weight_{red}', lambda x, t, w: F.cross_entropy(x, t, weight=w.detach(), label_smoothing=0.2, reduction=red),
         [x, t, w], fn='ce', reduction=red, label_smoothing=0.2)
    case(f'ce_smooth_weight_ignore_{red}',
         lambda x, t, w: F.cross_entropy(x, t, weight=w.detach(), label_smoothing=0.2, reduction=red),
         [x, t_ign, w], fn='ce', reduction=red, label_smoothing=0.2)

xk = r(2, 3, 2, 2)
tk = torch.tensor([[[0, 2], [1, 1]], [[2, -100], [0, 1]]])
wk = torch.rand(3, dtype=torch.float64) + 0.5
pk = torch.softmax(r(2, 3, 2, 2), 1)
for red in REDS:
    case(f'ce_kdim_{red}', lambda x, t: F.cross_entropy(x, t, reduction=red), [xk, tk], fn='ce', reduction=red)
    case(f'ce_kdim_weight_{red}', lambda x, t, w: F.cross_entropy(x, t, weight=w.detach(), reduction=red), [xk, tk, wk],
         fn='ce', reduction=red)
    case(f'ce_kdim_prob_{red}', lambda x, t: F.cross_entropy(x, t, reduction=red), [xk, pk], fn='ce', reduction=red)

p = torch.softmax(r(6, 4), 1)
for red in REDS:
    case(f'ce_prob_{red}', lambda x, t: F.cross_entropy(x, t, reduction=red), [x, p], fn='ce', reduction=red)
    case(f'ce_prob_smooth_weight_{red}',
         lambda x, t, w: F.cross_entropy(x, t, weight=w.detach(), label_smoothing=0.15, reduction=red),
         [x, p, w], fn='ce', reduction=red, label_smoothing=0.15)

# ---- nll -----------------------------------------------------------------------------------------------------
lp = torch.log_softmax(r(6, 4), 1)
for red in REDS:
    case(f'nll_{red}', lambda x, t: F.nll_loss(x, t, reduction=red), [lp, t], fn='nll', reduction=red)
    case(f'nll_weight_ignore_{red}', lambda x, t, w: F.nll_loss(x, t, weight=w.detach(), reduction=red), [lp, t_ign, w],
         fn='nll', reduction=red)
    case(f'nll_kdim_{red}', lambda x, t: F.nll_loss(x, t, reduction=red), [torch.log_softmax(xk, 1), tk], fn='nll', reduction=red)

# ---- regression ----------------------------------------------------------------------------------------------
a, b = r(4, 5), r(4, 5)
bs = a - away_from(a - b, 0.5)            # |a - bs| away from beta = 0.5
bh = a - away_from(a - b, 0.7)            # |a - bh| away from delta = 0.7
for red in REDS:
    case(f'mse_{red}', lambda x, y: F.mse_loss(x, y, reduction=red), [a, b], fn='mse', reduction=red)
    case(f'l1_{red}', lambda x, y: F.l1_loss(x, y, reduction=red), [a, b], fn='l1', reduction=red)
    case(f'smooth_l1_{red}', lambda x, y: F.smooth_l1_loss(x, y, reduction=red, beta=0.5), [a, bs], fn='smooth_l1',
         reduction=red, beta=0.5)
    case(f'huber_{red}', lambda x, y: F.huber_loss(x, y, reduction=red, delta=0.7), [a, bh], fn='huber',
         reduction=red, delta=0.7)

# ---- binary --------------------------------------------------------------------------------------------------
pr = torch.rand(4, 5, dtype=torch.float64) * 0.9 + 0.05
tb = torch.rand(4, 5, dtype=torch.float64)
wb = torch.rand(4, 5, dtype=torch.float64) + 0.5
lg = r(4, 5) * 2
pw = torch.rand(5, dtype=torch.float64) * 2 + 0.3
wrow = torch.rand(1, 5, dtype=torch.float64) + 0.5
for red in REDS:
    case(f'bce_{red}', lambda x, t: F.binary_cross_entropy(x, t.detach(), reduction=red), [pr, tb], fn='bce', reduction=red)
    case(f'bce_weight_{red}', lambda x, t, w: F.binary_cross_entropy(x, t.detach(), weight=w.detach(), reduction=red),
         [pr, tb, wb], fn='bce', reduction=red)
    case(f'bcel_{red}', lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=red), [lg, tb], fn='bcel', reduction=red)
    case(f'bcel_weight_posweight_{red}',
         lambda x, t, w, q: F.binary_cross_entropy_with_logits(x, t, weight=w.detach(), pos_weight=q.detach(), reduction=red),
         [lg, tb, wrow, pw], fn='bcel', reduction=red)

# ---- kl divergence -------------------------------------------------------------------------------------------
kin = torch.log_softmax(r(4, 5), 1)
ktg = torch.softmax(r(4, 5), 1)
for red in REDS + ['batchmean']:
    case(f'kl_{red}', lambda x, t: F.kl_div(x, t, reduction=red), [kin, ktg], fn='kl', reduction=red, log_target=False)
    case(f'kl_logtarget_{red}', lambda x, t: F.kl_div(x, t, reduction=red, log_target=True), [kin, ktg.log()],
         fn='kl', reduction=red, log_target=True)

# ---- embedding losses ----------------------------------------------------------------------------------------
c1, c2 = r(6, 5), r(6, 5)
cy = torch.tensor([1, -1, 1, -1, -1, 1])
ta, tp, tn = r(5, 4), r(5, 4), r(5, 4)
tn[1] = ta[1] + 0.1 * r(4)                # a triplet where swapping matters / hinge active
for red in REDS:
    case(f'cosine_{red}', lambda x, y, t: F.cosine_embedding_loss(x, y, t, margin=0.2, reduction=red), [c1, c2, cy],
         fn='cosine', reduction=red, margin=0.2)
    case(f'triplet_swap_{red}', lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=1.0, swap=True, reduction=red),
         [ta, tp, tn], fn='triplet', reduction=red, margin=1.0, swap=True)
    case(f'triplet_{red}', lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, reduction=red),
         [ta, tp, tn], fn='triplet', reduction=red, margin=2.0, swap=False)

# ---- focal losses --------------------------------------------------------------------------------------------
sx = r(4, 5) * 2
st = (torch.rand(4, 5) > 0.5).double()
for red in REDS:
    case(f'sigmoid_focal_{red}',
         lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t.detach(), alpha=0.25, gamma=2.0, reduction=red),
         [sx, st], fn='sigmoid_focal', reduction=red, alpha=0.25, gamma=2.0)
    case(f'sigmoid_focal_noalpha_{red}',
         lambda x, t: torchvision.ops.sigmoid_focal_loss(x, t.detach(), alpha=-1, gamma=1.5, reduction=red),
         [sx, st], fn='sigmoid_focal', reduction=red, alpha=-1.0, gamma=1.5)


def reduce(v, red):
    return v.mean() if red == 'mean' else v.sum() if red == 'sum' else v


def focal(x, t, alpha, gamma, red):
    logpt = torch.log_softmax(x, 1).gather(1, t.unsqueeze(1)).squeeze(1)
    at = alpha.detach()[t] if alpha is not None else 1.0
    return reduce(-at * (1 - logpt.exp()) ** gamma * logpt, red)


fa = torch.rand(4, dtype=torch.float64) + 0.25
for red in REDS:
    case(f'focal_{red}', lambda x, t: focal(x, t, None, 2.0, red), [x, t], fn='focal', reduction=red, gamma=2.0)
    case(f'focal_alpha_{red}', lambda x, t, a: focal(x, t, a, 1.5, red), [x, t, fa], fn='focal', reduction=red, gamma=1.5)


def contrastive(x1, x2, y, margin, red):
    d = (x1 - x2 + 1e-6).norm(2, dim=-1)
    y = y.detach()
    return reduce(y * d ** 2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2, red)


k1, k2 = r(6, 3), r(6, 3)
ky = torch.tensor([1., 0., 1., 0., 0., 1.], dtype=torch.float64)
for red in REDS:
    case(f'contrastive_{red}', lambda a, b, y: contrastive(a, b, y, 2.0, red), [k1, k2, ky], fn='contrastive',
         reduction=red, margin=2.0)

f.save()
