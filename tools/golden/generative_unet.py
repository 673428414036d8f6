"""A PyTorch 1.13 twin of DeepSharp.Generative.Diffusion.UNet (same module names, so the same state-dict keys) and the
reference values of one forward pass, the DDPM epsilon loss with its gradients, and one DDIM step.

Called by tools/golden/generative.py (`unet_case(out)` adds the 'unet' entry to generative.json); the fixed weights
go to tests/DeepSharp.Generative.Tests/Golden/unet.safetensors, written by hand (the `safetensors` package is not
installed here): an 8-byte little-endian header length, the JSON header padded with spaces to a multiple of 8, then
each tensor's little-endian float32 bytes.

The model: UNet(ImageShape(1, 12), channels=8, numClasses=3, groups=4) -- a 12-pixel side so that the middle runs at
3x3, an odd size as Fashion-MNIST's 7x7. Every weight (GroupNorm's affine too) is random, so a swapped or ignored
parameter shows.
"""
import json, math, os, struct
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = os.path.join(ROOT, 'tests', 'DeepSharp.Generative.Tests', 'Golden', 'unet.safetensors')


def sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000) / (half - 1)))
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], 1)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.timeProjection = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(min(groups, cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.timeProjection(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.shortcut(x) if self.shortcut is not None else x)


class SpatialSelfAttention(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm = nn.GroupNorm(min(groups, c), c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.output = nn.Conv2d(c, c, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).permute(1, 0, 3, 2)   # each (N, HW, C)
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), -1)
        return x + self.output((weights @ v).transpose(1, 2).reshape(n, c, h, w))


class UNet(nn.Module):
    def __init__(self, in_ch, c, classes, groups):
        super().__init__()
        self.c, self.classes = c, classes
        tdim = 4 * c
        self.time1 = nn.Linear(c, tdim); self.time2 = nn.Linear(tdim, tdim)
        self.classEmbedding = nn.Embedding(classes + 1, tdim)
        self.input = nn.Conv2d(in_ch, c, 3, padding=1)
        self.down0 = ResidualBlock(c, c, tdim, groups)
        self.downsample0 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.down1 = ResidualBlock(c, 2 * c, tdim, groups)
        self.downsample1 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.middle0 = ResidualBlock(2 * c, 2 * c, tdim, groups)
        self.attention = SpatialSelfAttention(2 * c, groups)
        self.middle1 = ResidualBlock(2 * c, 2 * c, tdim, groups)
        self.upsample1 = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.up1 = ResidualBlock(4 * c, 2 * c, tdim, groups)
        self.upsample0 = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.up0 = ResidualBlock(3 * c, c, tdim, groups)
        self.outNorm = nn.GroupNorm(min(groups, c), c)
        self.outConv = nn.Conv2d(c, in_ch, 3, padding=1)

    def forward(self, x, t, labels):
        temb = self.time2(F.silu(self.time1(sinusoidal(t, self.c)))) + self.classEmbedding(labels)
        h0 = self.down0(self.input(x), temb)
        h1 = self.down1(self.downsample0(h0), temb)
        h = self.middle1(self.attention(self.middle0(self.downsample1(h1), temb)), temb)
        h = self.up1(torch.cat([self.upsample1(F.interpolate(h, scale_factor=2.0)), h1], 1), temb)
        h = self.up0(torch.cat([self.upsample0(F.interpolate(h, scale_factor=2.0)), h0], 1), temb)
        return self.outConv(F.silu(self.outNorm(h)))


def cosine_alphas_cumprod(t, s=0.008):
    x = torch.linspace(0, t, t + 1, dtype=torch.float64)
    f = torch.cos(((x / t) + s) / (1 + s) * math.pi * 0.5) ** 2
    ac = f / f[0]
    betas = torch.clip(1 - (ac[1:] / ac[:-1]), 0, 0.999)
    return torch.cumprod(1 - betas, 0)


def write_safetensors(path, state):
    """Writes name -> tensor as safetensors: int64 tensors as I64, every other tensor as F32."""
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        dtype, code = ('<i8', 'I64') if tensor.dtype == torch.int64 else ('<f4', 'F32')
        raw = tensor.detach().contiguous().numpy().astype(dtype).tobytes()
        header[name] = {'dtype': code, 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw); offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as fh:
        fh.write(struct.pack('<Q', len(text))); fh.write(text)
        for b in blobs: fh.write(b)


def arr(t):
    t = t.detach().double()
    return {'shape': list(t.shape), 'data': t.reshape(-1).tolist()}


def unet_case(out):
    torch.manual_seed(14)
    model = UNet(1, 8, 3, 4)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    write_safetensors(WEIGHTS, model.state_dict())

    x = torch.randn(3, 1, 12, 12)
    t = torch.tensor([0, 417, 999])
    labels = torch.tensor([2, 0, 3])                       # 3 = "no class"
    eps = model(x, t, labels)

    # DDPM loss at fixed noise and timesteps: mse(eps_hat(sqrt(ab) x0 + sqrt(1 - ab) noise, t), noise)
    ab = cosine_alphas_cumprod(1000)
    x0 = torch.rand(3, 1, 12, 12) * 2 - 1
    noise = torch.randn(3, 1, 12, 12)
    a = ab[t].float()[:, None, None, None]
    xt = (x0 * a.sqrt() + noise * (1 - a).sqrt()).requires_grad_(True)
    model.zero_grad()
    loss = F.mse_loss(model(xt, t, labels), noise)
    loss.backward()
    grads = {k: arr(p.grad) for k, p in model.named_parameters()
             if k in ('input.weight', 'classEmbedding.weight', 'time1.weight', 'attention.qkv.weight', 'down0.norm1.weight', 'up1.shortcut.bias', 'outConv.weight')}

    # one DDIM step (eta 0) from t = 600 to 400 with classifier-free guidance w = 2 on labels (1, 0, 2), x0 clipped and eps recomputed
    with torch.no_grad():
        xs = torch.randn(3, 1, 12, 12)
        cond = torch.tensor([1, 0, 2]); w = 2.0
        steps = torch.full((3,), 600)
        e = model(xs, steps, cond) * (1 + w) - model(xs, steps, torch.full((3,), 3)) * w
        a_t, a_prev = ab[600].item(), ab[400].item()
        pred_x0 = ((xs - e * math.sqrt(1 - a_t)) / math.sqrt(a_t)).clamp(-1, 1)
        e = (xs - pred_x0 * math.sqrt(a_t)) / math.sqrt(1 - a_t)   # the noise the clipped x0 implies (use_clipped_model_output)
        x_prev = pred_x0 * math.sqrt(a_prev) + e * math.sqrt(1 - a_prev)

    out['unet'] = {'x': arr(x), 't': t.tolist(), 'labels': labels.tolist(), 'eps': arr(eps),
                   'x0': arr(x0), 'noise': arr(noise), 'loss': loss.item(), 'grad_xt': arr(xt.grad), 'grads': grads,
                   'ddim_x': arr(xs), 'ddim_labels': cond.tolist(), 'ddim_guidance': w, 'ddim_from': 600, 'ddim_to': 400,
                   'ddim_out': arr(x_prev)}
