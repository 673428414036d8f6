using DeepSharp.NN;
using static DeepSharp.Onnx.OnnxTensors;

namespace DeepSharp.Onnx;

/// <summary>
/// Shape and data-movement ONNX ops: the Shape → Gather → Unsqueeze → Concat → Reshape chains torch.onnx writes for
/// <c>x.view(x.size(0), -1)</c> and for attention heads run on int64 DeepSharp tensors; views (Reshape, Transpose,
/// Squeeze, Unsqueeze, Slice, Expand) and copies (Concat, Split, Pad, Gather, Tile) are DeepSharp ops with gradients.
/// Axes and sizes that come from inputs are read when the node runs; versions that move an attribute to an input
/// (Unsqueeze, Squeeze and Split at opset 13, Slice at 10, Pad at 11) are handled by opset.
/// </summary>
internal static partial class OnnxOps
{
    static void AddShape(Dictionary<string, Func<OnnxNode, OnnxKernel>> f)
    {
        f["Shape"] = ShapeOf;
        f["Size"] = n => Need(n, 1, x => Create(new[] { (long)In(x, 0).NumEl }, []));
        f["Reshape"] = Reshape;
        f["Flatten"] = n =>
        {
            int axis = (int)n.Int("axis", 1);
            return Need(n, 1, x =>
            {
                var t = In(x, 0);
                int a = axis < 0 ? axis + t.Rank : axis;
                return t.Reshape(t.Shape.Take(a).Aggregate(1, (p, d) => p * d), t.Shape.Skip(a).Aggregate(1, (p, d) => p * d));
            });
        };
        f["Transpose"] = n =>
        {
            var perm = n.IntArray("perm", []);
            return Need(n, 1, x => In(x, 0).Permute(perm.Length > 0 ? perm : Enumerable.Range(0, In(x, 0).Rank).Reverse().ToArray()));
        };
        f["Unsqueeze"] = Unsqueeze;
        f["Squeeze"] = Squeeze;
        f["Concat"] = n =>
        {
            int axis = n.Has("axis") ? (int)n.Int("axis", 0) : throw n.Unsupported("the axis attribute is missing");
            return Need(n, 1, x => Tensor.Cat(x.Select(t => t!).ToArray(), axis));
        };
        f["Gather"] = n => { int axis = (int)n.Int("axis", 0); return Need(n, 2, x => Gather(In(x, 0), In(x, 1), axis)); };
        f["Slice"] = Slice;
        f["Split"] = Split;
        f["Expand"] = n => Need(n, 2, x => Expand(In(x, 0), Longs(In(x, 1))));
        f["Tile"] = n => Need(n, 2, x => In(x, 0).Repeat(Longs(In(x, 1)).Select(v => checked((int)v)).ToArray()));
        f["Pad"] = Pad;
        f["Cast"] = n =>
        {
            long to = n.Int("to", 0);
            var dtype = DTypeOf(to) ?? throw n.Unsupported($"casting to element type {to}");
            return Need(n, 1, x => In(x, 0).To(dtype));
        };
        f["ConstantOfShape"] = n =>
        {
            var value = n.TensorAttribute("value") is { } proto ? Read(proto, $"the value of node '{n.Name}'") : Tensor.Zeros(1);
            return Need(n, 1, x => Tensor.Full(Longs(In(x, 0)).Select(v => checked((int)v)).ToArray(), Scalar(value, "ConstantOfShape value"), value.DType));
        };
        f["Range"] = n => Need(n, 3, x => Tensor.Arange(Scalar(In(x, 0), "Range start"), Scalar(In(x, 1), "Range limit"),
            Scalar(In(x, 2), "Range delta"), In(x, 0).DType));
    }

    static OnnxKernel ShapeOf(OnnxNode node)
    {
        long start = node.Int("start", 0), end = node.Int("end", long.MaxValue);
        return Need(node, 1, x =>
        {
            var dims = In(x, 0).Shape.Select(d => (long)d).ToArray();
            int r = dims.Length;
            int s = (int)Math.Clamp(start < 0 ? start + r : start, 0, r), e = (int)Math.Clamp(end < 0 ? end + r : end, 0, r);
            var slice = dims[s..Math.Max(s, e)];
            return Tensor.FromArray(slice, [slice.Length]);
        });
    }

