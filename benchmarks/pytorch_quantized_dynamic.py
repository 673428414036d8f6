"""PyTorch 1.13's float32 vs dynamic int8 model at the sizes of DeepSharp's examples, for the side-by-side in
docs/compression.md, random weights (the timing does not depend on them), median of ROUNDS calls each, float and int8
alternating after two warm-up rounds:
- mlp:  examples/QuantizeFashion's MLP 784-512-512-10 (ReLU between), batch 64 of inputs in [0, 1], quantize_dynamic(..., {nn.Linear});
- lstm: examples/QuantizeLstm's evaluation size, batch-first (64 windows, 64 steps, 32 inputs) through an LSTM with
  hidden size 128, quantize_dynamic(..., {nn.LSTM}).
Run: /usr/bin/python3 benchmarks/pytorch_quantized_dynamic.py mlp|lstm [ENGINE=onednn] [ROUNDS=50 mlp, 10 lstm] [THREADS=1]
"""
import sys, time
import torch, torch.nn as nn
from torch.ao.quantization import quantize_dynamic

kind = sys.argv[1] if len(sys.argv) > 1 else ''
if kind not in ('mlp', 'lstm'):
    sys.exit('usage: pytorch_quantized_dynamic.py mlp|lstm [ENGINE] [ROUNDS] [THREADS]')
engine = sys.argv[2] if len(sys.argv) > 2 else 'onednn'
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else (50 if kind == 'mlp' else 10)
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
torch.backends.quantized.engine = engine
torch.set_num_threads(threads)
torch.manual_seed(0)


class LstmOutput(nn.Module):
    """The LSTM's output sequence only (quantize_dynamic swaps the nn.LSTM inside)."""
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


if kind == 'mlp':
    m = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).eval()
    q, x, digits = quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8), torch.rand(64, 784), 3
else:
    m = LstmOutput().eval()
    q, x, digits = quantize_dynamic(m, {nn.LSTM}, dtype=torch.qint8), torch.randn(64, 64, 32), 1
tf, tq = [], []
with torch.no_grad():
    for r in range(rounds + 2):
        t0 = time.perf_counter(); m(x); t1 = time.perf_counter(); q(x); t2 = time.perf_counter()
        if r >= 2:
            tf.append((t1 - t0) * 1000); tq.append((t2 - t1) * 1000)
tf.sort(); tq.sort()
name = kind.upper()
print(f'{engine}, {threads} thread(s): float32 {name} {tf[len(tf) // 2]:.{digits}f} ms, dynamic int8 {name} {tq[len(tq) // 2]:.{digits}f} ms '
      f'({tf[len(tf) // 2] / tq[len(tq) // 2]:.2f}x)')
