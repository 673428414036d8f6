using DeepSharp.NN;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// The ONNX nodes of single layers: each method writes the nodes of one layer reading <c>x</c> and returns its output.
/// Parameters and buffers become initializers named by their state-dict keys ("features.0.weight").
/// The output sample is the layer's own forward on the input sample, so shapes always follow DeepSharp.
/// </summary>
internal sealed partial class OnnxModuleWalker
{
    OnnxValue Out(string name, Module<Tensor, Tensor> layer, OnnxValue x) => new(name, layer.Call(x.Sample));

    string Key(string path, string member) => path.Length == 0 ? member : $"{path}.{member}";

    OnnxValue Linear(Linear layer, string path, OnnxValue x)
    {
        var weight = graph.Initializer(Key(path, "weight"), layer.Weight);
        var bias = layer.Bias is { } b ? graph.Initializer(Key(path, "bias"), b) : null;
        if (x.Sample.Rank == 2)   // y = x·Wᵀ + b in one Gemm (transB = 1), as torch.onnx writes nn.Linear on matrices
        {
            string[] inputs = bias is null ? [x.Name, weight] : [x.Name, weight, bias];
            return Out(graph.Node("Gemm", inputs, Key(path, "gemm"), Attr("transB", 1L)), layer, x);
        }
        var weightT = graph.Node("Transpose", [weight], Key(path, "weight_t"), Attr("perm", 1L, 0L));
        var y = graph.Node("MatMul", [x.Name, weightT], Key(path, "matmul"));
        if (bias is not null) y = graph.Node("Add", [y, bias], Key(path, "add"));
        return Out(y, layer, x);
    }

    OnnxValue Conv(ConvBase conv, string path, OnnxValue x)
    {
        if (conv.Transposed) throw Unsupported(conv, path, "transposed convolutions are not mapped yet");
        var weight = graph.Initializer(Key(path, "weight"), conv.Weight);
        string[] inputs = conv.Bias is { } b ? [x.Name, weight, graph.Initializer(Key(path, "bias"), b)] : [x.Name, weight];
        var pads = conv.Padding.Concat(conv.Padding).Select(p => (long)p).ToArray();   // begins then ends
        var y = graph.Node("Conv", inputs, Key(path, "conv"),
            Attr("kernel_shape", Longs(conv.KernelSize)), Attr("strides", Longs(conv.Stride)), Attr("pads", pads),
            Attr("dilations", Longs(conv.Dilation)), Attr("group", (long)conv.Groups));
        return Out(y, conv, x);
    }

    /// <summary>ConvTranspose2d as ONNX ConvTranspose (the same weight layout (C_in, C_out/groups, kH, kW), output_padding as such).</summary>
    OnnxValue ConvTranspose(ConvTranspose2d conv, string path, OnnxValue x)
    {
        var weight = graph.Initializer(Key(path, "weight"), conv.Weight);
        string[] inputs = conv.Bias is { } b ? [x.Name, weight, graph.Initializer(Key(path, "bias"), b)] : [x.Name, weight];
        var pads = conv.Padding.Concat(conv.Padding).Select(p => (long)p).ToArray();
        var y = graph.Node("ConvTranspose", inputs, Key(path, "convtranspose"),
            Attr("kernel_shape", Longs(conv.KernelSize)), Attr("strides", Longs(conv.Stride)), Attr("pads", pads),
            Attr("dilations", Longs(conv.Dilation)), Attr("output_padding", Longs(conv.OutputPadding)), Attr("group", (long)conv.Groups));
        return Out(y, conv, x);
    }

    /// <summary>
    /// Upsample as ONNX Resize (opset 13+), in the coordinate conventions of torch.onnx: nearest = asymmetric + floor,
    /// (bi)linear = half_pixel or align_corners. A scale factor becomes the scales constant (the factor itself sets the
    /// source positions, as in PyTorch); a size becomes sizes built from the input's batch and channels (Shape, Slice)
    /// and the fixed spatial size, so the batch stays dynamic.
    /// </summary>
    OnnxValue Resize(Upsample upsample, string path, OnnxValue x)
    {
        int rank = x.Sample.Rank;
        if (rank is not (3 or 4)) throw Unsupported(upsample, path, $"only (N, C, L) and (N, C, H, W) inputs are mapped, the sample has rank {rank}");
        var attributes = upsample.Mode == UpsampleMode.Nearest
            ? new[] { Attr("mode", "nearest"), Attr("coordinate_transformation_mode", "asymmetric"), Attr("nearest_mode", "floor") }
            : [Attr("mode", "linear"), Attr("coordinate_transformation_mode", upsample.AlignCorners == true ? "align_corners" : "half_pixel")];
        string[] inputs;
        if (upsample.ScaleFactor is { } s)
        {
            float[] scales = rank == 3 ? [1f, 1f, (float)s.W] : [1f, 1f, (float)s.H, (float)s.W];
            double[] wanted = rank == 3 ? [s.W] : [s.H, s.W];
            if (scales.Skip(2).Select(v => (double)v).Zip(wanted).Any(p => p.First != p.Second))
                throw Unsupported(upsample, path, $"scale factor {s} is not exact in float32, which ONNX Resize's scales are");
            inputs = [x.Name, "", graph.ConstantNode(Key(path, "scales"), Tensor.FromArray(scales))];
        }
        else
        {
            var size = upsample.Size!.Value;
            long[] spatial = rank == 3 ? [size.W] : [size.H, size.W];
            var shape = graph.Node("Shape", [x.Name], Key(path, "shape"));
            var batchChannels = graph.Node("Slice", [shape, graph.Int64s(Key(path, "starts"), 0), graph.Int64s(Key(path, "ends"), 2)], Key(path, "batch_channels"));
            var sizes = graph.Node("Concat", [batchChannels, graph.Int64s(Key(path, "spatial"), spatial)], Key(path, "sizes"), Attr("axis", 0L));
            inputs = [x.Name, "", "", sizes];
        }
        return Out(graph.Node("Resize", inputs, Key(path, "resize"), attributes), upsample, x);
    }

