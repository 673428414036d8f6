"""Writes the ResNet-18 and MobileNetV2 that benchmarks/InferenceTiming times: torchvision 0.14 architectures with seeded
random weights and random batch-norm running statistics (so folding them is not a no-op), as a .pth state dict that
DeepSharp loads (ModelZoo.LoadWeights) and an .onnx from torch.onnx.export (opset 17, dynamic batch) that ONNX Runtime
runs: the same weights on both sides. Also writes each model's eval output on a fixed input, which the program checks.
Run with Debian's interpreter: /usr/bin/python3 benchmarks/InferenceTiming/export_torch.py OUTDIR
"""
import os, sys
import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else 'inference-models'
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
for name, ctor in [('resnet18', torchvision.models.resnet18), ('mobilenet_v2', torchvision.models.mobilenet_v2)]:
    model = ctor()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5); m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 1.5)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out, name + '.pth'))
    x = torch.linspace(-1, 1, 3 * 224 * 224).reshape(1, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    with open(os.path.join(out, name + '.expected.txt'), 'w') as f:
        f.write(' '.join(repr(float(v)) for v in y.reshape(-1)[:10]))
    torch.onnx.export(model, x, os.path.join(out, name + '.onnx'), opset_version=17, input_names=['input'],
                      output_names=['output'], dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
    print('wrote', name)
