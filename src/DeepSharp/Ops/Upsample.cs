using DeepSharp.Kernels;

namespace DeepSharp;

// Resampling of the last two dims (nearest or bilinear). Both are linear in the input, so the backward is the adjoint
// kernel, recorded so that it in turn differentiates back to the forward.
internal static class UpsampleOps
{
    /// <summary>Resizes x (..., H, W) to (..., oh, ow); scales of 0 mean "derive from the sizes".</summary>
    internal static Tensor Resize(Tensor x, int oh, int ow, bool bilinear, bool alignCorners, double scaleH, double scaleW)
    {
        int h = x.shape[^2], w = x.shape[^1], planes = h * w == 0 ? 0 : x.NumEl / (h * w);
        var outShape = ShapeUtil.Copy(x.shape); outShape[^2] = oh; outShape[^1] = ow;
        var inShape = x.shape;
        return AdjointOp.Apply(x, outShape, bilinear ? "UpsampleBilinear2DBackward" : "UpsampleNearest2DBackward", (src, dst) =>
        {
            if (bilinear)
            {
                if (src.DType == DType.Float32) Upsample.Bilinear2d<float>(planes, h, w, oh, ow, alignCorners, scaleH, scaleW, src.Span<float>(), dst.Span<float>());
                else Upsample.Bilinear2d<double>(planes, h, w, oh, ow, alignCorners, scaleH, scaleW, src.Span<double>(), dst.Span<double>());
            }
            else
            {
                if (src.DType == DType.Float32) Upsample.Nearest2d<float>(planes, h, w, oh, ow, scaleH, scaleW, src.Span<float>(), dst.Span<float>());
                else Upsample.Nearest2d<double>(planes, h, w, oh, ow, scaleH, scaleW, src.Span<double>(), dst.Span<double>());
            }
        }, g => Adjoint(g, inShape, bilinear, alignCorners, scaleH, scaleW));
    }

    static Tensor Adjoint(Tensor g, int[] inShape, bool bilinear, bool alignCorners, double scaleH, double scaleW)
    {
        int h = inShape[^2], w = inShape[^1], oh = g.shape[^2], ow = g.shape[^1], planes = oh * ow == 0 ? 0 : g.NumEl / (oh * ow);
        return AdjointOp.Apply(g, ShapeUtil.Copy(inShape), bilinear ? "UpsampleBilinear2DBackwardBackward" : "UpsampleNearest2DBackwardBackward", (src, dst) =>
        {
            if (bilinear)
            {
                if (src.DType == DType.Float32) Upsample.Bilinear2dBackward<float>(planes, h, w, oh, ow, alignCorners, scaleH, scaleW, src.Span<float>(), dst.Span<float>());
                else Upsample.Bilinear2dBackward<double>(planes, h, w, oh, ow, alignCorners, scaleH, scaleW, src.Span<double>(), dst.Span<double>());
            }
            else
            {
                if (src.DType == DType.Float32) Upsample.Nearest2dBackward<float>(planes, h, w, oh, ow, scaleH, scaleW, src.Span<float>(), dst.Span<float>());
                else Upsample.Nearest2dBackward<double>(planes, h, w, oh, ow, scaleH, scaleW, src.Span<double>(), dst.Span<double>());
            }
        }, gg => Resize(gg, oh, ow, bilinear, alignCorners, scaleH, scaleW));
    }
}
