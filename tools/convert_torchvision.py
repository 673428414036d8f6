#!/usr/bin/env python3
"""Converts torchvision model weights to a safetensors file that DeepSharp's model zoo loads strictly.

DeepSharp's zoo models (src/DeepSharp.Vision/Models) use torchvision's state-dict names and shapes, so the conversion
is a validated copy: the weights are loaded strictly into the torchvision architecture (which catches a wrong
architecture or option), missing BatchNorm num_batches_tracked buffers of old checkpoints are added (as PyTorch itself
does when loading them), a DataParallel "module." prefix is stripped, and every tensor of the model's state dict is
written in state-dict order. The safetensors file is laid out by hand (8-byte little-endian header length, JSON header
padded to a multiple of 8, raw little-endian data), so the `safetensors` package is not needed.

Examples (Debian's interpreter has torch 1.13 and torchvision 0.14):
  /usr/bin/python3 tools/convert_torchvision.py resnet18 --weights resnet18-f37072fd.pth -o resnet18.safetensors
  /usr/bin/python3 tools/convert_torchvision.py resnet50 --pretrained IMAGENET1K_V2 -o resnet50.safetensors   # downloads
  /usr/bin/python3 tools/convert_torchvision.py mobilenet_v2 --width-mult 0.5 --num-classes 10 --random 0 -o m.safetensors
  /usr/bin/python3 tools/convert_torchvision.py vit_b_16 --weights vit_b_16-c867db91.pth -o vit_b_16.safetensors
Then in C#:
  var model = ModelZoo.Create("resnet18", numClasses: 1000);
  ModelZoo.LoadWeights(model, "resnet18.safetensors");          // strict: every key and shape must match
"""
import argparse, json, os, struct, sys
import numpy as np
import torch
import torchvision.models as M

SAFETENSORS_DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.int64: 'I64', torch.int32: 'I32',
                      torch.uint8: 'U8', torch.bool: 'BOOL'}
CLASSIFIER_KEYS = ['fc.weight', 'classifier.6.weight', 'classifier.1.weight', 'heads.head.weight']


def read_state_dict(path):
    """A state dict from a .pth/.pt file: a plain state dict, a checkpoint holding one under 'state_dict'/'model', or a module."""
    obj = torch.load(path, map_location='cpu')
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ('state_dict', 'model', 'model_state_dict'):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise SystemExit(f'{path}: no state dict found (got {type(obj).__name__})')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def infer_num_classes(sd):
    for key in CLASSIFIER_KEYS:
        if key in sd:
            return sd[key].shape[0]
    raise SystemExit('cannot infer the number of classes; pass --num-classes')


def build(arch, num_classes, width_mult=None, aux_logits=None, image_size=None):
    kwargs = {'num_classes': num_classes}
    if image_size is not None:
        kwargs['image_size'] = image_size
    if width_mult is not None:
        kwargs['width_mult'] = width_mult
    if arch == 'googlenet':
        kwargs['init_weights'] = True
        kwargs['aux_logits'] = True if aux_logits is None else aux_logits
    return M.get_model(arch, **kwargs)


def add_missing_batch_counts(sd, model):
    """Old checkpoints predate num_batches_tracked; PyTorch's BatchNorm loads them with a zero count, and so do we."""
    expected = model.state_dict()
    for key, value in expected.items():
        if key.endswith('num_batches_tracked') and key not in sd:
            sd[key] = torch.zeros_like(value)
    return sd


def infer_image_size(sd):
    """A Vision Transformer's image size from its position embedding: (size / patch)² + 1 tokens."""
    patch = sd['conv_proj.weight'].shape[-1]
    grid = int(round((sd['encoder.pos_embedding'].shape[1] - 1) ** 0.5))
    return grid * patch


def convert(arch, sd, num_classes=None, width_mult=None, aux_logits=None):
    """Validates `sd` against torchvision's `arch` and returns the model's full state dict, in order."""
    if arch == 'googlenet' and aux_logits is None:
        aux_logits = any(k.startswith('aux1.') for k in sd)
    num_classes = num_classes or infer_num_classes(sd)
    # ViT weights fix the image size (the SWAG weights: 384 or 512); build the model to match
    image_size = infer_image_size(sd) if arch.startswith('vit_') else None
    model = build(arch, num_classes, width_mult, aux_logits, image_size)
    sd = add_missing_batch_counts(dict(sd), model)
    model.load_state_dict(sd, strict=True)
    return model.state_dict(), num_classes


def write_safetensors(path, sd, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    for key, t in sd.items():
        t = t.detach().contiguous().cpu()
        if t.dtype not in SAFETENSORS_DTYPES:
            raise SystemExit(f'{key}: dtype {t.dtype} has no safetensors code here')
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[key] = {'dtype': SAFETENSORS_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('arch', help='torchvision builder name: resnet18, vgg16_bn, googlenet, mobilenet_v2, alexnet, ...')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--weights', help='a .pth/.pt file holding the state dict (or a checkpoint / pickled module)')
    src.add_argument('--pretrained', metavar='NAME', help="torchvision weights enum name, e.g. IMAGENET1K_V1 or DEFAULT (downloads)")
    src.add_argument('--random', type=int, metavar='SEED', help="torchvision's own initialisation under torch.manual_seed(SEED)")
    p.add_argument('--num-classes', type=int, help='classes of the classifier (inferred from the weights when omitted)')
    p.add_argument('--width-mult', type=float, help='MobileNetV2 width multiplier')
    p.add_argument('--no-aux-logits', action='store_true', help='GoogLeNet: drop the auxiliary classifiers')
    p.add_argument('-o', '--output', required=True, help='the .safetensors file to write')
    args = p.parse_args(argv)

    aux = False if args.no_aux_logits else None
    if args.weights:
        sd, source = read_state_dict(args.weights), os.path.basename(args.weights)
    elif args.pretrained:
        weights = M.get_model_weights(args.arch)[args.pretrained] if args.pretrained != 'DEFAULT' else M.get_model_weights(args.arch).DEFAULT
        sd, source = weights.get_state_dict(progress=True), str(weights)
    else:
        torch.manual_seed(args.random)
        sd = build(args.arch, args.num_classes or 1000, args.width_mult, aux).state_dict()
        source = f'torchvision init, seed {args.random}'
    if aux is False:
        sd = {k: v for k, v in sd.items() if not k.startswith(('aux1.', 'aux2.'))}
    out, num_classes = convert(args.arch, sd, args.num_classes, args.width_mult, aux)
    write_safetensors(args.output, out, {'format': 'pt', 'arch': args.arch, 'num_classes': num_classes, 'source': source})
    n = sum(v.numel() for k, v in out.items() if v.is_floating_point())
    print(f'wrote {args.output}: {len(out)} tensors, {n} values, {num_classes} classes ({args.arch}, from {source})')


if __name__ == '__main__':
    main()