    OnnxValue BatchNorm(BatchNormBase norm, string path, OnnxValue x)
    {
        if (norm.RunningMean is null || norm.RunningVar is null)
            throw Unsupported(norm, path, "without running statistics (track_running_stats=False) it normalises with batch statistics even in eval mode");
        var ones = Tensor.Ones(norm.NumFeatures);
        var scale = graph.Initializer(Key(path, "weight"), norm.Weight ?? ones);
        var bias = graph.Initializer(Key(path, "bias"), norm.Bias ?? Tensor.Zeros(norm.NumFeatures));
        var mean = graph.Initializer(Key(path, "running_mean"), norm.RunningMean);
        var variance = graph.Initializer(Key(path, "running_var"), norm.RunningVar);
        var y = graph.Node("BatchNormalization", [x.Name, scale, bias, mean, variance], Key(path, "batchnorm"), Attr("epsilon", (float)norm.Eps));
        return Out(y, norm, x);
    }

    OnnxValue MaxPool(MaxPool2d pool, string path, OnnxValue x)
    {
        var y = graph.Node("MaxPool", [x.Name], Key(path, "maxpool"),
            Attr("kernel_shape", Longs(pool.KernelSize)), Attr("strides", Longs(pool.Stride)), Attr("pads", Pads(pool.Padding)),
            Attr("dilations", Longs(pool.Dilation)), Attr("ceil_mode", pool.CeilMode ? 1L : 0L));
        return Out(y, pool, x);
    }

    OnnxValue AvgPool(AvgPool2d pool, string path, OnnxValue x)
    {
        var y = graph.Node("AveragePool", [x.Name], Key(path, "avgpool"),
            Attr("kernel_shape", Longs(pool.KernelSize)), Attr("strides", Longs(pool.Stride)), Attr("pads", Pads(pool.Padding)),
            Attr("ceil_mode", pool.CeilMode ? 1L : 0L), Attr("count_include_pad", pool.CountIncludePad ? 1L : 0L));
        return Out(y, pool, x);
    }

    /// <summary>Output 1×1: GlobalAveragePool. Otherwise an AveragePool when the input divides evenly (fixed windows).</summary>
    OnnxValue AdaptiveAvgPool(AdaptiveAvgPool2d pool, string path, OnnxValue x)
    {
        var (oh, ow) = (pool.OutputSize.H, pool.OutputSize.W);
        if (oh == 1 && ow == 1) return Out(graph.Node("GlobalAveragePool", [x.Name], Key(path, "avgpool")), pool, x);
        int h = x.Sample.Shape[^2], w = x.Sample.Shape[^1];
        if (h == 1 && w == 1)   // every output cell averages the one input cell (VGG on small images): broadcast it
            return Out(graph.Node("Expand", [x.Name, graph.Int64s(Key(path, "shape"), 1, 1, oh, ow)], Key(path, "avgpool")), pool, x);
        if (h % oh != 0 || w % ow != 0)
            throw Unsupported(pool, path, $"output {oh}×{ow} from input {h}×{w} needs windows of varying size, which no ONNX pooling op has");
        var y = graph.Node("AveragePool", [x.Name], Key(path, "avgpool"),
            Attr("kernel_shape", (long)(h / oh), w / ow), Attr("strides", (long)(h / oh), w / ow));
        return Out(y, pool, x);
    }

    /// <summary>start_dim 1 to the end: ONNX Flatten(axis 1). Otherwise a Reshape keeping the leading dims (0 = copy, so the batch stays dynamic).</summary>
    OnnxValue Flatten(Flatten flatten, string path, OnnxValue x)
    {
        int rank = x.Sample.Rank;
        int start = flatten.StartDim < 0 ? flatten.StartDim + rank : flatten.StartDim;
        int end = flatten.EndDim < 0 ? flatten.EndDim + rank : flatten.EndDim;
        if (start == 1 && end == rank - 1) return Out(graph.Node("Flatten", [x.Name], Key(path, "flatten"), Attr("axis", 1L)), flatten, x);
        var shape = Enumerable.Repeat(0L, start).Append(-1L).Concat(x.Sample.Shape.Skip(end + 1).Select(d => (long)d)).ToArray();
        if (start == 0 && dynamicBatch && end < rank - 1)
            throw Unsupported(flatten, path, "flattening the batch dimension into others cannot keep a dynamic batch");
        return Out(graph.Node("Reshape", [x.Name, graph.Int64s(Key(path, "shape"), shape)], Key(path, "reshape")), flatten, x);
    }

    static long[] Longs(IReadOnlyList<int> values) => values.Select(v => (long)v).ToArray();
    static long[] Longs(Size2 size) => [size.H, size.W];
    static long[] Pads(Size2 padding) => [padding.H, padding.W, padding.H, padding.W];
}
