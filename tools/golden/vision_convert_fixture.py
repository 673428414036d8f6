"""Fixture for the loading side of tools/convert_torchvision.py: a small torchvision model (MobileNetV2, width 0.1,
10 classes, torchvision's own initialisation under seed 0, with BN statistics made non-trivial) saved as a .pth the way
old checkpoints look (a DataParallel "module." prefix, no num_batches_tracked), converted by the script, plus the
float64 logits torchvision computes for the formula input of vision_fill.py.

Run with Debian's interpreter: /usr/bin/python3 tools/golden/vision_convert_fixture.py
Outputs (committed, ~900 KB): tests/DeepSharp.Vision.Tests/Golden/mobilenet_v2_w01.safetensors, mobilenet_v2_w01.pth (the
old-style checkpoint itself) and mobilenet_v2_w01.json
"""
import json, os, sys, tempfile, warnings
import torch
import torchvision.models as M

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from vision_fill import input_tensor  # noqa: E402
import convert_torchvision  # noqa: E402

warnings.filterwarnings('ignore')
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Vision.Tests', 'Golden')


def main():
    torch.manual_seed(0)
    model = M.mobilenet_v2(num_classes=10, width_mult=0.1)
    with torch.no_grad():   # fresh BN statistics are 0/1; give them values so the test sees them loaded
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    old_style = {'module.' + k: v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    pth = os.path.join(OUT, 'mobilenet_v2_w01.pth')       # also read directly by DeepSharp's TorchFile (ModelZoo.LoadWeights)
    torch.save({'epoch': 3, 'state_dict': old_style}, pth)
    target = os.path.join(OUT, 'mobilenet_v2_w01.safetensors')
    convert_torchvision.main(['mobilenet_v2', '--weights', pth, '--width-mult', '0.1', '-o', target])
    shape = [2, 3, 48, 48]
    model = model.double().eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(input_tensor(shape)).double())
    with open(os.path.join(OUT, 'mobilenet_v2_w01.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'arch': 'mobilenet_v2', 'width_mult': 0.1, 'num_classes': 10,
                   'input_shape': shape, 'logits': [float(v) for v in logits.reshape(-1).tolist()]}, f)
    print('logits', logits[0, :4].tolist())


if __name__ == '__main__':
    main()
