"""Reference values for quantization-aware training's fake-quant forward (run: /usr/bin/python3 tools/golden/quantized_qat.py).

Writes tests/DeepSharp.Quantization.Tests/Golden/quantized_qat.json with PyTorch 1.13's 'onednn' engine, eager mode:
a small net (conv+bn+relu, conv+bn, FloatFunctional.add_relu, max-pool, flatten, Linear) fused with fuse_modules_qat,
get_default_qat_qconfig('onednn'), prepare_qat; stored: the float state dict, two training-mode batches with the
fake-quant forward output of each (the observers and batch-norm statistics update in between), then an eval-mode
output on a third batch. Case qat_forward uses get_default_qat_qconfig('onednn'); case qat_forward_x86 runs the same
float net and batches under get_default_qat_qconfig('x86') (7-bit activations, per-channel symmetric weights: the
qconfig DeepSharp's QuantBackend.X86 follows); fake quantization needs no quantized engine, so Debian's build (no fbgemm)
can run it.
"""
import copy
import json, os
import torch, torch.nn as nn
from torch.ao.quantization import QuantStub, DeQuantStub, fuse_modules_qat, get_default_qat_qconfig, prepare_qat
from torch.ao.nn.quantized import FloatFunctional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Quantization.Tests', 'Golden', 'quantized_qat.json')
torch.backends.quantized.engine = 'onednn'
torch.manual_seed(4)


def arr(t):
    t = torch.as_tensor(t).detach()
    return {'shape': list(t.shape), 'data': t.reshape(-1).double().tolist()}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.conv0, self.bn0, self.relu0 = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()
        self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.skip = FloatFunctional()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        x = self.quant(x)
        x = self.relu0(self.bn0(self.conv0(x)))
        x = self.skip.add_relu(self.bn1(self.conv1(x)), x)
        return self.dequant(self.fc(torch.flatten(self.pool(x), 1)))


net = Net()
with torch.no_grad():
    for m in [net.bn0, net.bn1]:
        m.running_mean.copy_(torch.randn(4) * 0.1)
        m.running_var.copy_(torch.rand(4) + 0.5)
        m.weight.copy_(torch.rand(4) + 0.5)
        m.bias.copy_(torch.randn(4) * 0.1)
state = {k: arr(v) for k, v in net.state_dict().items()}
float_net = copy.deepcopy(net)


def prepare(net, qconfig):
    net.train()
    fuse_modules_qat(net, [['conv0', 'bn0', 'relu0'], ['conv1', 'bn1']], inplace=True)
    net.qconfig = get_default_qat_qconfig(qconfig)
    prepare_qat(net, inplace=True)


def forward_case(net, batches):
    """Two training-mode batches (observers and batch-norm statistics move), then an eval-mode one."""
    outs = []
    with torch.no_grad():
        outs.append(net(batches[0]))
        outs.append(net(batches[1]))
        net.eval()
        outs.append(net(batches[2]))
    return {'state': state, 'x': [arr(b) for b in batches], 'y': [arr(o) for o in outs],
            'fc_scale': float(net.fc.activation_post_process.scale)}


# the batches are drawn after prepare_qat as before (prepare draws nothing), so the onednn case keeps its values
prepare(net, 'onednn')
batches = [torch.rand(8, 1, 8, 8) * 2 - 0.5 for _ in range(3)]
case = forward_case(net, batches)
prepare(float_net, 'x86')
case_x86 = forward_case(float_net, batches)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'engine': torch.backends.quantized.engine,
               'cases': {'qat_forward': case, 'qat_forward_x86': case_x86}}, f, separators=(',', ':'))
print(f'wrote {OUT}')
