"""PyTorch 1.13's float32 vs dynamic int8 MLP at examples/QuantizeFashion's MLP size: 784-512-512-10 (ReLU between),
random weights, batch 64 of random inputs in [0, 1], quantize_dynamic(..., {nn.Linear}), median of ROUNDS calls each,
float and int8 alternating.
Run: /usr/bin/python3 benchmarks/pytorch_quantized_mlp.py [ENGINE=onednn] [ROUNDS=50] [THREADS=1]
"""
import sys, time
import torch, torch.nn as nn
from torch.ao.quantization import quantize_dynamic

engine = sys.argv[1] if len(sys.argv) > 1 else 'onednn'
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.backends.quantized.engine = engine
torch.set_num_threads(threads)
torch.manual_seed(0)
m = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).eval()
q = quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8)
x = torch.rand(64, 784)
tf, tq = [], []
with torch.no_grad():
    for r in range(rounds + 2):
        t0 = time.perf_counter(); m(x); t1 = time.perf_counter(); q(x); t2 = time.perf_counter()
        if r >= 2:
            tf.append((t1 - t0) * 1000); tq.append((t2 - t1) * 1000)
tf.sort(); tq.sort()
print(f'{engine}, {threads} thread(s): float32 MLP {tf[len(tf) // 2]:.3f} ms, dynamic int8 MLP {tq[len(tq) // 2]:.3f} ms '
      f'({tf[len(tf) // 2] / tq[len(tq) // 2]:.2f}x)')
