"""PyTorch 1.13 twins of DeepSharp.Generative's autoencoder, denoising autoencoder, VAE, conditional DCGAN, conditional
WGAN-GP and conditional DDPM, with the recipes of
benchmarks/GenerativeTwin (the DeepSharp side): same architectures and module names, same initialisation rules
(PyTorch's defaults; DCGAN's N(0, 0.02) convolutions and N(1, 0.02) batch norms), same optimizers, batch size, data
subset (the first --train Fashion-MNIST training images, the first --test test images, read from Debian's
dataset-fashion-mnist as DeepSharp reads them: float32 in [0, 1]) and number of epochs. Seeds differ by nature (two
random number generators), so compare ranges over runs, not single numbers.

Usage: /usr/bin/python3 benchmarks/pytorch_generative_twin.py --model ae|dae|vae|dcgan|wgan-gp|ddpm [--train 10000]
           [--test 2000] [--epochs 3] [--samples 500] [--threads 2] [--anomaly-class 1] [--critic-steps 5]
           [--out twin-MODEL.safetensors] [--warmup 3]
Prints 'model', 'steps', 'step_ms' (mean wall time of a training step, data loading included, like the Trainer's),
'steady_ms' (the same mean over the steps after the first --warmup, as GenerativeTwin's steady_ms), 'window_ms' (the
means of consecutive 30-step windows, as GenerativeTwin's),
'roc_auc' for the autoencoders (trained without --anomaly-class, scored by per-image reconstruction MSE on the test
images, that class the positive), 'test_nelbo' for the VAE; the GANs and the DDPM write --samples images in [0, 1] with labels 0, 1, ..., 9, 0, ... to a
safetensors file ("samples" (N, 1, 28, 28) F32, "labels" (N,) I64) that GenerativeTwin scores with DeepSharp's FID code
and classifier, so both sides are measured by the same numbers.
"""
import argparse, gzip, json, math, os, struct, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools', 'golden'))
from generative_unet import UNet, cosine_alphas_cumprod, write_safetensors  # noqa: E402  (the U-Net twin the golden tests hold)

ap = argparse.ArgumentParser()
ap.add_argument('--model', choices=['ae', 'dae', 'vae', 'dcgan', 'wgan-gp', 'ddpm'], required=True)
ap.add_argument('--anomaly-class', type=int, default=1)
ap.add_argument('--critic-steps', type=int, default=5)
ap.add_argument('--masking', type=float, default=0.25)
ap.add_argument('--train', type=int, default=10000)
ap.add_argument('--test', type=int, default=2000)
ap.add_argument('--epochs', type=int, default=3)
ap.add_argument('--batch-size', type=int, default=64)
ap.add_argument('--samples', type=int, default=500)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--warmup', type=int, default=3)
ap.add_argument('--out', default=None)
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)


def idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack('>' + 'I' * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(prefix, limit):
    x = idx(f'{a.data}/{prefix}-images-idx3-ubyte.gz')[:limit]
    y = idx(f'{a.data}/{prefix}-labels-idx1-ubyte.gz')[:limit]
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


# ---- VAE: ConvVae(FashionMnist, latent 16, width 32, Bernoulli), Elbo.Step, Adam 1e-3 ----
class ConvEncoder(nn.Module):
    def __init__(self, outputs, w=32):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.ReLU(), nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ReLU(), nn.Flatten())
        self.head = nn.Linear(2 * w * 7 * 7, outputs)

    def forward(self, x):
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    def __init__(self, latent, w=32):
        super().__init__()
        self.w = w
        self.project = nn.Linear(latent, 2 * w * 7 * 7)
        self.upsample = nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(w, 1, 4, 2, 1))

    def forward(self, z):
        return self.upsample(F.relu(self.project(z)).view(z.shape[0], 2 * self.w, 7, 7))


class ConvVae(nn.Module):
    def __init__(self, latent=16, w=32):
        super().__init__()
        self.latent = latent
        self.encoder, self.decoder = ConvEncoder(2 * latent, w), ConvDecoder(latent, w)

    def encode(self, x):
        stats = self.encoder(x)
        return stats[:, :self.latent], stats[:, self.latent:]

    def forward(self, x):
        mean, logvar = self.encode(x)
        z = mean + (0.5 * logvar).exp() * torch.randn_like(mean) if self.training else mean
        return self.decoder(z), mean, logvar


