"""ONNX files written by PyTorch 1.13's torch.onnx.export, with PyTorch's outputs, for DeepSharp's ONNX import tests
(tests/DeepSharp.Onnx.Tests/ImportTests.cs).

Each case is a small network (a few KB to a few hundred KB of weights, so the files stay small) exported in eval mode
with a dynamic batch axis from a sample of batch 2, then run by PyTorch on an input of batch 3; the input and PyTorch's
output are stored beside the file. Every file also passes onnx.checker (Debian's python3-onnx).

- mlp (opset 13): Linear, ReLU, Dropout, Linear, LogSoftmax -> Gemm, Relu, Gemm, LogSoftmax
- cnn (opset 13): Conv+BatchNorm (folded by the exporter), ReLU, MaxPool, BatchNorm2d (kept), AdaptiveAvgPool(1),
  x.view(x.size(0), -1) (the Shape/Gather/Unsqueeze/Concat/Reshape chain), Linear, Softmax
- resnet (opsets 13 and 17): a torchvision-style ResNet (torchvision's BasicBlock, stem conv 7x7/2 + max pool,
  downsample shortcuts, torch.flatten, fc) with 8-16-32-32 channels
- inception (opset 13): parallel branches joined by torch.cat, AvgPool2d(3, 1, 1), ReLU6 (Clip), a 1x1 conv
- transformer (opsets 17 and 14): nn.TransformerEncoder (batch_first, 2 heads, GELU, 2 layers) + Linear head on the
  mean over time; opset 17 writes LayerNormalization, opset 14 its ReduceMean/Sub/Pow/Sqrt/Div decomposition
- mobilenet_v2 (opset 13): torchvision's mobilenet_v2(width_mult=0.25, num_classes=10): depthwise convs, ReLU6 (Clip)
- vit (opset 14): torchvision's VisionTransformer (16x16 images, 8x8 patches, 1 layer, 2 heads, hidden 16): class token
  Expand + Concat, position embedding, nn.MultiheadAttention, GELU
- lstm (opset 13): a 2-layer bidirectional batch_first nn.LSTM and a Linear on its last step (ONNX LSTM ops)
- gru (opset 13): a 2-layer bidirectional batch_first nn.GRU and a Linear on its last step (ONNX GRU ops with
  linear_before_reset=1, PyTorch's r z n gates reordered to ONNX's z r h by the exporter)
- gru_seq (opset 14): a 1-layer forward batch_first nn.GRU without biases, its whole output sequence
- rnn (opset 13): a 2-layer nn.RNN (tanh) and a 1-layer nn.RNN (relu), batch_first (ONNX RNN ops)
- deconv (opset 13): ConvTranspose2d (stride 2, padding 1, output_padding 1), a grouped dilated ConvTranspose2d,
  ConvTranspose1d on a reshaped view
- upsample_nearest (opset 13): nn.Upsample(scale_factor=2) and F.interpolate(size=(9, 7)) in nearest mode (Resize with
  scales / with sizes built from the input's Shape), nearest on a 1-D signal
- upsample_linear (opset 13): nn.Upsample(scale_factor=2, mode='bilinear') (pytorch_half_pixel), F.interpolate(size=(5, 11),
  mode='bilinear', align_corners=True) (align_corners), F.interpolate(mode='linear') on a 1-D signal
- upsample_opset9 (opset 9): nn.Upsample(scale_factor=2, mode='nearest'), which opset 9 writes as the old Upsample op
- vgg (opset 13): torchvision's VGG forward (features, AdaptiveAvgPool2d((7, 7)), torch.flatten, classifier) with
  torchvision's make_layers on a two-stage config with batch norm, 28x28 inputs (7x7 features, so the pooling is exact)
  and a narrow classifier (torchvision's 4096-wide one would be 400 MB)
- googlenet (opset 13): torchvision's BasicConv2d and Inception blocks, MaxPool2d(ceil_mode=True), the transform_input
  rescaling (Gather, Unsqueeze, Mul, Add, Concat), GlobalAveragePool, Dropout, fc (the full GoogLeNet is 24 MB)
- ops (opset 13): permute (Transpose), matmul with a parameter, elementwise Mul/Sub/Div/Pow/Sqrt/Neg/Exp/Tanh/
  LeakyRelu/Elu, mean (ReduceMean), unsqueeze/squeeze, slicing (Slice), chunk (Split), Where over a comparison

Run with Debian's interpreter: /usr/bin/python3 tools/golden/onnx_import.py
Output (committed): tests/DeepSharp.Onnx.Tests/Fixtures/<case>.onnx and <case>.json
"""
import json, os, warnings
import torch
import torch.nn as nn
import onnx
from torchvision.models import mobilenet_v2
from torchvision.models.resnet import BasicBlock
from torchvision.models.vision_transformer import VisionTransformer
from torchvision.models.vgg import VGG, make_layers
from torchvision.models.googlenet import BasicConv2d, Inception as TvInception

