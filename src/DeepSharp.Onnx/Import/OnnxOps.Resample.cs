using DeepSharp.NN;

namespace DeepSharp.Onnx;

/// <summary>
/// The upsampling ops: ConvTranspose (torch.nn.functional.conv_transpose1d / conv_transpose2d), Resize (opsets 10 to 21)
/// and the older Upsample (opsets 7 to 9), which run as <see cref="F.Interpolate"/> in the coordinate conventions
/// torch.onnx writes for it: nearest = asymmetric coordinates with floor rounding; linear = half_pixel (PyTorch's
/// align_corners=False; pytorch_half_pixel agrees unless an output length is 1) or align_corners. Scales or sizes may
/// be computed by the graph (torch.onnx builds sizes from the input's Shape), so they are read when the node runs;
/// the batch and channel axes must keep their size. Other modes (cubic), coordinate conventions, rounding modes,
/// antialias and axes fail at load naming the node.
/// </summary>
internal static partial class OnnxOps
{
    static OnnxKernel ConvTranspose(OnnxNode node)
    {
        int dims = node.Ints("kernel_shape")?.Length ?? 2;
        if (dims is not (1 or 2)) throw node.Unsupported($"{dims}-D transposed convolution (1-D and 2-D are supported)");
        if (node.Has("output_shape")) throw node.Unsupported("output_shape (give pads and output_padding, as torch.onnx does)");
        var (stride, dilation, pads) = Window(node, dims);
        var padding = Symmetric(pads) ?? throw node.Unsupported($"asymmetric pads [{string.Join(", ", pads)}]");
        var outputPadding = node.IntArray("output_padding", new int[dims]);
        if (outputPadding.Length != dims) throw node.Unsupported($"output_padding of length {outputPadding.Length} for {dims} spatial dims");
        int groups = (int)node.Int("group", 1);
        bool hasBias = node.HasInput(2);
        return Need(node, 2, x =>
        {
            var bias = hasBias ? x[2] : null;
            return dims == 1
                ? F.ConvTranspose1d(In(x, 0), In(x, 1), bias, stride[0], padding[0], outputPadding[0], groups, dilation[0])
                : F.ConvTranspose2d(In(x, 0), In(x, 1), bias, (stride[0], stride[1]), (padding[0], padding[1]),
                    (outputPadding[0], outputPadding[1]), groups, (dilation[0], dilation[1]));
        });
    }

    /// <summary>Resize: X, roi, scales, sizes from opset 11 (X, scales at opset 10, where coordinates are always asymmetric).</summary>
    static OnnxKernel Resize(OnnxNode node)
    {
        if (node.Opset < 11)
            return Resampling(node, node.String("mode", "nearest"), "asymmetric", "floor", scalesInput: 1, sizesInput: -1);
        if (node.Int("antialias", 0) != 0) throw node.Unsupported("antialias");
        if (node.Has("axes")) throw node.Unsupported("axes (scales and sizes must cover every axis)");
        if (node.String("keep_aspect_ratio_policy", "stretch") != "stretch") throw node.Unsupported("keep_aspect_ratio_policy other than stretch");
        if (node.Int("exclude_outside", 0) != 0) throw node.Unsupported("exclude_outside");
        return Resampling(node, node.String("mode", "nearest"), node.String("coordinate_transformation_mode", "half_pixel"),
            node.String("nearest_mode", "round_prefer_floor"), scalesInput: 2, sizesInput: 3);
    }

    /// <summary>Upsample (deprecated since opset 10): scales as an attribute (opset 7) or an input (opset 9), asymmetric coordinates.</summary>
    static OnnxKernel Upsample(OnnxNode node)
    {
        var mode = node.String("mode", "nearest");
        if (mode != "nearest")   // Upsample's linear mode uses asymmetric coordinates, which no PyTorch mode has
            throw node.Unsupported($"mode '{mode}' (only nearest: Upsample's linear mode maps coordinates as no PyTorch interpolation does; use Resize)");
        if (node.Opset < 9)
        {
            var scales = node.Floats("scales") ?? throw node.Unsupported("the scales attribute is missing");
            return Resampling(node, mode, "asymmetric", "floor", scalesInput: -1, sizesInput: -1, fixedScales: scales);
        }
        return Resampling(node, mode, "asymmetric", "floor", scalesInput: 1, sizesInput: -1);
    }