    /// <summary>Reshape: 0 copies the input's dim (unless allowzero), −1 is inferred.</summary>
    static OnnxKernel Reshape(OnnxNode node)
    {
        bool allowZero = node.Int("allowzero", 0) != 0;
        if (node.Opset < 5) throw node.Unsupported("the shape attribute of opsets before 5");
        return Need(node, 2, x =>
        {
            var input = In(x, 0);
            var target = Longs(In(x, 1));
            var shape = new int[target.Length];
            for (int i = 0; i < target.Length; i++)
                shape[i] = target[i] == 0 && !allowZero
                    ? (i < input.Rank ? input.Shape[i] : throw new ArgumentException($"Reshape: a 0 at position {i} copies a dim that input of shape ({string.Join(", ", input.Shape)}) lacks"))
                    : checked((int)target[i]);
            return input.Reshape(shape);
        });
    }

    static long[]? AxesOf(OnnxNode node, Tensor?[] x, int input) =>
        node.Opset >= 13 ? (node.HasInput(input) ? Longs(x[input]!) : null) : node.Ints("axes");

    static OnnxKernel Unsqueeze(OnnxNode node)
    {
        if (node.Opset < 13 && !node.Has("axes")) throw node.Unsupported("the axes attribute is missing");
        return Need(node, node.Opset >= 13 ? 2 : 1, x =>
        {
            var t = In(x, 0);
            int rank = t.Rank + AxesOf(node, x, 1)!.Length;
            foreach (var a in AxesOf(node, x, 1)!.Select(a => (int)(a < 0 ? a + rank : a)).Order()) t = t.Unsqueeze(a);
            return t;
        });
    }

    static OnnxKernel Squeeze(OnnxNode node) => Need(node, 1, x =>
    {
        var t = In(x, 0);
        var axes = AxesOf(node, x, 1);
        if (axes is null || axes.Length == 0) return t.Reshape(t.Shape.Where(d => d != 1).ToArray());
        foreach (var a in axes.Select(a => (int)(a < 0 ? a + t.Rank : a)).OrderDescending())
            t = t.Shape[a] == 1 ? t.Squeeze(a) : throw new ArgumentException($"Squeeze: dim {a} of shape ({string.Join(", ", t.Shape)}) is not 1");
        return t;
    });

    /// <summary>Gather along <paramref name="axis"/>: output shape data[:axis] + indices + data[axis+1:]; negative indices count from the end.</summary>
    static Tensor Gather(Tensor data, Tensor indices, int axis)
    {
        int a = axis < 0 ? axis + data.Rank : axis;
        int size = data.Shape[a];
        var flat = Longs(indices);
        for (int i = 0; i < flat.Length; i++)
        {
            if (flat[i] < -size || flat[i] >= size)
                throw new ArgumentException($"Gather: index {flat[i]} is out of range for dim {a} of size {size} (data shape ({string.Join(", ", data.Shape)}))");
            if (flat[i] < 0) flat[i] += size;
        }
        var picked = data.IndexSelect(a, Tensor.FromArray(flat, [flat.Length]));
        return picked.Reshape([.. data.Shape.Take(a), .. indices.Shape, .. data.Shape.Skip(a + 1)]);
    }

    static OnnxKernel Slice(OnnxNode node)
    {
        bool fromInputs = node.Opset >= 10;
        long[]? attrStarts = node.Ints("starts"), attrEnds = node.Ints("ends"), attrAxes = node.Ints("axes");
        if (!fromInputs && (attrStarts is null || attrEnds is null)) throw node.Unsupported("the starts/ends attributes are missing");
        return Need(node, fromInputs ? 3 : 1, x =>
        {
            var t = In(x, 0);
            var starts = fromInputs ? Longs(In(x, 1)) : attrStarts!;
            var ends = fromInputs ? Longs(In(x, 2)) : attrEnds!;
            var axes = (fromInputs ? (node.HasInput(3) ? Longs(In(x, 3)) : null) : attrAxes) ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            var steps = fromInputs && node.HasInput(4) ? Longs(In(x, 4)) : Enumerable.Repeat(1L, starts.Length).ToArray();
            for (int i = 0; i < starts.Length; i++)
            {
                int axis = (int)(axes[i] < 0 ? axes[i] + t.Rank : axes[i]);
                if (steps[i] <= 0) throw new ArgumentException($"Slice: step {steps[i]} on axis {axis} (only positive steps are supported)");
                t = t.Slice(axis, ClampToInt(starts[i]), ClampToInt(ends[i]), checked((int)steps[i]));
            }
            return t;
        });
    }

