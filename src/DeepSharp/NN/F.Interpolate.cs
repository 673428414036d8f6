namespace DeepSharp.NN;

/// <summary>Resampling algorithm for <see cref="F.Interpolate"/> (torch.nn.functional.interpolate's mode).</summary>
public enum UpsampleMode
{
    /// <summary>Nearest neighbour ("nearest"), for (N, C, L) and (N, C, H, W) input.</summary>
    Nearest,
    /// <summary>Linear interpolation along the length ("linear"), for (N, C, L) input.</summary>
    Linear,
    /// <summary>Bilinear interpolation ("bilinear"), for (N, C, H, W) input.</summary>
    Bilinear,
}

// Resampling: nearest, linear and bilinear interpolation.
public static partial class F
{
    /// <summary>
    /// Resizes (N, C, L) or (N, C, H, W) input to <paramref name="size"/>, or by <paramref name="scaleFactor"/> (output size
    /// floor(in · scale), and the source positions use the factor itself, as PyTorch does by default)
    /// (torch.nn.functional.interpolate). Give exactly one of size and scaleFactor. <paramref name="alignCorners"/> (default
    /// false) applies to the linear modes only. For 3-D input, size and scaleFactor are single values.
    /// </summary>
    public static Tensor Interpolate(Tensor input, Size2? size = null, Scale2? scaleFactor = null, UpsampleMode mode = UpsampleMode.Nearest,
        bool? alignCorners = null)
    {
        const string op = "Interpolate";
        AdjointOp.CheckFloat(input, op, nameof(input));
        if (input.Rank != 3 && input.Rank != 4)
            throw new ArgumentException($"{op}: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        if (mode == UpsampleMode.Linear && input.Rank != 3)
            throw new ArgumentException($"{op}: linear mode needs a 3-D (N, C, L) input, got shape {ShapeUtil.Format(input.shape)}; use Bilinear for 4-D input", nameof(mode));
        if (mode == UpsampleMode.Bilinear && input.Rank != 4)
            throw new ArgumentException($"{op}: bilinear mode needs a 4-D (N, C, H, W) input, got shape {ShapeUtil.Format(input.shape)}; use Linear for 3-D input", nameof(mode));
        if (alignCorners != null && mode == UpsampleMode.Nearest)
            throw new ArgumentException($"{op}: alignCorners can only be set with the interpolating modes Linear and Bilinear", nameof(alignCorners));
        if ((size == null) == (scaleFactor == null))
            throw new ArgumentException($"{op}: give exactly one of size and scaleFactor (got {(size == null ? "neither" : "both")})", size == null ? nameof(size) : nameof(scaleFactor));
        bool oneD = input.Rank == 3;
        int inH = oneD ? 1 : input.shape[2], inW = input.shape[^1];
        int outH, outW; double scaleH = 0, scaleW = 0;
        if (size is Size2 sz)
        {
            if (oneD && sz.H != sz.W) throw new ArgumentException($"{op}: a 3-D input takes a single output length, got size {sz}", nameof(size));
            (outH, outW) = oneD ? (1, sz.W) : (sz.H, sz.W);
            if (outH <= 0 || outW <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"{op}: output size must be positive, got {sz}");
        }
        else
        {
            var sf = scaleFactor!.Value;
            if (oneD && sf.H != sf.W) throw new ArgumentException($"{op}: a 3-D input takes a single scale factor, got {sf}", nameof(scaleFactor));
            if (!(sf.H > 0) || !(sf.W > 0) || double.IsInfinity(sf.H) || double.IsInfinity(sf.W))
                throw new ArgumentOutOfRangeException(nameof(scaleFactor), $"{op}: scale factors must be positive and finite, got {sf}");
            (scaleH, scaleW) = oneD ? (0, sf.W) : (sf.H, sf.W);
            outH = oneD ? 1 : (int)Math.Floor(inH * sf.H);
            outW = (int)Math.Floor(inW * sf.W);
            if (outH <= 0 || outW <= 0)
                throw new ArgumentException($"{op}: scale factor {sf} gives an empty output for input of shape {ShapeUtil.Format(input.shape)}", nameof(scaleFactor));
        }
        if (inH == 0 || inW == 0) throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} has an empty spatial dimension", nameof(input));
        var x = oneD ? input.Unsqueeze(2) : input;
        var y = UpsampleOps.Resize(x, outH, outW, mode != UpsampleMode.Nearest, alignCorners ?? false, scaleH, scaleW);
        return oneD ? y.Squeeze(2) : y;
    }

    /// <summary>
    /// Upsampling as torch.nn.Upsample computes it: <see cref="Interpolate"/> with the same arguments (the function the Upsample layer calls).
    /// </summary>
    public static Tensor Upsample(Tensor input, Size2? size = null, Scale2? scaleFactor = null, UpsampleMode mode = UpsampleMode.Nearest, bool? alignCorners = null)
        => Interpolate(input, size, scaleFactor, mode, alignCorners);

    /// <summary>
    /// Constant padding of the last dimensions (torch.nn.functional.pad with mode="constant"): <paramref name="pad"/> lists
    /// (left, right) pairs starting from the last dimension, e.g. (1, 1, 2, 0) pads W by 1 on each side and H by 2 on top.
    /// Negative amounts crop.
    /// </summary>
    public static Tensor Pad(Tensor input, int[] pad, double value = 0)
    {
        const string op = "Pad";
        if (pad.Length % 2 != 0 || pad.Length / 2 > input.Rank)
            throw new ArgumentException($"{op}: padding length {pad.Length} must be even and at most twice the rank of the input of shape {ShapeUtil.Format(input.shape)}", nameof(pad));
        var x = input;
        var outShape = ShapeUtil.Copy(input.shape);
        var before = new int[input.Rank];
        for (int i = 0; i < pad.Length / 2; i++)
        {
            int d = input.Rank - 1 - i, left = pad[2 * i], right = pad[2 * i + 1];
            int size = input.shape[d] + left + right;
            if (size < 0)
                throw new ArgumentException($"{op}: padding ({left}, {right}) of dimension {d} of the input of shape {ShapeUtil.Format(input.shape)} gives a negative size {size}", nameof(pad));
            // crop first (a differentiable view), then pad the non-negative amounts
            int cropL = Math.Max(0, -left), cropR = Math.Max(0, -right);
            if (cropL + cropR > 0) x = x.Narrow(d, cropL, Math.Max(0, input.shape[d] - cropL - cropR));
            before[d] = Math.Max(0, left);
            outShape[d] = size;
        }
        if (before.All(b => b == 0) && ShapeUtil.SameShape(outShape, x.shape)) return x;
        var result = Tensor.Full(outShape, value, input.DType);
        var window = result;
        for (int d = 0; d < x.Rank; d++) window = window.Narrow(d, before[d], x.shape[d]);
        Tensor.CopyInto(x, window);
        if (Autograd.ShouldRecord(x))
        {
            var src = x;
            Autograd.Record(result, "ConstantPadNdBackward", [x], g =>
            {
                var gw = g;
                for (int d = 0; d < src.Rank; d++) gw = gw.Narrow(d, before[d], src.shape[d]);
                return [gw];
            });
        }
        return result;
    }
}
