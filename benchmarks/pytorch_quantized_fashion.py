"""PyTorch 1.13 side of the quantized Fashion CNN comparison, with DeepSharp's own weights and calibration images.

Loads the float FashionCnn that examples/QuantizeFashion trained (a safetensors file, read here without the safetensors
package), quantizes it statically (fuse, prepare, calibrate on the first N training images in batches of 64, convert) with
the given engine's default qconfig, and prints test accuracy on the first T test images and the median batch-64 latency of
float32 and int8, the two taking turns.
Run: /usr/bin/python3 benchmarks/pytorch_quantized_fashion.py runs/quantize/float.safetensors [onednn|qnnpack] (Debian's 1.13 build has no fbgemm) [calib] [test] [rounds] [threads]
"""
import gzip, json, struct, sys, time
import numpy as np
import torch, torch.nn as nn
from torch.ao.quantization import QuantStub, DeQuantStub, fuse_modules, get_default_qconfig, prepare, convert

path = sys.argv[1]
engine = sys.argv[2] if len(sys.argv) > 2 else 'onednn'
calib, ntest, rounds = (int(a) for a in (sys.argv[3:6] + ['512', '2000', '10'][len(sys.argv[3:6]):]))
torch.backends.quantized.engine = engine
if len(sys.argv) > 6:
    torch.set_num_threads(int(sys.argv[6]))


def load_safetensors(file):
    raw = open(file, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    dtypes = {'F32': np.float32, 'I64': np.int64}
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtypes[info['dtype']]).reshape(info['shape']).copy())
    return out


def idx(file):
    data = gzip.open(file).read()
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


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


root = '/usr/share/datasets/fashion-mnist/'
train = torch.from_numpy(idx(root + 'train-images-idx3-ubyte.gz')[:calib].astype(np.float32) / 255).unsqueeze(1)
test = torch.from_numpy(idx(root + 't10k-images-idx3-ubyte.gz')[:ntest].astype(np.float32) / 255).unsqueeze(1)
labels = torch.from_numpy(idx(root + 't10k-labels-idx1-ubyte.gz')[:ntest].astype(np.int64))

state = load_safetensors(path)
fp = Cnn().eval()
missing = fp.load_state_dict(state, strict=False)
assert not missing.missing_keys, missing
q = Cnn().eval()
q.load_state_dict(fp.state_dict())
fuse_modules(q, [['features.0', 'features.1', 'features.2'], ['features.3', 'features.4'], ['features.6', 'features.7', 'features.8'],
                 ['features.9', 'features.10'], ['classifier.1', 'classifier.2']], inplace=True)
q.qconfig = get_default_qconfig(engine)
prepare(q, inplace=True)
with torch.no_grad():
    for i in range(0, calib, 64):
        q(train[i:i + 64])
convert(q, inplace=True)

with torch.no_grad():
    acc = {name: (torch.cat([m(test[i:i + 256]).argmax(1) for i in range(0, ntest, 256)]) == labels).double().mean().item()
           for name, m in [('float32', fp), ('int8', q)]}
    x = test[:64]
    times = {'float32': [], 'int8': []}
    for r in range(rounds + 2):
        for name, m in [('float32', fp), ('int8', q)]:
            t = time.perf_counter(); m(x); dt = (time.perf_counter() - t) * 1000
            if r >= 2:
                times[name].append(dt)
med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
print(f"torch {torch.__version__} {engine} threads {torch.get_num_threads()}: accuracy float32 {acc['float32']:.2%} int8 {acc['int8']:.2%}; "
      f"batch-64 median float32 {med['float32']:.2f} ms, int8 {med['int8']:.2f} ms")