warnings.filterwarnings('ignore')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'tests', 'DeepSharp.Onnx.Tests', 'Fixtures')


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2)
        self.bn2 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.bn2(self.pool(torch.relu(self.bn1(self.conv1(x)))))
        x = self.gap(torch.relu(self.conv2(x)))
        return torch.softmax(self.fc(x.view(x.size(0), -1)), dim=1)


class TinyResNet(nn.Module):
    """torchvision.models.ResNet's forward with BasicBlock stages of 8, 16, 32, 32 channels."""
    def __init__(self, classes=6):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans, inplanes, layers = [8, 16, 32, 32], 8, []
        for i, c in enumerate(chans):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or inplanes != c:
                down = nn.Sequential(nn.Conv2d(inplanes, c, 1, stride, bias=False), nn.BatchNorm2d(c))
            layers.append(nn.Sequential(BasicBlock(inplanes, c, stride, down)))
            inplanes = c
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU6())
        self.b3 = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.Conv2d(3, 2, 1))
        self.head = nn.Conv2d(10, 3, 1)

    def forward(self, x):
        y = torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)
        return self.head(torch.relu(y)).flatten(1)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, activation='gelu', batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.encoder(x).mean(1))


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(self.lstm(x)[0][:, -1])


class Gru(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 6, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(self.gru(x)[0][:, -1])


class GruSeq(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 4, batch_first=True, bias=False)

    def forward(self, x):
        return self.gru(x)[0]


class Rnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.tanh = nn.RNN(5, 6, num_layers=2, batch_first=True)
        self.relu = nn.RNN(6, 4, nonlinearity='relu', batch_first=True)

    def forward(self, x):
        return self.relu(self.tanh(x)[0])[0]


class Deconv(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.grouped = nn.ConvTranspose2d(4, 6, 3, stride=1, padding=2, dilation=2, groups=2, bias=False)
        self.up1d = nn.ConvTranspose1d(6, 2, 4, stride=2, padding=1)

    def forward(self, x):                       # (B, 3, 5, 6)
        y = self.grouped(torch.relu(self.up(x)))  # (B, 6, 10, 12)
        return self.up1d(y.flatten(2))           # (B, 2, 240)


class UpNearest(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.conv = nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x):                       # (B, 2, 4, 5)
        y = self.conv(self.up(x))                # (B, 3, 8, 10)
        z = nn.functional.interpolate(y, size=(9, 7), mode='nearest')
        w = nn.functional.interpolate(z.flatten(2), scale_factor=3, mode='nearest')   # (B, 3, 189)
        return w


class UpLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode='bilinear')
        self.conv = nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x):                       # (B, 2, 4, 5)
        y = self.conv(self.up(x))                # (B, 3, 8, 10)
        z = nn.functional.interpolate(y, size=(5, 11), mode='bilinear', align_corners=True)
        return nn.functional.interpolate(z.flatten(2), scale_factor=1.5, mode='linear')   # (B, 3, 82)


