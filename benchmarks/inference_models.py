"""The inference side of `deepsharp bench --inference` (issue #12): five models with random but seeded weights (no downloads),
written for DeepSharp (safetensors, torchvision state-dict names) and for ONNX Runtime (torch.onnx.export), with one seeded
input and PyTorch's output per model, then timed in PyTorch eager (eval, no_grad) at each thread count.

  resnet18_b1     torchvision.models.resnet18(), 1x3x224x224
  resnet18_b16    the same weights, 16x3x224x224
  mobilenet_v2_b1 torchvision.models.mobilenet_v2(), 1x3x224x224
  transformer_b8  nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024, dropout=0.0,
                  batch_first=True), num_layers=4): post-norm, ReLU (torch's defaults besides nhead/ffn/dropout/batch_first),
                  no mask, 8x128x256
  mlp_b1          Linear(784,512)-ReLU-Linear(512,256)-ReLU-Linear(256,10), 1x784 (pytorch_workloads.py's single-sample MLP)

Usage: /usr/bin/python3 benchmarks/inference_models.py OUT_DIR [--threads 1,2] [--reps N] [--json]
Writes OUT_DIR/{name}.safetensors, OUT_DIR/{name}.onnx (input "input", output "output"), OUT_DIR/io.safetensors
({name}.input, {name}.output) and prints per model the best over thread counts of the median time in ms; with --json the
last line is {"name": {"ms": .., "threads": ..}, ...}. Timing: median of --reps runs (default 10; 3 for batch 16) after
at least 1 s and 2 runs of warm-up, as the .NET side does."""
import json, os, statistics, struct, sys, time
import torch, torch.nn as nn, torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools', 'golden'))
from generative_unet import write_safetensors  # noqa: E402  (float32/int64 safetensors, DeepSharp's StateDictFile reads it)

args = [a for a in sys.argv[1:] if not a.startswith('--')]
opts = dict(zip(sys.argv[1:], sys.argv[2:]))
out_dir = args[0] if args else 'benchmarks/.inference'
threads = [int(t) for t in opts.get('--threads', '1,2').split(',')]
reps = int(opts['--reps']) if '--reps' in opts else None
as_json = '--json' in sys.argv
os.makedirs(out_dir, exist_ok=True)


def randomize_bn(m, g):
    # torchvision initialises BatchNorm to the identity; random running statistics make the folded/unfolded paths differ
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
    return m


def models():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    resnet = randomize_bn(torchvision.models.resnet18(), g).eval()
    mobilenet = randomize_bn(torchvision.models.mobilenet_v2(), g).eval()
    layer = nn.TransformerEncoderLayer(256, 8, 1024, dropout=0.0, batch_first=True)
    transformer = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False).eval()
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
    return [('resnet18_b1', 'resnet18', resnet, (1, 3, 224, 224)), ('resnet18_b16', 'resnet18', resnet, (16, 3, 224, 224)),
            ('mobilenet_v2_b1', 'mobilenet_v2', mobilenet, (1, 3, 224, 224)), ('transformer_b8', 'transformer', transformer, (8, 128, 256)),
            ('mlp_b1', 'mlp', mlp, (1, 784))]


def timeit(fn, reps):
    start, i = time.perf_counter(), 0
    while i < 2 or time.perf_counter() - start < 1.0:
        fn(); i += 1
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


if __name__ == '__main__':
    io, written, results = {}, set(), {}
    g = torch.Generator().manual_seed(2)
    for name, weights, model, shape in models():
        x = torch.randn(*shape, generator=g)
        with torch.no_grad():
            y = model(x)
        io[f'{name}.input'] = x; io[f'{name}.output'] = y
        onnx_path = os.path.join(out_dir, f'{name}.onnx')
        if weights not in written:
            write_safetensors(os.path.join(out_dir, f'{weights}.safetensors'), model.state_dict())
            written.add(weights)
        torch.onnx.export(model, x, onnx_path, input_names=['input'], output_names=['output'], opset_version=17)
        for t in threads:
            torch.set_num_threads(t)

            def run():
                with torch.no_grad():
                    model(x)
            ms = timeit(run, reps or (3 if shape[0] >= 16 else 10))
            if name not in results or ms < results[name]['ms']:
                results[name] = {'ms': round(ms, 4), 'threads': t}
        if not as_json:
            print(f'pytorch {name:16} {results[name]["ms"]:9.3f} ms ({results[name]["threads"]} threads)', flush=True)
    write_safetensors(os.path.join(out_dir, 'io.safetensors'), io)
    if as_json:
        print(json.dumps(results))