    /// <summary>Split into the sizes of input 1 (opset 13+) or the split attribute, else into equal parts, one per output.</summary>
    static OnnxKernel Split(OnnxNode node)
    {
        int axis = (int)node.Int("axis", 0), outputs = node.Proto.Output.Count;
        var attributeSizes = node.Ints("split");
        return (x, _) =>
        {
            var t = x[0] ?? throw new ArgumentException($"Split: node '{node.Name}' has no input");
            int a = axis < 0 ? axis + t.Rank : axis;
            var sizes = (node.Opset >= 13 ? (node.HasInput(1) ? Longs(x[1]!) : null) : attributeSizes)?.Select(v => checked((int)v)).ToArray();
            if (sizes is null)
            {
                int chunk = (t.Shape[a] + outputs - 1) / outputs;   // opset 18's num_outputs: the last part may be smaller
                sizes = Enumerable.Range(0, outputs).Select(i => Math.Max(0, Math.Min(chunk, t.Shape[a] - i * chunk))).ToArray();
            }
            if (sizes.Length != outputs || sizes.Sum() != t.Shape[a])
                throw new ArgumentException($"Split: sizes [{string.Join(", ", sizes)}] do not split dim {a} of size {t.Shape[a]} into {outputs} outputs");
            var result = new Tensor[outputs];
            for (int i = 0, start = 0; i < outputs; start += sizes[i], i++) result[i] = t.Narrow(a, start, sizes[i]);
            return result;
        };
    }

    /// <summary>Expand: numpy broadcasting of the input with the shape (either may have the larger rank or the larger dims).</summary>
    static Tensor Expand(Tensor input, long[] shape)
    {
        int rank = Math.Max(input.Rank, shape.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int a = i - (rank - input.Rank) >= 0 ? input.Shape[i - (rank - input.Rank)] : 1;
            int b = i - (rank - shape.Length) >= 0 ? checked((int)shape[i - (rank - shape.Length)]) : 1;
            result[i] = a == 1 ? b : b == 1 || b == a ? a
                : throw new ArgumentException($"Expand: input of shape ({string.Join(", ", input.Shape)}) does not broadcast to ({string.Join(", ", shape)})");
        }
        return input.Expand(result);
    }

    /// <summary>Pad (constant mode): pads as all begins then all ends over every dim; negative amounts crop.</summary>
    static OnnxKernel Pad(OnnxNode node)
    {
        var mode = node.String("mode", "constant");
        if (mode != "constant") throw node.Unsupported($"mode '{mode}' (only constant padding)");
        if (node.HasInput(3)) throw node.Unsupported("the axes input");
        bool fromInputs = node.Opset >= 11;
        var attributePads = node.Ints("pads");
        float attributeValue = node.Float("value", 0f);
        if (!fromInputs && attributePads is null) throw node.Unsupported("the pads attribute is missing");
        return Need(node, fromInputs ? 2 : 1, x =>
        {
            var pads = (fromInputs ? Longs(In(x, 1)) : attributePads!).Select(v => checked((int)v)).ToArray();
            double value = fromInputs ? (node.HasInput(2) ? Scalar(In(x, 2), "Pad constant_value") : 0) : attributeValue;
            var t = In(x, 0);
            if (pads.Length != 2 * t.Rank) throw new ArgumentException($"Pad: {pads.Length} pads for an input of rank {t.Rank}");
            return F.Pad(t, TorchPad(pads), value);
        });
    }
}