    static OnnxKernel Resampling(OnnxNode node, string mode, string coordinates, string nearestMode, int scalesInput, int sizesInput,
        float[]? fixedScales = null)
    {
        bool alignCorners;
        switch (mode)
        {
            case "nearest":
                if (coordinates != "asymmetric" || nearestMode != "floor")
                    throw node.Unsupported($"nearest mode with coordinate_transformation_mode '{coordinates}' and nearest_mode '{nearestMode}' " +
                        "(only asymmetric + floor, PyTorch's 'nearest')");
                alignCorners = false;
                break;
            case "linear":
                if (coordinates is not ("half_pixel" or "pytorch_half_pixel" or "align_corners"))
                    throw node.Unsupported($"linear mode with coordinate_transformation_mode '{coordinates}' (half_pixel, pytorch_half_pixel or align_corners)");
                alignCorners = coordinates == "align_corners";
                break;
            default:
                throw node.Unsupported($"mode '{mode}' (nearest and linear are supported)");
        }
        bool hasScales = scalesInput >= 0 && node.HasInput(scalesInput), hasSizes = sizesInput >= 0 && node.HasInput(sizesInput);
        if (fixedScales is null && !hasScales && !hasSizes)
            throw node.Unsupported("neither scales nor sizes is given");
        if (!node.HasInput(0)) throw node.Unsupported("input 0 is missing");
        string op = node.OpType;
        return (x, _) =>
        {
            var input = In(x, 0);
            if (input.Rank is not (3 or 4))
                throw new ArgumentException($"{op}: DeepSharp resizes (N, C, L) and (N, C, H, W) inputs, got shape ({string.Join(", ", input.Shape)})");
            double[]? scales = fixedScales?.Select(v => (double)v).ToArray();
            long[]? sizes = null;
            if (scales is null && hasScales && x[scalesInput]!.NumEl > 0) scales = x[scalesInput]!.To(DType.Float64).ToArray<double>();
            if (scales is null && hasSizes) sizes = OnnxTensors.Longs(x[sizesInput]!);
            if (scales is null && sizes is null) throw new ArgumentException($"{op}: both scales and sizes are empty");
            int rank = input.Rank;
            if ((scales?.Length ?? sizes!.Length) != rank)
                throw new ArgumentException($"{op}: {(scales is null ? "sizes" : "scales")} has {scales?.Length ?? sizes!.Length} values for an input of rank {rank}");
            bool keepsBatchAndChannels = scales is not null
                ? scales[0] == 1 && scales[1] == 1
                : sizes![0] == input.Shape[0] && sizes[1] == input.Shape[1];
            if (!keepsBatchAndChannels)
                throw new ArgumentException($"{op}: only the spatial axes can be resized, got {(scales is null ? "sizes" : "scales")} " +
                    $"[{string.Join(", ", (IEnumerable<object>?)scales?.Cast<object>() ?? sizes!.Cast<object>())}] for input ({string.Join(", ", input.Shape)})");
            var interpolation = mode == "nearest" ? UpsampleMode.Nearest : rank == 3 ? UpsampleMode.Linear : UpsampleMode.Bilinear;
            bool? corners = mode == "nearest" ? null : alignCorners;
            if (coordinates == "pytorch_half_pixel")
            {
                int[] outLengths = scales is not null
                    ? input.Shape.Skip(2).Select((d, i) => (int)Math.Floor(d * scales[i + 2])).ToArray()
                    : sizes!.Skip(2).Select(v => (int)v).ToArray();
                if (outLengths.Any(l => l == 1) && input.Shape.Skip(2).Any(l => l > 1))
                    throw new ArgumentException($"{op}: pytorch_half_pixel with an output length of 1 takes the first element, which DeepSharp's interpolation does not do");
            }
            if (scales is not null)
                return [F.Interpolate(input, scaleFactor: rank == 3 ? new Scale2(scales[2], scales[2]) : new Scale2(scales[2], scales[3]), mode: interpolation, alignCorners: corners)];
            return [F.Interpolate(input, size: rank == 3 ? new Size2((int)sizes![2], (int)sizes[2]) : new Size2((int)sizes![2], (int)sizes[3]), mode: interpolation, alignCorners: corners)];
        };
    }
}