def vae_terms(raw, x, mean, logvar):   # per example: -log p(x|z) (Bernoulli), KL(q || N(0, I))
    nll = F.binary_cross_entropy_with_logits(raw, x, reduction='none').flatten(1).sum(1)
    kl = -0.5 * (1 + logvar - mean.square() - logvar.exp()).sum(1)
    return nll, kl


# ---- (denoising) autoencoder: ConvAutoencoder(FashionMnist, latent 32, width 32), AutoencoderSteps.Reconstruction, Adam 1e-3 ----
class ConvAutoencoder(nn.Module):
    def __init__(self, latent=32, w=32):
        super().__init__()
        self.encoder, self.decoder = ConvEncoder(latent, w), ConvDecoder(latent, w)

    def forward(self, x):
        return torch.sigmoid(self.decoder(self.encoder(x)))


def roc_auc(scores, positive):   # Mann-Whitney U with tied scores sharing their average rank (AnomalyDetection.RocAuc)
    order = np.argsort(scores, kind='mergesort')
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]: j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    p, n = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - p * (p + 1) / 2) / (p * n))


def run_ae(train_x, train_y, test_x, test_y, masking):
    keep = train_y != a.anomaly_class
    model = ConvAutoencoder()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()

    def step(x, _):   # MSE summed over pixels, averaged over the batch; MaskingNoise zeroes pixels with p = masking
        noisy = x * (torch.rand_like(x) >= masking).float() if masking > 0 else x
        opt.zero_grad()
        (F.mse_loss(model(noisy), x, reduction='sum') / x.shape[0]).backward()
        opt.step()
    steps, ms = train(step, DataLoader(TensorDataset(train_x[keep], train_y[keep]), a.batch_size, shuffle=True))
    model.eval()
    with torch.no_grad():   # AnomalyDetection.ReconstructionScores: per-image mean squared error, batches of 256
        scores = torch.cat([(model(test_x[i:i + 256]) - test_x[i:i + 256]).square().flatten(1).mean(1) for i in range(0, test_x.shape[0], 256)])
    return {'steps': steps, 'step_ms': ms, 'anomaly_class': a.anomaly_class,
            'roc_auc': roc_auc(scores.double().numpy(), (test_y == a.anomaly_class).numpy())}


# ---- conditional DCGAN: Gan.Create(FashionMnist, NonSaturating, latent 64, width 32, 10 classes) ----
class DcganGenerator(nn.Module):
    def __init__(self, nz=64, g=32, classes=10):
        super().__init__()
        self.nz = nz
        self.labelEmbedding = nn.Embedding(classes, nz)
        self.layers = nn.Sequential(nn.ConvTranspose2d(2 * nz, 2 * g, 7, bias=False), nn.BatchNorm2d(2 * g), nn.ReLU(),
                                    nn.ConvTranspose2d(2 * g, g, 4, 2, 1, bias=False), nn.BatchNorm2d(g), nn.ReLU(),
                                    nn.ConvTranspose2d(g, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z, labels):
        return self.layers(torch.cat([z, self.labelEmbedding(labels)], 1).view(z.shape[0], 2 * self.nz, 1, 1))


class DcganDiscriminator(nn.Module):
    def __init__(self, d=32, classes=10, layer_norm=False):   # layer_norm: WGAN-GP's critic (CriticNorm.LayerNorm = GroupNorm(1, C))
        super().__init__()
        self.labelEmbedding = nn.Embedding(classes, 28 * 28)
        self.layers = nn.Sequential(nn.Conv2d(2, d, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                                    nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False),
                                    nn.GroupNorm(1, 2 * d) if layer_norm else nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2),
                                    nn.Conv2d(2 * d, 1, 7, bias=False))

    def forward(self, x, labels):
        plane = self.labelEmbedding(labels).view(x.shape[0], 1, 28, 28)
        return self.layers(torch.cat([x, plane], 1)).flatten()


def dcgan_init(model):   # GanInit.Dcgan: PyTorch's DCGAN example weights_init
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
            if m.bias is not None: nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02); nn.init.zeros_(m.bias)


def class_labels(n):
    return torch.arange(n) % 10