class UpOpset9(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')

    def forward(self, x):
        return self.up(self.conv(x))


class TinyGoogLeNet(nn.Module):
    """torchvision.models.GoogLeNet's forward (transform_input, stem, inception blocks, pooling, fc), two blocks deep."""
    def __init__(self):
        super().__init__()
        self.conv1 = BasicConv2d(3, 8, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = TvInception(8, 4, 4, 8, 2, 4, 4)
        self.inception3b = TvInception(20, 8, 4, 8, 2, 4, 4)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 5) * 0.5)
        self.scale = nn.Parameter(torch.rand(5) + 0.5)

    def forward(self, x):                       # x: (B, 6, 4)
        y = x.permute(0, 2, 1) @ self.w          # (B, 4, 5)
        y = (y * self.scale - 0.25) / 1.5
        a, b = y.chunk(2, dim=1)                 # (B, 2, 5) each
        z = torch.where(a > 0, a.pow(2).add(1).sqrt(), -b.exp())
        z = nn.functional.leaky_relu(z, 0.2) + nn.functional.elu(b) + torch.tanh(a)
        m = z.mean(dim=2, keepdim=True)          # (B, 2, 1)
        z = (z - m)[:, :, 1:4]                   # (B, 2, 3)
        return z.unsqueeze(1).squeeze(1).reshape(z.shape[0], -1)


def enc(t):
    t = t.detach().contiguous()
    return {'shape': list(t.shape), 'data': [float(v) for v in t.reshape(-1).tolist()]}


def export(name, model, item_shape, opset):
    model.eval()
    sample = torch.randn(2, *item_shape)
    path = os.path.join(OUT, name + '.onnx')
    torch.onnx.export(model, sample, path, opset_version=opset, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
    onnx.checker.check_model(onnx.load(path), full_check=True)
    x = torch.randn(3, *item_shape)
    with torch.no_grad():
        y = model(x)
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'opset': opset, 'input': enc(x), 'output': enc(y)}, f, separators=(',', ':'))
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(f'wrote {name}.onnx ({os.path.getsize(path)} bytes, opset {opset}): {" ".join(ops)}')


def warm(model, item_shape):
    """Training-mode batches so batch norm's running statistics are not 0 and 1."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, *item_shape) * 2 + 0.5)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    export('mlp', nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 8), nn.LogSoftmax(1)), [20], 13)
    cnn = Cnn(); warm(cnn, [1, 12, 12])
    export('cnn', cnn, [1, 12, 12], 13)
    resnet = TinyResNet(); warm(resnet, [3, 32, 32])
    export('resnet_opset13', resnet, [3, 32, 32], 13)
    export('resnet_opset17', resnet, [3, 32, 32], 17)
    export('inception', Inception(), [3, 8, 8], 13)
    encoder = Encoder()
    with torch.no_grad():   # the layers start as copies; torch.onnx would share equal initializers between them
        for p in encoder.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    export('transformer_opset17', encoder, [5, 16], 17)
    export('transformer_opset14', encoder, [5, 16], 14)
    export('ops', Ops(), [6, 4], 13)
    mobilenet = mobilenet_v2(width_mult=0.25, num_classes=10); warm(mobilenet, [3, 32, 32])
    export('mobilenet_v2', mobilenet, [3, 32, 32], 13)
    vit = VisionTransformer(image_size=16, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5)
    with torch.no_grad():
        for p in vit.parameters():
            p.add_(torch.randn_like(p) * 0.1)   # zero-initialised head and class token would hide mistakes
    export('vit', vit, [3, 16, 16], 14)
    export('lstm', Lstm(), [7, 5], 13)
    torch.manual_seed(1)   # the cases below were added later; their own seed keeps the files above unchanged
    export('gru', Gru(), [7, 5], 13)
    export('gru_seq', GruSeq(), [6, 5], 14)
    export('rnn', Rnn(), [7, 5], 13)
    export('deconv', Deconv(), [3, 5, 6], 13)
    export('upsample_nearest', UpNearest(), [2, 4, 5], 13)
    export('upsample_linear', UpLinear(), [2, 4, 5], 13)
    export('upsample_opset9', UpOpset9(), [2, 4, 5], 9)
    vgg = VGG(make_layers([8, 'M', 16, 16, 'M'], batch_norm=True), num_classes=10)
    vgg.classifier = nn.Sequential(nn.Linear(16 * 7 * 7, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 10))
    warm(vgg, [3, 28, 28])
    export('vgg', vgg, [3, 28, 28], 13)
    googlenet = TinyGoogLeNet(); warm(googlenet, [3, 32, 32])
    export('googlenet', googlenet, [3, 32, 32], 13)


if __name__ == '__main__':
    main()
