"""Reference values for static quantization of a residual, branching CNN (run: /usr/bin/python3 tools/golden/quantized_residual.py).

Writes tests/DeepSharp.Quantization.Tests/Golden/quantized_residual.json with PyTorch 1.13's 'onednn' engine, eager mode:
a stem conv+bn+relu, a BasicBlock (conv+bn+relu, conv+bn, FloatFunctional.add_relu with the block input), a strided
BasicBlock with a conv+bn downsample, a 1x1 conv+relu branch concatenated with FloatFunctional.cat, max-pool,
torch.flatten and a Linear. fuse_modules on every conv+bn(+relu), get_default_qconfig('onednn') (HistogramObserver
activations, per-channel symmetric qint8 weights), prepare, calibrate on fixed batches, convert. Stored: the float state
dict, calibration and test batches, the float output, the quantized output and the scale/zero point of the input, the
two adds, the cat and the classifier.
"""
import json, os
import torch, torch.nn as nn
from torch.ao.quantization import QuantStub, DeQuantStub, fuse_modules, get_default_qconfig, prepare, convert
from torch.ao.nn.quantized import FloatFunctional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Quantization.Tests', 'Golden', 'quantized_residual.json')
torch.backends.quantized.engine = 'onednn'
torch.manual_seed(3)


def arr(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).double().tolist()}


def cbn(cin, cout, k, stride=1, padding=0):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=padding), nn.BatchNorm2d(cout)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.conv0, self.bn0 = cbn(2, 8, 3, padding=1); self.relu0 = nn.ReLU()
        self.conv1, self.bn1 = cbn(8, 8, 3, padding=1); self.relu1 = nn.ReLU()
        self.conv2, self.bn2 = cbn(8, 8, 3, padding=1)
        self.skip1 = FloatFunctional()
        self.down, self.bnd = cbn(8, 12, 1, stride=2)
        self.conv3, self.bn3 = cbn(8, 12, 3, stride=2, padding=1); self.relu3 = nn.ReLU()
        self.conv4, self.bn4 = cbn(12, 12, 3, padding=1)
        self.skip2 = FloatFunctional()
        self.branch = nn.Conv2d(12, 4, 1); self.relu5 = nn.ReLU()
        self.merge = FloatFunctional()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        x = self.quant(x)
        x = self.relu0(self.bn0(self.conv0(x)))
        y = self.relu1(self.bn1(self.conv1(x)))
        x = self.skip1.add_relu(self.bn2(self.conv2(y)), x)
        identity = self.bnd(self.down(x))
        y = self.relu3(self.bn3(self.conv3(x)))
        x = self.skip2.add_relu(self.bn4(self.conv4(y)), identity)
        x = self.merge.cat([x, self.relu5(self.branch(x))], 1)
        x = torch.flatten(self.pool(x), 1)
        return self.dequant(self.fc(x))


net = Net()
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n) * 0.1)
            m.running_var.copy_(torch.rand(n) + 0.5)
            m.weight.copy_(torch.rand(n) + 0.5)
            m.bias.copy_(torch.randn(n) * 0.1)
state = {k: arr(v) for k, v in net.state_dict().items()}
net.eval()
calib = [torch.rand(8, 2, 8, 8) * 2 - 0.5 for _ in range(4)]
test = torch.rand(6, 2, 8, 8) * 2 - 0.5
with torch.no_grad():
    y_float = net(test)
fuse_modules(net, [['conv0', 'bn0', 'relu0'], ['conv1', 'bn1', 'relu1'], ['conv2', 'bn2'], ['down', 'bnd'],
                   ['conv3', 'bn3', 'relu3'], ['conv4', 'bn4'], ['branch', 'relu5']], inplace=True)
net.qconfig = get_default_qconfig('onednn')
prepare(net, inplace=True)
with torch.no_grad():
    for b in calib:
        net(b)
convert(net, inplace=True)
with torch.no_grad():
    y = net(test)
qparams = {'input': [net.quant.scale.item(), net.quant.zero_point.item()]}
for name in ['skip1', 'skip2', 'merge', 'fc']:
    m = getattr(net, name)
    qparams[name] = [float(m.scale), int(m.zero_point)]
case = {'state': state, 'calibration': [arr(b) for b in calib], 'test': arr(test), 'y_float': arr(y_float), 'y': arr(y), 'qparams': qparams}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'engine': torch.backends.quantized.engine, 'cases': {'static_residual': case}}, f, separators=(',', ':'))
print(f'wrote {OUT}')
