using DeepSharp.Kernels;

namespace DeepSharp;

// Pooling over the last two dims of a (..., H, W) tensor: every leading index is an independent plane.
// Max pooling returns PyTorch's flat h*W+w indices; its backward is a scatter-add by index, whose backward is a
// gather by index (and back), so gradients of any order work. Average pooling is linear: its backward is its adjoint.
internal static class PoolOps
{
    static int[] OutShape(Tensor x, int oh, int ow)
    {
        var shape = ShapeUtil.Copy(x.shape);
        shape[^2] = oh; shape[^1] = ow;
        return shape;
    }

    static int Planes(Tensor x) => x.shape[^1] * x.shape[^2] == 0 ? 0 : x.NumEl / (x.shape[^1] * x.shape[^2]);

    /// <summary>Max pooling with indices; the geometry's Planes is recomputed from x.</summary>
    internal static (Tensor Output, Tensor Indices) MaxPool(Tensor x, PoolShape s, string name = "MaxPool2DWithIndicesBackward")
    {
        if (x.DType.IsReducedPrecision()) return MaxPoolReduced(x, s, name);
        s = s with { Planes = Planes(x) };
        var outShape = OutShape(x, s.OutHeight, s.OutWidth);
        var y = Tensor.AllocUninit(x.DType, outShape);
        var indices = Tensor.AllocUninit(DType.Int64, outShape);
        var xd = AdjointOp.Dense(x);
        if (x.DType == DType.Float32) Pool.MaxPool2d<float>(s, xd.Span<float>(), y.Span<float>(), indices.Span<long>());
        else Pool.MaxPool2d<double>(s, xd.Span<double>(), y.Span<double>(), indices.Span<long>());
        RecordIndexed(x, y, indices, name);
        return (y, indices);
    }

    /// <summary>Whether max pooling of <paramref name="x"/> must keep its indices: a gradient will flow back through it, or
    /// the dtype takes the indexed path anyway (16-bit floats).</summary>
    internal static bool NeedsIndices(Tensor x) =>
        Autograd.ShouldRecord(x) || (x.DType != DType.Float32 && x.DType != DType.Float64);

    /// <summary>Max pooling without indices, for an input no gradient flows back to (<see cref="NeedsIndices"/> false); the
    /// values equal <see cref="MaxPool"/>'s.</summary>
    internal static Tensor MaxPoolValues(Tensor x, PoolShape s)
    {
        s = s with { Planes = Planes(x) };
        var y = Tensor.AllocUninit(x.DType, OutShape(x, s.OutHeight, s.OutWidth));
        var xd = AdjointOp.Dense(x);
        if (x.DType == DType.Float32) Pool.MaxPool2dValues<float>(s, xd.Span<float>(), y.Span<float>());
        else Pool.MaxPool2dValues<double>(s, xd.Span<double>(), y.Span<double>());
        return y;
    }

    // a method of its own: a lambda capturing a parameter is allocated on entry to the method that declares it
    static (Tensor Output, Tensor Indices) MaxPoolReduced(Tensor x, PoolShape s, string name)
    {
        {
            // transient float32 copy; the graph keeps the 16-bit input's shape and the indices, not float32 tensors
            Tensor indices16 = null!;
            var y16 = ReducedFloat.Compute(x.DType, t => { var (wy, wi) = MaxPool(t[0]!, s, name); indices16 = wi; return wy; }, x);
            if (Autograd.ShouldRecord(x))
            {
                var inShape = x.shape; var dtype = x.DType;
                Autograd.Record(y16, name, [x], g => [Autograd.IsGradEnabled
                    ? ScatterByIndex(g.To(DType.Float32), indices16, inShape).To(dtype)
                    : ReducedFloat.Compute(dtype, t => ScatterByIndex(t[0]!, indices16, inShape), g)]);
            }
            return (y16, indices16);
        }
    }

    /// <summary>Adaptive max pooling with indices.</summary>
    internal static (Tensor Output, Tensor Indices) AdaptiveMaxPool(Tensor x, int oh, int ow)
    {
        if (x.DType.IsReducedPrecision())
        {
            var (wy, wi) = AdaptiveMaxPool(x.To(DType.Float32), oh, ow);
            return (wy.To(x.DType), wi);
        }
        int h = x.shape[^2], w = x.shape[^1], planes = Planes(x);
        var outShape = OutShape(x, oh, ow);
        var y = Tensor.AllocUninit(x.DType, outShape);
        var indices = Tensor.AllocUninit(DType.Int64, outShape);
        var xd = AdjointOp.Dense(x);
        if (x.DType == DType.Float32) Pool.AdaptiveMaxPool2d<float>(planes, h, w, oh, ow, xd.Span<float>(), y.Span<float>(), indices.Span<long>());
        else Pool.AdaptiveMaxPool2d<double>(planes, h, w, oh, ow, xd.Span<double>(), y.Span<double>(), indices.Span<long>());
        RecordIndexed(x, y, indices, "AdaptiveMaxPool2DBackward");
        return (y, indices);
    }

    static void RecordIndexed(Tensor x, Tensor y, Tensor indices, string name)
    {
        // the state is the indices; the input's shape is read from the edge (x requires grad)
        if (Autograd.ShouldRecord(x))
            Autograd.Record(y, name, [x], static (n, g) => [ScatterByIndex(g, (Tensor)n.State!, n.Input(0)!.shape)], indices);
    }