def write_samples(path, images, labels):
    write_safetensors(path, {'samples': images.float(), 'labels': labels.long()})


WARM_STEPS = a.warmup
STEADY = {}


def train(step, loader):
    """Runs `step(x, y)` over --epochs epochs; returns (steps, mean ms per step, data loading included). Records in
    STEADY['steady_ms'] the mean over the steps after the first WARM_STEPS (the clock starts when step WARM_STEPS ends)."""
    steps, start, warm = 0, time.perf_counter(), None
    windows, window_start = [], start
    for _ in range(a.epochs):
        for x, y in loader:
            step(x, y); steps += 1
            if steps == WARM_STEPS:
                warm = time.perf_counter()
            if steps % 30 == 0:
                now = time.perf_counter()
                windows.append('%.1f' % (1000 * (now - window_start) / 30)); window_start = now
    end = time.perf_counter()
    STEADY['window_ms'] = '/'.join(windows)
    if warm is not None and steps > WARM_STEPS:
        STEADY['steady_ms'] = 1000 * (end - warm) / (steps - WARM_STEPS)
    return steps, 1000 * (end - start) / steps


def run_vae(train_x, train_y, test_x):
    model = ConvVae()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()

    def step(x, _):
        opt.zero_grad()
        raw, mean, logvar = model(x)
        nll, kl = vae_terms(raw, x, mean, logvar)
        (nll.mean() + kl.mean()).backward()
        opt.step()
    steps, ms = train(step, DataLoader(TensorDataset(train_x, train_y), a.batch_size, shuffle=True))
    model.eval()
    total = 0.0
    with torch.no_grad():   # Elbo.NegativeElbo: one z sample per image, nats per image
        for i in range(0, test_x.shape[0], 500):
            x = test_x[i:i + 500]
            mean, logvar = model.encode(x)
            z = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
            nll, kl = vae_terms(model.decoder(z), x, mean, logvar)
            total += (nll + kl).double().sum().item()
    return {'steps': steps, 'step_ms': ms, 'test_nelbo': total / test_x.shape[0]}


def train_gan(step, gen, train_x, train_y):
    """Trains a GAN with `step` over --epochs; returns (steps and ms per step, --samples images in [0, 1], their labels)."""
    steps, ms = train(step, DataLoader(TensorDataset(train_x, train_y), a.batch_size, shuffle=True))
    gen.eval()
    labels = class_labels(a.samples)
    with torch.no_grad():
        images = torch.cat([gen(torch.randn(min(250, a.samples - i), 64), labels[i:i + 250]) for i in range(0, a.samples, 250)]) * 0.5 + 0.5
    return {'steps': steps, 'step_ms': ms}, images, labels


def run_dcgan(train_x, train_y):
    gen, disc = DcganGenerator(), DcganDiscriminator()
    dcgan_init(gen); dcgan_init(disc)
    opt_g = torch.optim.Adam(gen.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), 2e-4, betas=(0.5, 0.999))
    gen.train(); disc.train()

    def step(x, labels):   # Gan.Step(NonSaturating, criticSteps 1): one D update, then one G update on the same fakes
        real = x * 2 - 1
        fake = gen(torch.randn(real.shape[0], 64), labels)
        opt_d.zero_grad()
        rs, fs = disc(real, labels), disc(fake.detach(), labels)
        d_loss = F.binary_cross_entropy_with_logits(rs, torch.ones_like(rs)) + F.binary_cross_entropy_with_logits(fs, torch.zeros_like(fs))
        d_loss.backward(); opt_d.step()
        opt_g.zero_grad()
        scores = disc(fake, labels)
        F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores)).backward()
        opt_g.step()
    return train_gan(step, gen, train_x, train_y)


