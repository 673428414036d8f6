using System.Numerics;
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
    // Each op records a static backward (no closure): the saved tensors hold the shapes it needs, and the node's state
    // is the ConvParams, boxed once per distinct value on each thread. The 16-bit paths sit in methods of their own, since
    // a lambda capturing a parameter is allocated on entry to the method that declares it.

    /// <summary>y = conv2d(x, w) + b with an explicit output size (N, O, oh, ow).</summary>
    internal static Tensor Conv(Tensor x, Tensor w, Tensor? b, ConvParams p, int oh, int ow)
    {
        var y = x.DType.IsReducedPrecision() ? ConvReduced(x, w, b, p, oh, ow) : ConvDense(x, w, b, p, oh, ow);
        if (Autograd.ShouldRecord([x, w, b ?? x]))
            Autograd.Record(y, "ConvolutionBackward", [x, w, b], ConvBackward, Boxed(p), x, w);
        return y;
    }

    static Tensor ConvReduced(Tensor x, Tensor w, Tensor? b, ConvParams p, int oh, int ow)
        => ReducedFloat.Compute(x.DType, t => Conv(t[0]!, t[1]!, t[2], p, oh, ow), x, w, b);

    static Tensor ConvDense(Tensor x, Tensor w, Tensor? b, ConvParams p, int oh, int ow)
    {
        var s = p.Shape(x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], oh, ow, w.shape[2], w.shape[3]);
        Tensor xd = AdjointOp.Dense(x), wd = AdjointOp.Dense(w);
        var bd = b == null ? null : AdjointOp.Dense(b);
        var y = Tensor.AllocUninit(x.DType, ShapeUtil.Interned([s.Batch, s.OutChannels, oh, ow]));
        if (x.DType == DType.Float32)
            Conv2d.Forward<float>(s, xd.Span<float>(), wd.Span<float>(), bd == null ? default : bd.Span<float>(), y.Span<float>());
        else
            Conv2d.Forward<double>(s, xd.Span<double>(), wd.Span<double>(), bd == null ? default : bd.Span<double>(), y.Span<double>());
        return y;
    }

    /// <summary>The backward of <see cref="Conv"/>; saved: x, w; a third edge is the bias.</summary>
    static InputGrads ConvBackward(Node node, Tensor g)
    {
        Tensor x = node.Saved(0), w = node.Saved(1);
        g = g.Contiguous();   // a slice of a Cat's gradient: one copy shared by the three gradients, not one each
        var p = (ConvParams)node.State!;
        // a parameter's gradient is added straight into its Grad when the engine allows it: computed into pooled scratch
        // and added, the same sum the engine would form with a new gradient tensor
        bool dense = g.DType is DType.Float32 or DType.Float64 && x.DType == g.DType;
        Tensor? gw = null, gb = null;
        if (w.RequiresGrad)
            gw = dense && Autograd.LeafGrad(w) is { } wGrad ? AccumulateWeightGrad(x, g, p, wGrad) : ConvWeightGrad(x, g, p, w.shape);
        if (node.Input(2) is { RequiresGrad: true } b)
            gb = dense && Autograd.LeafGrad(b) is { } bGrad ? AccumulateChannelSums(g, bGrad) : g.Sum(ChannelSumDims);
        return [x.RequiresGrad ? Autograd.Fresh(ConvTranspose(g, w, null, p, x.shape[2], x.shape[3])) : null, gw, gb];
    }

    /// <summary>Adds the weight gradient of y = conv(x, w) for output gradient <paramref name="gy"/> into <paramref name="into"/> (w's Grad).</summary>
    static Tensor AccumulateWeightGrad(Tensor x, Tensor gy, ConvParams p, Tensor into)
    {
        if (x.DType == DType.Float32) AccumulateWeightGrad<float>(x, gy, p, into);
        else AccumulateWeightGrad<double>(x, gy, p, into);
        return Autograd.MarkAccumulated(into);
    }

    static void AccumulateWeightGrad<T>(Tensor x, Tensor gy, ConvParams p, Tensor into) where T : unmanaged, INumber<T>
    {
        int n = into.NumEl;
        var scratch = System.Buffers.ArrayPool<T>.Shared.Rent(n);
        try
        {
            var gw = scratch.AsSpan(0, n);
            WeightGradInto(x, gy, p, into.shape, gw);
            var dst = into.Span<T>();
            System.Numerics.Tensors.TensorPrimitives.Add(dst, gw, dst);
        }
        finally { System.Buffers.ArrayPool<T>.Shared.Return(scratch); }
    }

    /// <summary>Adds Σ over (N, H, W) of the contiguous <paramref name="g"/> into <paramref name="into"/> (a bias's Grad): what <c>g.Sum([0, 2, 3])</c> computes, added.</summary>
    static Tensor AccumulateChannelSums(Tensor g, Tensor into)
    {
        if (g.DType == DType.Float32) AccumulateChannelSums<float>(g, into);
        else AccumulateChannelSums<double>(g, into);
        return Autograd.MarkAccumulated(into);
    }

    static void AccumulateChannelSums<T>(Tensor g, Tensor into) where T : unmanaged, INumber<T>
    {
        int c = g.shape[1];
        T[]? rented = c <= 256 ? null : System.Buffers.ArrayPool<T>.Shared.Rent(c);
        try
        {
            Span<T> sums = rented != null ? rented.AsSpan(0, c) : stackalloc T[c];
            sums.Clear();
            Tensor.SumContiguousInto(g, [true, false, true, true], sums);
            var dst = into.Span<T>();
            System.Numerics.Tensors.TensorPrimitives.Add(dst, sums, dst);
        }
        finally { if (rented != null) System.Buffers.ArrayPool<T>.Shared.Return(rented); }
    }

    /// <summary>The dims a bias gradient sums over (N, H, W); Sum reads, never writes, them.</summary>
    static readonly int[] ChannelSumDims = [0, 2, 3];

    /// <summary>
    /// z = conv_transpose2d(u, w) + b: the input gradient of a convolution whose output is u (N, O, OH, OW), whose weight is
    /// w (O, C/g, kH, kW) and whose input has spatial size (h, wi); z is (N, C, h, wi).
    /// </summary>
    internal static Tensor ConvTranspose(Tensor u, Tensor w, Tensor? b, ConvParams p, int h, int wi)
    {
        var z = u.DType.IsReducedPrecision() ? ConvTransposeReduced(u, w, b, p, h, wi) : ConvTransposeDense(u, w, b, p, h, wi);
        if (Autograd.ShouldRecord([u, w, b ?? u]))
            Autograd.Record(z, "ConvolutionTransposeBackward", [u, w, b], ConvTransposeBackward, Boxed(p), u, w);
        return z;
    }

    static Tensor ConvTransposeReduced(Tensor u, Tensor w, Tensor? b, ConvParams p, int h, int wi)
        => ReducedFloat.Compute(u.DType, t => ConvTranspose(t[0]!, t[1]!, t[2], p, h, wi), u, w, b);

    static Tensor ConvTransposeDense(Tensor u, Tensor w, Tensor? b, ConvParams p, int h, int wi)
    {
        int c = w.shape[1] * p.Groups;
        var s = p.Shape(u.shape[0], c, h, wi, u.shape[1], u.shape[2], u.shape[3], w.shape[2], w.shape[3]);
        var ud = AdjointOp.Dense(u); var wd = AdjointOp.Dense(w);
        var z = Tensor.AllocUninit(u.DType, ShapeUtil.Interned([s.Batch, c, h, wi]));
        if (u.DType == DType.Float32) Conv2d.BackwardData<float>(s, ud.Span<float>(), wd.Span<float>(), z.Span<float>());
        else Conv2d.BackwardData<double>(s, ud.Span<double>(), wd.Span<double>(), z.Span<double>());
        if (b != null) AddChannelBias(z, AdjointOp.Dense(b));
        return z;
    }

    /// <summary>The backward of <see cref="ConvTranspose"/>; saved: u, w; a third edge is the bias.</summary>
    static InputGrads ConvTransposeBackward(Node node, Tensor g)
    {
        Tensor u = node.Saved(0), w = node.Saved(1);
        g = g.Contiguous();
        var p = (ConvParams)node.State!;
        return [u.RequiresGrad ? Conv(g, w, null, p, u.shape[2], u.shape[3]) : null,
                w.RequiresGrad ? ConvWeightGrad(g, u, p, w.shape) : null,
                node.Input(2) is { RequiresGrad: true } ? g.Sum(ChannelSumDims) : null];
    }

    /// <summary>The weight gradient of y = conv(x, w) for output gradient gy: a tensor of <paramref name="weightShape"/>.</summary>
    internal static Tensor ConvWeightGrad(Tensor x, Tensor gy, ConvParams p, int[] weightShape)
    {
        var gw = x.DType.IsReducedPrecision() ? ConvWeightGradReduced(x, gy, p, weightShape) : ConvWeightGradDense(x, gy, p, weightShape);
        if (Autograd.ShouldRecord(x, gy))
            Autograd.Record(gw, "ConvolutionWeightGradBackward", [x, gy], ConvWeightGradBackward, Boxed(p), x, gy);
        return gw;
    }

    static Tensor ConvWeightGradReduced(Tensor x, Tensor gy, ConvParams p, int[] weightShape)
        => ReducedFloat.Compute(x.DType, t => ConvWeightGrad(t[0]!, t[1]!, p, weightShape), x, gy);

    static Tensor ConvWeightGradDense(Tensor x, Tensor gy, ConvParams p, int[] weightShape)
    {
        var gw = Tensor.AllocUninit(x.DType, weightShape);
        if (x.DType == DType.Float32) WeightGradInto(x, gy, p, weightShape, gw.Span<float>());
        else WeightGradInto(x, gy, p, weightShape, gw.Span<double>());
        return gw;
    }

    /// <summary>The weight gradient of y = conv(x, w) for output gradient gy, written into <paramref name="gw"/> (w's elements).</summary>
    static void WeightGradInto<T>(Tensor x, Tensor gy, ConvParams p, int[] weightShape, Span<T> gw) where T : unmanaged, INumber<T>
    {
        var s = p.Shape(x.shape[0], x.shape[1], x.shape[2], x.shape[3], gy.shape[1], gy.shape[2], gy.shape[3], weightShape[2], weightShape[3]);
        var xd = AdjointOp.Dense(x); var gd = AdjointOp.Dense(gy);
        Conv2d.BackwardWeight<T>(s, xd.Span<T>(), gd.Span<T>(), gw);
    }

    /// <summary>The backward of <see cref="ConvWeightGrad"/>; saved: x, gy.</summary>
    static InputGrads ConvWeightGradBackward(Node node, Tensor g)
    {
        Tensor x = node.Saved(0), gy = node.Saved(1);
        var p = (ConvParams)node.State!;
        return [x.RequiresGrad ? ConvTranspose(gy, g, null, p, x.shape[2], x.shape[3]) : null,
                gy.RequiresGrad ? Conv(x, g, null, p, gy.shape[2], gy.shape[3]) : null];
    }

    [ThreadStatic] static object?[]? boxedParams;
    [ThreadStatic] static int nextBoxedParams;

    /// <summary>
    /// <paramref name="p"/> boxed as a node state: the same box for the same value on one thread (a model uses a handful of
    /// geometries), so recording a convolution allocates none; the box is immutable, so sharing it is safe.
    /// </summary>
    static object Boxed(ConvParams p)
    {
        var cache = boxedParams ??= new object?[8];
        for (int i = 0; i < cache.Length; i++)
        {
            if (cache[i] == null) return cache[i] = p;
            if ((ConvParams)cache[i]! == p) return cache[i]!;
        }
        object boxed = p;
        cache[nextBoxedParams] = boxed;
        nextBoxedParams = (nextBoxedParams + 1) % cache.Length;
        return boxed;
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