    /// <summary>A zero tensor of <paramref name="inShape"/> with g[..., j] added at plane position indices[..., j].</summary>
    internal static Tensor ScatterByIndex(Tensor g, Tensor indices, int[] inShape)
    {
        int inPlane = inShape[^1] * inShape[^2], outPlane = g.shape[^1] * g.shape[^2], planes = Planes(g);
        if (!Autograd.ShouldRecord(g) && g.DType is DType.Float32 or DType.Float64)
        {
            // a backward that is not itself recorded: the kernel AdjointOp.Apply would run, without its two delegates
            var src = AdjointOp.Dense(g);
            var dst = Tensor.AllocUninit(g.DType, inShape);
            if (g.DType == DType.Float32) Pool.ScatterAddByIndex<float>(planes, inPlane, outPlane, src.Span<float>(), indices.Span<long>(), dst.Span<float>());
            else Pool.ScatterAddByIndex<double>(planes, inPlane, outPlane, src.Span<double>(), indices.Span<long>(), dst.Span<double>());
            return dst;
        }
        return ScatterByIndexRecorded(g, indices, inShape, inPlane, outPlane, planes);
    }

    static Tensor ScatterByIndexRecorded(Tensor g, Tensor indices, int[] inShape, int inPlane, int outPlane, int planes)
    {
        return AdjointOp.Apply(g, inShape, "ScatterByIndexBackward", (src, dst) =>
        {
            if (src.DType == DType.Float32) Pool.ScatterAddByIndex<float>(planes, inPlane, outPlane, src.Span<float>(), indices.Span<long>(), dst.Span<float>());
            else Pool.ScatterAddByIndex<double>(planes, inPlane, outPlane, src.Span<double>(), indices.Span<long>(), dst.Span<double>());
        }, gg => GatherByIndex(gg, indices, g.shape));
    }

    /// <summary>out[..., j] = source[..., indices[..., j]]: the adjoint of <see cref="ScatterByIndex"/>.</summary>
    internal static Tensor GatherByIndex(Tensor source, Tensor indices, int[] outShape)
    {
        int inPlane = source.shape[^1] * source.shape[^2], outPlane = outShape[^1] * outShape[^2], planes = Planes(source);
        var inShape = source.shape;
        return AdjointOp.Apply(source, outShape, "GatherByIndexBackward", (src, dst) =>
        {
            if (src.DType == DType.Float32) Pool.GatherByIndex<float>(planes, inPlane, outPlane, src.Span<float>(), indices.Span<long>(), dst.Span<float>());
            else Pool.GatherByIndex<double>(planes, inPlane, outPlane, src.Span<double>(), indices.Span<long>(), dst.Span<double>());
        }, gg => ScatterByIndex(gg, indices, inShape));
    }

    /// <summary>Average pooling; the backward is <see cref="AvgPoolAdjoint"/>.</summary>
    internal static Tensor AvgPool(Tensor x, PoolShape s, bool countIncludePad, int divisorOverride)
    {
        if (x.DType.IsReducedPrecision()) return ReducedFloat.Apply(x, t => AvgPool(t, s, countIncludePad, divisorOverride));
        s = s with { Planes = Planes(x) };
        var inShape = x.shape;
        return AdjointOp.Apply(x, OutShape(x, s.OutHeight, s.OutWidth), "AvgPool2DBackward", (src, dst) =>
        {
            if (src.DType == DType.Float32) Pool.AvgPool2d<float>(s, countIncludePad, divisorOverride, src.Span<float>(), dst.Span<float>());
            else Pool.AvgPool2d<double>(s, countIncludePad, divisorOverride, src.Span<double>(), dst.Span<double>());
        }, g => AvgPoolAdjoint(g, s, countIncludePad, divisorOverride, inShape));
    }

    static Tensor AvgPoolAdjoint(Tensor g, PoolShape s, bool countIncludePad, int divisorOverride, int[] inShape) =>
        AdjointOp.Apply(g, inShape, "AvgPool2DBackwardBackward", (src, dst) =>
        {
            if (src.DType == DType.Float32) Pool.AvgPool2dBackward<float>(s, countIncludePad, divisorOverride, src.Span<float>(), dst.Span<float>());
            else Pool.AvgPool2dBackward<double>(s, countIncludePad, divisorOverride, src.Span<double>(), dst.Span<double>());
        }, gg => AvgPool(gg, s, countIncludePad, divisorOverride));

    /// <summary>Adaptive average pooling to (oh, ow); the backward is its adjoint.</summary>
    internal static Tensor AdaptiveAvgPool(Tensor x, int oh, int ow)
    {
        if (x.DType.IsReducedPrecision()) return ReducedFloat.Apply(x, t => AdaptiveAvgPool(t, oh, ow));
        int h = x.shape[^2], w = x.shape[^1], planes = Planes(x);
        var inShape = x.shape;
        return AdjointOp.Apply(x, OutShape(x, oh, ow), "AdaptiveAvgPool2DBackward", (src, dst) =>
        {
            if (src.DType == DType.Float32) Pool.AdaptiveAvgPool2d<float>(planes, h, w, oh, ow, src.Span<float>(), dst.Span<float>());
            else Pool.AdaptiveAvgPool2d<double>(planes, h, w, oh, ow, src.Span<double>(), dst.Span<double>());
        }, g => AdaptiveAvgPoolAdjoint(g, inShape));
    }

    static Tensor AdaptiveAvgPoolAdjoint(Tensor g, int[] inShape)
    {
        int h = inShape[^2], w = inShape[^1], oh = g.shape[^2], ow = g.shape[^1], planes = Planes(g);
        return AdjointOp.Apply(g, inShape, "AdaptiveAvgPool2DBackwardBackward", (src, dst) =>
        {
            if (src.DType == DType.Float32) Pool.AdaptiveAvgPool2dBackward<float>(planes, h, w, oh, ow, src.Span<float>(), dst.Span<float>());
            else Pool.AdaptiveAvgPool2dBackward<double>(planes, h, w, oh, ow, src.Span<double>(), dst.Span<double>());
        }, gg => AdaptiveAvgPool(gg, oh, ow));
    }
}