def run_wgan_gp(train_x, train_y):
    gen, disc = DcganGenerator(), DcganDiscriminator(layer_norm=True)
    dcgan_init(gen); dcgan_init(disc)
    opt_g = torch.optim.Adam(gen.parameters(), 1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), 1e-4, betas=(0.5, 0.9))
    gen.train(); disc.train()
    count = [0]

    def step(x, labels):   # Gan.Step(WassersteinGradientPenalty, criticSteps, penalty 10): a critic update every batch,
        real = x * 2 - 1   # a generator update on batches 0, k, 2k, ... (on the same fakes, after the critic's update)
        n = real.shape[0]
        fake = gen(torch.randn(n, 64), labels)
        opt_d.zero_grad()
        rs, fs = disc(real, labels), disc(fake.detach(), labels)
        eps = torch.rand(n, 1, 1, 1)
        points = (real * eps + fake.detach() * (1 - eps)).requires_grad_()
        grad = torch.autograd.grad(disc(points, labels).sum(), points, create_graph=True)[0]
        penalty = ((grad.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()
        (-(rs.mean() - fs.mean()) + 10 * penalty).backward(); opt_d.step()
        if count[0] % a.critic_steps == 0:
            opt_g.zero_grad()
            (-disc(fake, labels).mean()).backward()
            opt_g.step()
        count[0] += 1
    return train_gan(step, gen, train_x, train_y)


def run_ddpm(train_x, train_y):
    T, classes, width, guidance, ddim_steps = 500, 10, 16, 2.0, 25
    model, ema = UNet(1, width, classes, 8), UNet(1, width, classes, 8)
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    ab = cosine_alphas_cumprod(T)
    ab32 = ab.float()
    model.train()

    def step(x, labels):   # Ddpm.Step: eps-prediction MSE, labels dropped to "no class" with p = 0.1; then EMA 0.995
        x0 = x * 2 - 1
        n = x0.shape[0]
        t = torch.randint(0, T, (n,))
        noise = torch.randn_like(x0)
        labels = torch.where(torch.rand(n) < 0.1, torch.full((n,), classes), labels)
        alpha = ab32[t][:, None, None, None]
        opt.zero_grad()
        F.mse_loss(model(x0 * alpha.sqrt() + noise * (1 - alpha).sqrt(), t, labels), noise).backward()
        opt.step()
        with torch.no_grad():
            for s, e in zip(model.parameters(), ema.parameters()):
                e.mul_(0.995).add_(s, alpha=0.005)
    steps, ms = train(step, DataLoader(TensorDataset(train_x, train_y), a.batch_size, shuffle=True))
    ema.eval()
    labels = class_labels(a.samples)
    times = [round(T - i * T / ddim_steps) - 1 for i in range(ddim_steps)]   # Ddpm.DdimTimesteps: trailing spacing
    parts = []
    with torch.no_grad():   # Ddpm.SampleDdim(eta 0) with classifier-free guidance w
        for i in range(0, a.samples, 250):
            lab = labels[i:i + 250]; n = lab.shape[0]
            x = torch.randn(n, 1, 28, 28)
            for j, t in enumerate(times):
                prev = times[j + 1] if j + 1 < len(times) else -1
                a_t, a_prev = ab[t].item(), (ab[prev].item() if prev >= 0 else 1.0)
                tt = torch.full((n,), t)
                eps = ema(x, tt, lab) * (1 + guidance) - ema(x, tt, torch.full((n,), classes)) * guidance
                x0 = ((x - eps * math.sqrt(1 - a_t)) / math.sqrt(a_t)).clamp(-1, 1)
                eps = (x - x0 * math.sqrt(a_t)) / math.sqrt(1 - a_t)   # the noise the clipped x0 implies
                x = x0 * math.sqrt(a_prev) + eps * math.sqrt(max(1 - a_prev, 0))
            parts.append(x.clamp(-1, 1) * 0.5 + 0.5)
    return {'steps': steps, 'step_ms': ms}, torch.cat(parts), labels


train_x, train_y = load('train', a.train)
result = {'model': a.model, 'train': a.train, 'epochs': a.epochs, 'batch': a.batch_size, 'threads': a.threads, 'torch': torch.__version__}
if a.model == 'vae':
    result.update(run_vae(train_x, train_y, load('t10k', a.test)[0]))
elif a.model in ('ae', 'dae'):
    result.update(run_ae(train_x, train_y, *load('t10k', a.test), a.masking if a.model == 'dae' else 0.0))
else:
    stats, images, labels = {'dcgan': run_dcgan, 'wgan-gp': run_wgan_gp, 'ddpm': run_ddpm}[a.model](train_x, train_y)
    result.update(stats)
    out = a.out or f'twin-{a.model}.safetensors'
    write_samples(out, images, labels)
    result['samples'] = out
result.update(STEADY)
print(json.dumps(result))
