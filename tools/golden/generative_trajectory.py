"""Reference trajectory of DDPM training for tests/DeepSharp.Generative.Tests/UNetTrajectoryTests.cs: the U-Net twin of
tools/golden/generative_unet.py (16-pixel images, channels 8, 3 classes + "no class", 4 groups; a 16x16x8 activation
of a batch of 12 is 24 576 elements, past the kernels' 16K chunking), trained 20 steps with the recipe of the DDPM
examples: epsilon-prediction MSE at x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise (cosine schedule, T = 1000), Adam
lr 2e-3 (PyTorch defaults otherwise), and an exponential moving average of the weights with decay 0.995 after every step.
The inputs of every step (x0, t, noise, labels with some dropped to "no class") are fixed here, so both sides take
exactly the same steps: the test compares the 20 losses and the final weights and averaged weights, which checks the
U-Net's backward, Adam and the EMA together over a run, not one gradient.

Writes Golden/unet_trajectory.safetensors (written by hand as in generative_unet.py): init.* (the starting weights),
x0 (20, 12, 1, 16, 16), t (20, 12), noise, labels, losses (20,), final.* and ema.*.
Run with Debian's /usr/bin/python3 (PyTorch 1.13).
"""
import os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generative_unet import UNet, cosine_alphas_cumprod, write_safetensors, ROOT  # noqa: E402

OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Generative.Tests', 'Golden', 'unet_trajectory.safetensors')
STEPS, BATCH, SIZE, T = 20, 12, 16, 1000

torch.manual_seed(20261207)
torch.set_num_threads(1)
model, ema = UNet(1, 8, 3, 4), UNet(1, 8, 3, 4)
ema.load_state_dict(model.state_dict())
init = {k: v.clone() for k, v in model.state_dict().items()}
opt = torch.optim.Adam(model.parameters(), 2e-3)
ab = cosine_alphas_cumprod(T).float()
x0 = torch.rand(STEPS, BATCH, 1, SIZE, SIZE) * 2 - 1
t = torch.randint(0, T, (STEPS, BATCH))
noise = torch.randn(STEPS, BATCH, 1, SIZE, SIZE)
labels = torch.randint(0, 4, (STEPS, BATCH))           # 3 = "no class", a quarter of the time
losses = []
for s in range(STEPS):
    a = ab[t[s]][:, None, None, None]
    opt.zero_grad()
    loss = F.mse_loss(model(x0[s] * a.sqrt() + noise[s] * (1 - a).sqrt(), t[s], labels[s]), noise[s])
    loss.backward()
    opt.step()
    losses.append(loss.item())
    with torch.no_grad():
        for p, e in zip(model.parameters(), ema.parameters()):
            e.mul_(0.995).add_(p, alpha=0.005)

out = {'init.' + k: v for k, v in init.items()}
out.update({'x0': x0, 't': t, 'noise': noise, 'labels': labels, 'losses': torch.tensor(losses)})
out.update({'final.' + k: v for k, v in model.state_dict().items()})
out.update({'ema.' + k: v for k, v in ema.state_dict().items()})
write_safetensors(OUT, out)
print('losses', [round(v, 5) for v in losses])
