using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>Stride, padding, dilation and groups of a 2-D convolution (validated by the caller).</summary>
internal readonly record struct ConvParams(int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups)
{
    /// <summary>The kernel geometry for a convolution whose input is (N, C, H, W) and output (N, O, OH, OW), weight (O, C/g, kH, kW).</summary>
    internal ConvShape Shape(int n, int c, int h, int w, int o, int oh, int ow, int kh, int kw) =>
        new(n, c, h, w, o, oh, ow, kh, kw, StrideH, StrideW, PadH, PadW, DilationH, DilationW, Groups);
}

// 2-D convolution and its adjoints. Three internal ops, each the backward of the others, so gradients of any order work:
//   Conv      y  = conv(x, w)                 backward: gx = ConvTranspose(gy, w), gw = ConvWeightGrad(x, gy)
//   ConvTranspose  z = conv^T(u, w)           backward: gu = Conv(gz, w),          gw = ConvWeightGrad(gz, u)
//   ConvWeightGrad gw = sum gy ⊗ unfold(x)    backward: gx = ConvTranspose(gy, G), ggy = Conv(x, G)
// Inputs are in conv terms throughout: x (N, C, H, W), w (O, C/g, kH, kW), y (N, O, OH, OW).
// float16/bfloat16 operands (torch.autocast's conv) run the float32 kernels on transient widened copies and round the
// result once (ReducedFloat.Compute); autograd saves the 16-bit tensors, and the adjoints take the same path.
internal static class ConvOps
{
    /// <summary>y = conv2d(x, w) + b with an explicit output size (N, O, oh, ow).</summary>
    internal static Tensor Conv(Tensor x, Tensor w, Tensor? b, ConvParams p, int oh, int ow)
    {
        var s = p.Shape(x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], oh, ow, w.shape[2], w.shape[3]);
        Tensor y;
        if (x.DType.IsReducedPrecision()) y = ReducedFloat.Compute(x.DType, t => Conv(t[0]!, t[1]!, t[2], p, oh, ow), x, w, b);
        else y = Forward(AdjointOp.Dense(x), AdjointOp.Dense(w), b == null ? null : AdjointOp.Dense(b));
        if (Autograd.ShouldRecord([x, w, b ?? x]))
        {
            int h = x.shape[2], wi = x.shape[3]; var wShape = w.shape;
            Autograd.Record(y, "ConvolutionBackward", [x, w, b], g =>
                [x.RequiresGrad ? ConvTranspose(g, w, null, p, h, wi) : null,
                 w.RequiresGrad ? ConvWeightGrad(x, g, p, wShape) : null,
                 b is { RequiresGrad: true } ? g.Sum([0, 2, 3]) : null], x, w);
        }
        return y;

        Tensor Forward(Tensor xd, Tensor wd, Tensor? bd)
        {
            var y = Tensor.AllocUninit(x.DType, [s.Batch, s.OutChannels, oh, ow]);
            if (x.DType == DType.Float32)
                Conv2d.Forward<float>(s, xd.Span<float>(), wd.Span<float>(), bd == null ? default : bd.Span<float>(), y.Span<float>());
            else
                Conv2d.Forward<double>(s, xd.Span<double>(), wd.Span<double>(), bd == null ? default : bd.Span<double>(), y.Span<double>());
            return y;
        }
    }

    /// <summary>
    /// z = conv_transpose2d(u, w) + b: the input gradient of a convolution whose output is u (N, O, OH, OW), whose weight is
    /// w (O, C/g, kH, kW) and whose input has spatial size (h, wi); z is (N, C, h, wi).
    /// </summary>
    internal static Tensor ConvTranspose(Tensor u, Tensor w, Tensor? b, ConvParams p, int h, int wi)
    {
        int c = w.shape[1] * p.Groups;
        var s = p.Shape(u.shape[0], c, h, wi, u.shape[1], u.shape[2], u.shape[3], w.shape[2], w.shape[3]);
        Tensor z;
        if (u.DType.IsReducedPrecision()) z = ReducedFloat.Compute(u.DType, t => ConvTranspose(t[0]!, t[1]!, t[2], p, h, wi), u, w, b);
        else
        {
            var ud = AdjointOp.Dense(u); var wd = AdjointOp.Dense(w);
            z = Tensor.AllocUninit(u.DType, [s.Batch, c, h, wi]);
            if (u.DType == DType.Float32) Conv2d.BackwardData<float>(s, ud.Span<float>(), wd.Span<float>(), z.Span<float>());
            else Conv2d.BackwardData<double>(s, ud.Span<double>(), wd.Span<double>(), z.Span<double>());
            if (b != null) AddChannelBias(z, AdjointOp.Dense(b));
        }
        if (Autograd.ShouldRecord([u, w, b ?? u]))
        {
            int oh = u.shape[2], ow = u.shape[3]; var wShape = w.shape;
            Autograd.Record(z, "ConvolutionTransposeBackward", [u, w, b], g =>
                [u.RequiresGrad ? Conv(g, w, null, p, oh, ow) : null,
                 w.RequiresGrad ? ConvWeightGrad(g, u, p, wShape) : null,
                 b is { RequiresGrad: true } ? g.Sum([0, 2, 3]) : null], u, w);
        }
        return z;
    }

    /// <summary>The weight gradient of y = conv(x, w) for output gradient gy: a tensor of <paramref name="weightShape"/>.</summary>
    internal static Tensor ConvWeightGrad(Tensor x, Tensor gy, ConvParams p, int[] weightShape)
    {
        var s = p.Shape(x.shape[0], x.shape[1], x.shape[2], x.shape[3], gy.shape[1], gy.shape[2], gy.shape[3], weightShape[2], weightShape[3]);
        Tensor gw;
        if (x.DType.IsReducedPrecision()) gw = ReducedFloat.Compute(x.DType, t => ConvWeightGrad(t[0]!, t[1]!, p, weightShape), x, gy);
        else
        {
            var xd = AdjointOp.Dense(x); var gd = AdjointOp.Dense(gy);
            gw = Tensor.AllocUninit(x.DType, ShapeUtil.Copy(weightShape));
            if (x.DType == DType.Float32) Conv2d.BackwardWeight<float>(s, xd.Span<float>(), gd.Span<float>(), gw.Span<float>());
            else Conv2d.BackwardWeight<double>(s, xd.Span<double>(), gd.Span<double>(), gw.Span<double>());
        }
        if (Autograd.ShouldRecord(x, gy))
        {
            int h = x.shape[2], wi = x.shape[3], oh = gy.shape[2], ow = gy.shape[3];
            Autograd.Record(gw, "ConvolutionWeightGradBackward", [x, gy], g =>
                [x.RequiresGrad ? ConvTranspose(gy, g, null, p, h, wi) : null,
                 gy.RequiresGrad ? Conv(x, g, null, p, oh, ow) : null], x, gy);
        }
        return gw;
    }

    /// <summary>z[n, c, :, :] += b[c], in place on a fresh contiguous tensor.</summary>
    static void AddChannelBias(Tensor z, Tensor b)
    {
        int n = z.shape[0], c = z.shape[1], plane = z.shape[2] * z.shape[3];
        if (z.DType == DType.Float32) Add(z.Span<float>(), b.Span<float>());
        else Add(z.Span<double>(), b.Span<double>());

        void Add<T>(Span<T> data, ReadOnlySpan<T> bias) where T : unmanaged, System.Numerics.INumber<T>
        {
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    var row = data.Slice((i * c + ch) * plane, plane);
                    System.Numerics.Tensors.TensorPrimitives.Add(row, bias[ch], row);
                }
        }
    }
}
