"""PyTorch 1.13's float32 vs dynamic int8 LSTM at examples/QuantizeLstm's evaluation size, for the side-by-side in
docs/compression.md: batch-first (64 windows, 64 steps, 32 inputs) through an LSTM with hidden size 128 (random weights:
the timing does not depend on them), quantize_dynamic(..., {nn.LSTM}), median of ROUNDS calls each, float and int8
alternating.
Run: /usr/bin/python3 benchmarks/pytorch_quantized_lstm.py [ENGINE=onednn] [ROUNDS=10] [THREADS=1]
"""
import sys, time
import torch, torch.nn as nn
from torch.ao.quantization import quantize_dynamic

engine = sys.argv[1] if len(sys.argv) > 1 else 'onednn'
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.backends.quantized.engine = engine
torch.set_num_threads(threads)
torch.manual_seed(0)


class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


m = Holder().eval()
q = quantize_dynamic(m, {nn.LSTM}, dtype=torch.qint8)
x = torch.randn(64, 64, 32)
tf, tq = [], []
with torch.no_grad():
    for _ in range(rounds):
        t0 = time.perf_counter(); m(x); tf.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter(); q(x); tq.append((time.perf_counter() - t0) * 1000)
tf.sort(); tq.sort()
print(f'{engine}, {threads} thread(s): float32 LSTM {tf[len(tf) // 2]:.1f} ms, dynamic int8 LSTM {tq[len(tq) // 2]:.1f} ms '
      f'({tf[len(tf) // 2] / tq[len(tq) // 2]:.2f}x)')
