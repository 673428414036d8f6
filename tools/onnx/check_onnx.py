#!/usr/bin/python3
"""Checks ONNX files written by DeepSharp with the reference checker of the onnx package (Debian: python3-onnx).

usage: tools/onnx/check_onnx.py FILE.onnx... | DIR
Runs onnx.checker.check_model with full_check (which also runs strict shape inference) on each file, prints one line
per file (opset, IR version, nodes, initializers, input and output shapes) and exits 1 if any file fails.
To check every model the tests export:
    DEEPSHARP_ONNX_DUMP=/tmp/onnx dotnet test tests/DeepSharp.Onnx.Tests -c Release && tools/onnx/check_onnx.py /tmp/onnx
"""
import glob
import os
import sys

import onnx


def shape(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return "(" + ", ".join(d.dim_param or str(d.dim_value) for d in dims) + ")"


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    opset = ",".join(str(o.version) for o in model.opset_import)
    return (f"ok  {os.path.basename(path)}: opset {opset}, IR {model.ir_version}, {len(graph.node)} nodes, "
            f"{len(graph.initializer)} initializers, {graph.input[0].name} {shape(graph.input[0])} -> "
            f"{graph.output[0].name} {shape(graph.output[0])}")


def main(args):
    if not args:
        print(__doc__)
        return 2
    files = []
    for arg in args:
        files += sorted(glob.glob(os.path.join(arg, "*.onnx"))) if os.path.isdir(arg) else [arg]
    if not files:
        print("no .onnx files found")
        return 1
    failed = 0
    for path in files:
        try:
            print(check(path))
        except Exception as error:  # the checker raises ValidationError / InferenceError with its reason
            failed += 1
            print(f"FAIL {path}: {type(error).__name__}: {error}")
    print(f"onnx {onnx.__version__}: {len(files) - failed} of {len(files)} files pass onnx.checker (full_check)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
