"""PyTorch twin of `deepsharp train --limit N --epochs E --threads T` (the main job: Fashion CNN on Fashion-MNIST, Adam 1e-3,
cosine decay stepped per batch, batch 128, 10 % validation split, evaluation at the training batch size), for the peak-RSS
and wall-time comparison in docs/cli.md. The network is pytorch_workloads.py's fashion_cnn; the data is Debian's
dataset-fashion-mnist read the way DeepSharp reads it (the whole split as one float32 tensor scaled to [0, 1]).
Usage: /usr/bin/time -v /usr/bin/python3 benchmarks/train_twin.py [--limit 12000] [--epochs 1] [--threads 2]
Prints the validation and test loss/accuracy and, last, this process's peak RSS as the kernel reports it."""
import argparse, gzip, math, resource, struct, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

ap = argparse.ArgumentParser()
ap.add_argument('--limit', type=int, default=0)
ap.add_argument('--epochs', type=int, default=5)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--batch-size', type=int, default=128)
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(42)


def idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack('>' + 'I' * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(prefix, limit):
    x = idx(f'{a.data}/{prefix}-images-idx3-ubyte.gz')
    y = idx(f'{a.data}/{prefix}-labels-idx1-ubyte.gz')
    if limit > 0:
        x, y = x[:limit], y[:limit]
    images = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    return TensorDataset(images, torch.from_numpy(y.astype(np.int64)))


def model():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))


def evaluate(m, loader):
    m.eval()
    loss, right, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            out = m(x)
            loss += F.cross_entropy(out, y, reduction='sum').item()
            right += (out.argmax(1) == y).sum().item()
            n += len(y)
    m.train()
    return loss / n, right / n


started = time.perf_counter()
train_all, test = load('train', a.limit), load('t10k', 0)
val_count = round(len(train_all) * 0.1)
train, val = random_split(train_all, [len(train_all) - val_count, val_count], generator=torch.Generator().manual_seed(42))
loader = DataLoader(train, a.batch_size, shuffle=True)
m = model()
opt = torch.optim.Adam(m.parameters(), 1e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, a.epochs * math.ceil(len(train) / a.batch_size)))
for epoch in range(a.epochs):
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
        sched.step()
    vl, va = evaluate(m, DataLoader(val, a.batch_size))
    print(f'epoch {epoch + 1}: val loss {vl:.4f} val acc {va:.4f}', flush=True)
tl, ta = evaluate(m, DataLoader(test, a.batch_size))
print(f'test loss {tl:.4f} test accuracy: {ta:.4f}')
print(f'wall {time.perf_counter() - started:.1f} s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB')
