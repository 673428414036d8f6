"""Batch-64 latency of the Fashion CNN in PyTorch 1.13 on CPU: float32 and static int8 (onednn engine, fused, calibrated).

Same architecture as DeepSharp's FashionCnn; the weights are random (latency does not depend on them). Float32 and int8
calls alternate so machine load affects both alike; the median of N rounds is printed.
Run: /usr/bin/python3 benchmarks/pytorch_quantized_cnn.py [rounds]
"""
import sys, time
import torch, torch.nn as nn
from torch.ao.quantization import QuantStub, DeQuantStub, fuse_modules, get_default_qconfig, prepare, convert

torch.backends.quantized.engine = 'onednn'
torch.manual_seed(0)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                                      nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(3136, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))

    def forward(self, x):
        return self.dequant(self.classifier(self.features(self.quant(x))))


fp = Cnn().eval()
q = Cnn().eval()
q.load_state_dict(fp.state_dict())
fuse_modules(q, [['features.0', 'features.1', 'features.2'], ['features.3', 'features.4'], ['features.6', 'features.7', 'features.8'],
                 ['features.9', 'features.10'], ['classifier.1', 'classifier.2']], inplace=True)
q.qconfig = get_default_qconfig('onednn')
prepare(q, inplace=True)
with torch.no_grad():
    for _ in range(8):
        q(torch.rand(64, 1, 28, 28))
convert(q, inplace=True)
x = torch.rand(64, 1, 28, 28)
times = {'float32': [], 'int8': []}
with torch.no_grad():
    for r in range(rounds + 2):
        for name, m in [('float32', fp), ('int8', q)]:
            t = time.perf_counter(); m(x); dt = (time.perf_counter() - t) * 1000
            if r >= 2:
                times[name].append(dt)
med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
print(f"torch {torch.__version__} threads {torch.get_num_threads()}: float32 {med['float32']:.2f} ms, int8 {med['int8']:.2f} ms per batch of 64")
