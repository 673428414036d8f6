using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The im2col + GEMM convolution kernels against the direct-loop reference, over awkward geometries.</summary>
[Collection("KernelThreads")]
public class ConvKernelTests
{
    static double[] Rand(int n, System.Random rng) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    public static IEnumerable<object[]> Geometries()
    {
        // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups
        yield return [2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1];
        yield return [1, 2, 7, 6, 3, 3, 2, 2, 2, 1, 0, 1, 1, 1];
        yield return [1, 2, 9, 9, 2, 3, 3, 1, 1, 2, 2, 2, 2, 1];
        yield return [2, 4, 5, 6, 6, 3, 3, 2, 1, 1, 1, 1, 1, 2];
        yield return [2, 3, 4, 4, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1];     // pointwise: direct GEMM
        yield return [1, 4, 5, 5, 4, 1, 1, 2, 2, 0, 0, 1, 1, 4];     // 1x1 with stride: im2col path, depthwise
        yield return [1, 1, 3, 11, 2, 1, 4, 1, 3, 0, 2, 1, 2, 1];    // non-square kernel, wide stride
        yield return [1, 2, 4, 4, 2, 5, 5, 1, 1, 2, 2, 1, 1, 1];     // kernel larger than the unpadded input
        yield return [7, 3, 6, 5, 4, 3, 2, 1, 2, 1, 0, 1, 2, 1];     // odd batch: a last group of fewer images
        yield return [17, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2];    // 17 images: more than a group, groups of channels
        // stride 1 with the output as wide as the input: columns copied (and folded) as one shifted run per kernel position
        yield return [2, 3, 11, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1];   // odd sizes
        yield return [3, 2, 4, 2, 3, 5, 5, 1, 1, 2, 2, 1, 1, 1];     // kernel offsets as wide as the input (row-by-row path)
        yield return [1, 2, 7, 5, 3, 3, 3, 1, 1, 2, 1, 2, 1, 1];     // dilated rows only
        // stride > 1 with the output as wide as a phase plane (outW = ceil(W / stride)): split into phase planes, shifted runs
        yield return [2, 3, 13, 11, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1];   // odd height and width: zero-padded phase rows/columns
        yield return [3, 2, 12, 12, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1];   // 4x4 stride 2 pad 1 (the VAE's layers)
        yield return [1, 2, 10, 9, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1];    // stride 3
        yield return [1, 2, 9, 8, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1];     // dilated and strided
        yield return [2, 4, 7, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2];     // groups
        // depthwise (groups = C = O): the direct per-plane kernels
        yield return [3, 6, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6];     // MobileNet's 3x3 stride 1, odd sizes
        yield return [2, 5, 11, 10, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5];   // stride 2
        yield return [2, 4, 9, 9, 4, 3, 2, 1, 2, 2, 0, 2, 1, 4];     // dilated rows, strided columns, non-square kernel
        yield return [1, 3, 3, 4, 3, 5, 5, 1, 1, 2, 2, 1, 1, 3];     // kernel larger than the unpadded input
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ForwardAndAdjointsMatchDirectReference(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        int oh = ConvShape.OutputSize(h, kh, sh, ph, dh), ow = ConvShape.OutputSize(w, kw, sw, pw, dw);
        var s = new ConvShape(n, c, h, w, o, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, groups);
        var rng = new System.Random(7);
        var x = Rand(n * s.InImage, rng); var wt = Rand(s.WeightSize, rng); var b = Rand(o, rng); var gy = Rand(n * s.OutImage, rng);
        var expected = new double[n * s.OutImage];
        Conv2d.ReferenceForward<double>(s, x, wt, b, expected);
        // images grouped into one column matrix; one image at a time; one output row per panel
        foreach (var (panel, groupPlanes) in new[] { (1 << 20, 256), (1 << 20, 0), (1, 256) })
        {
            int saved = Conv2d.PanelElements, savedGroup = Conv2d.GroupPlaneLimit;
            Conv2d.PanelElements = panel; Conv2d.GroupPlaneLimit = groupPlanes;
            try
            {
                var y = new double[n * s.OutImage];
                Conv2d.Forward<double>(s, x, wt, b, y);
                for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 1e-12);

                // <conv(x, w), gy> = <x, convT(gy, w)> = <w, wgrad(x, gy)>
                var noBias = new double[n * s.OutImage];
                Conv2d.ReferenceForward<double>(s, x, wt, default, noBias);
                double lhs = Dot(noBias, gy);
                var gx = Rand(n * s.InImage, rng);      // garbage: must be overwritten
                Conv2d.BackwardData<double>(s, gy, wt, gx);
                Assert.Equal(lhs, Dot(x, gx), 1e-9);
                var gw = Rand(s.WeightSize, rng);
                Conv2d.BackwardWeight<double>(s, x, gy, gw);
                Assert.Equal(lhs, Dot(wt, gw), 1e-9);
                var gb = new double[o];
                Conv2d.BackwardBias<double>(s, gy, gb);
                for (int oc = 0; oc < o; oc++)
                {
                    double sum = 0;
                    for (int img = 0; img < n; img++) for (int j = 0; j < oh * ow; j++) sum += gy[img * s.OutImage + oc * oh * ow + j];
                    Assert.Equal(sum, gb[oc], 1e-12);
                }
            }
            finally { Conv2d.PanelElements = saved; Conv2d.GroupPlaneLimit = savedGroup; }
        }
    }

    [Theory]
    [InlineData(7, 3, 9, 8, 5, 3, 3, 1, 1, 1)]      // batch-parallel, images of several panels when the panel is small
    [InlineData(17, 1, 12, 12, 6, 5, 5, 2, 1, 1)]   // one input channel, more images than weight chunks
    [InlineData(5, 4, 6, 7, 4, 3, 3, 1, 2, 2)]      // stride 2, groups
    [InlineData(3, 6, 5, 5, 6, 1, 1, 0, 1, 1)]      // pointwise: no column buffer
    [InlineData(9, 16, 6, 7, 20, 3, 3, 1, 1, 2)]    // stride 1 (the direct kernel), groups, images grouped with a short last group
    [InlineData(7, 8, 9, 8, 8, 3, 3, 1, 1, 8)]      // depthwise (per-plane kernels, the weight gradient split by channel)
    [InlineData(5, 6, 10, 9, 6, 3, 3, 1, 2, 6)]     // depthwise, stride 2
    public void ResultsAreBitwiseIdenticalAcrossThreadCounts(int n, int c, int h, int w, int o, int kh, int kw, int pad, int stride, int groups)
    {
        int oh = ConvShape.OutputSize(h, kh, stride, pad, 1), ow = ConvShape.OutputSize(w, kw, stride, pad, 1);
        var s = new ConvShape(n, c, h, w, o, oh, ow, kh, kw, stride, stride, pad, pad, 1, 1, groups);
        var rng = new System.Random(11);
        var x = Rand(n * s.InImage, rng).Select(v => (float)v).ToArray();
        var wt = Rand(s.WeightSize, rng).Select(v => (float)v).ToArray();
        var b = Rand(o, rng).Select(v => (float)v).ToArray();
        var gy = Rand(n * s.OutImage, rng).Select(v => (float)v).ToArray();
        var expected = new float[n * s.OutImage];
        Conv2d.ReferenceForward<float>(s, x, wt, b, expected);
        float[]? y0 = null, gx0 = null, gw0 = null;
        int savedThreads = KernelThreadPool.ThreadCount, savedPanel = Conv2d.PanelElements;
        try
        {
            foreach (int panel in new[] { savedPanel, 40 })
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelThreadPool.SetThreadCount(threads);
                    Conv2d.PanelElements = panel;   // 40: one image (and one output row) per column panel
                    var y = new float[expected.Length]; var gx = new float[x.Length]; var gw = new float[wt.Length];
                    Conv2d.Forward<float>(s, x, wt, b, y);
                    Conv2d.BackwardData<float>(s, gy, wt, gx);
                    Conv2d.BackwardWeight<float>(s, x, gy, gw);
                    for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 1e-4f);
                    if (panel != savedPanel) continue; // a different panel splits the sums differently
                    if (y0 == null) { y0 = y; gx0 = gx; gw0 = gw; continue; }
                    Assert.Equal(y0, y); Assert.Equal(gx0, gx); Assert.Equal(gw0, gw);
                }
        }
        finally { KernelThreadPool.SetThreadCount(savedThreads); Conv2d.PanelElements = savedPanel; }
    }

    [Fact]
    public void FloatForwardMatchesReference()
    {
        var s = new ConvShape(2, 4, 7, 6, 6, 4, 3, 3, 3, 2, 1, 1, 1, 1, 2, 2);
        var rng = new System.Random(3);
        var x = Rand(2 * s.InImage, rng).Select(v => (float)v).ToArray();
        var wt = Rand(s.WeightSize, rng).Select(v => (float)v).ToArray();
        var expected = new float[2 * s.OutImage]; var y = new float[2 * s.OutImage];
        Conv2d.ReferenceForward<float>(s, x, wt, default, expected);
        Conv2d.Forward<float>(s, x, wt, default, y);
        for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 1e-4f);
    }

    public static IEnumerable<object[]> FloatGeometries()
    {
        // n, c, h, w, o, k, stride, pad, groups: float runs the vectorised stride-2 row gather/scatter, double the scalar loops
        yield return [3, 1, 28, 28, 5, 4, 2, 1, 1];      // the VAE's first layer
        yield return [2, 3, 13, 11, 4, 4, 2, 1, 1];      // odd sizes, 4x4 stride 2
        yield return [2, 2, 9, 70, 3, 3, 2, 1, 1];       // rows of 35 outputs: several 16-wide chunks
        yield return [17, 2, 7, 7, 3, 3, 2, 0, 1];       // odd batch, no padding
        yield return [2, 3, 11, 13, 4, 3, 1, 1, 1];      // stride 1, same width
        yield return [2, 2, 8, 67, 3, 3, 2, 1, 1];       // odd width of 67: phase rows of 34 and 33, the 16-wide deinterleave
        yield return [2, 3, 6, 64, 2, 4, 2, 1, 1];       // even width of 64: whole 32-element interleaved chunks
        // stride 1: the direct kernel (float) against im2col + GEMM (double)
        yield return [3, 5, 7, 9, 11, 3, 1, 1, 1];       // 11 output channels: a partial 8-row tile; odd sizes
        yield return [2, 4, 6, 5, 8, 5, 1, 2, 1];        // 5x5, 8 output channels
        yield return [2, 9, 6, 5, 3, 3, 1, 1, 1];        // 3 output channels (im2col + GEMM), 9 input channels (a direct input gradient)
        yield return [17, 2, 4, 4, 20, 3, 1, 0, 1];      // odd batch (groups of images and a short last group), no padding
        yield return [2, 3, 5, 7, 9, 2, 1, 1, 1];        // even kernel: the output one row and column larger than the input
        yield return [2, 40, 3, 3, 16, 3, 1, 1, 1];      // many input channels on a 3x3 image (taps far apart in the grid)
        yield return [2, 2, 3, 3, 70, 3, 1, 1, 1];       // more output channels than the direct kernel takes: im2col + GEMM
        yield return [3, 24, 5, 6, 27, 3, 1, 1, 3];      // groups: 8 -> 9 channels per group
        yield return [40, 2, 28, 28, 8, 3, 1, 1, 1];     // 20 groups of 2 images: weight-gradient chunks of several groups
        // depthwise stride 1: the direct float kernels (padded planes, 8-lane rows, scalar tails) against double im2col
        yield return [3, 16, 14, 14, 16, 3, 1, 1, 16];   // MobileNet's 3x3
        yield return [2, 6, 5, 13, 6, 5, 1, 2, 6];       // 5x5 pad 2, rows of 13 (one vector and a tail)
        yield return [3, 4, 7, 6, 4, 2, 1, 1, 4];        // even kernel: the output a row and column larger, rows under 8
        yield return [2, 5, 9, 17, 5, 3, 1, 0, 5];       // no padding
        // depthwise stride 2 (the stride-1 kernels on the kept rows / zero-inserted gradients)
        yield return [2, 8, 11, 12, 8, 3, 2, 1, 8];      // odd height, even width
        yield return [3, 5, 14, 14, 5, 3, 2, 1, 5];      // MobileNet's stride-2 layer, small
        yield return [2, 4, 9, 10, 4, 5, 2, 2, 4];       // 5x5 (the general-kernel loops)
        yield return [2, 3, 8, 8, 3, 3, 2, 0, 3];        // no padding: the last input row and column unused
    }

    [Theory]
    [MemberData(nameof(FloatGeometries))]
    public void FloatKernelsMatchTheDoubleKernels(int n, int c, int h, int w, int o, int k, int stride, int pad, int groups)
    {
        int oh = ConvShape.OutputSize(h, k, stride, pad, 1), ow = ConvShape.OutputSize(w, k, stride, pad, 1);
        var s = new ConvShape(n, c, h, w, o, oh, ow, k, k, stride, stride, pad, pad, 1, 1, groups);
        var rng = new System.Random(13);
        var x = Rand(n * s.InImage, rng); var wt = Rand(s.WeightSize, rng); var gy = Rand(n * s.OutImage, rng);
        static float[] F(double[] a) => a.Select(v => (float)v).ToArray();
        foreach (var (panel, groupPlanes) in new[] { (1 << 16, 256), (1 << 20, 0), (1, 256) })
        {
            int saved = Conv2d.PanelElements, savedGroup = Conv2d.GroupPlaneLimit;
            Conv2d.PanelElements = panel; Conv2d.GroupPlaneLimit = groupPlanes;
            try
            {
                var y = new double[n * s.OutImage]; var yf = new float[y.Length];
                Conv2d.Forward<double>(s, x, wt, default, y); Conv2d.Forward<float>(s, F(x), F(wt), default, yf);
                var gx = new double[x.Length]; var gxf = new float[x.Length];
                Conv2d.BackwardData<double>(s, gy, wt, gx); Conv2d.BackwardData<float>(s, F(gy), F(wt), gxf);
                var gw = new double[wt.Length]; var gwf = new float[wt.Length];
                Conv2d.BackwardWeight<double>(s, x, gy, gw); Conv2d.BackwardWeight<float>(s, F(x), F(gy), gwf);
                foreach (var (d, f) in new[] { (y, yf), (gx, gxf), (gw, gwf) })
                    for (int i = 0; i < d.Length; i++) Assert.True(Math.Abs(d[i] - f[i]) <= 1e-4 * (1 + Math.Abs(d[i])), $"{i}: {f[i]} vs {d[i]}");
            }
            finally { Conv2d.PanelElements = saved; Conv2d.GroupPlaneLimit = savedGroup; }
        }
    }

    [Fact]
    public void DepthwiseKernelsMatchTheIm2ColRoute()
    {
        // the direct depthwise kernels against the grouped im2col + GEMM route they replace, on float data: stride 1, 2 and
        // mixed, 3x3 and 5x3 kernels, odd sizes
        foreach (var (kh, kw, sh, sw, ph, pw) in new[] { (3, 3, 1, 1, 1, 1), (3, 3, 2, 2, 1, 1), (3, 3, 2, 1, 1, 1), (5, 3, 1, 2, 2, 0), (3, 3, 2, 2, 2, 2) })
        {
            int h = 15, w = 13;
            int oh = ConvShape.OutputSize(h, kh, sh, ph, 1), ow = ConvShape.OutputSize(w, kw, sw, pw, 1);
            DepthwiseMatches(new ConvShape(4, 24, h, w, 24, oh, ow, kh, kw, sh, sw, ph, pw, 1, 1, 24));
        }
    }

    static void DepthwiseMatches(ConvShape s)
    {
        var rng = new System.Random(5);
        float[] F(int n) => Rand(n, rng).Select(v => (float)v).ToArray();
        var x = F(s.Batch * s.InImage); var wt = F(s.WeightSize); var b = F(s.OutChannels); var gy = F(s.Batch * s.OutImage);
        (float[] Y, float[] GX, float[] GW) Run(bool direct)
        {
            bool saved = Conv2d.DepthwiseEnabled;
            Conv2d.DepthwiseEnabled = direct;
            try
            {
                var y = new float[gy.Length]; var gx = new float[x.Length]; var gw = new float[wt.Length];
                Conv2d.Forward<float>(s, x, wt, b, y);
                Conv2d.BackwardData<float>(s, gy, wt, gx);
                Conv2d.BackwardWeight<float>(s, x, gy, gw);
                return (y, gx, gw);
            }
            finally { Conv2d.DepthwiseEnabled = saved; }
        }
        var (y1, gx1, gw1) = Run(true);
        var (y0, gx0, gw0) = Run(false);
        for (int i = 0; i < y0.Length; i++) Assert.True(Math.Abs(y0[i] - y1[i]) <= 1e-5f, $"{s}: output {i}");
        for (int i = 0; i < gx0.Length; i++) Assert.True(Math.Abs(gx0[i] - gx1[i]) <= 1e-5f, $"{s}: input gradient {i}");
        for (int i = 0; i < gw0.Length; i++) Assert.True(Math.Abs(gw0[i] - gw1[i]) <= 1e-3f, $"{s}: weight gradient {i}");   // sums over ≤ 4 × 195 positions
    }

    [Fact]
    public void SameWidthUnfoldAndFoldMatchTheGeneralPath()
    {
        // the shifted-run path (stride 1, outW == width) against the general row-by-row path on a column panel of rows
        // [1, 4) of a 5 x 6 image (3 x 3 kernel, padding 1): unfold via Unfold, fold via the conv's scratch-column fold
        var rng = new System.Random(11);
        int c = 3, h = 5, w = 6, k = 3, rows = 3, panel = rows * w;
        var img = Rand(c * h * w, rng);
        var cols = new double[c * k * k * panel];
        Im2Col.Unfold<double>(img, c, h, w, k, k, 1, 1, 1, 1, 1, 1, w, 1, 4, cols);
        for (int ch = 0; ch < c; ch++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                    for (int r = 0; r < rows; r++)
                        for (int ow = 0; ow < w; ow++)
                        {
                            int ih = 1 + r - 1 + ki, iw = ow - 1 + kj;
                            double expected = (uint)ih < h && (uint)iw < w ? img[(ch * h + ih) * w + iw] : 0;
                            Assert.Equal(expected, cols[((ch * k + ki) * k + kj) * panel + r * w + ow]);
                        }
        var other = Rand(cols.Length, rng);
        var general = new double[img.Length];
        Im2Col.FoldAdd<double>(other, c, h, w, k, k, 1, 1, 1, 1, 1, 1, w, 1, 4, general);
        var shifted = new double[img.Length];
        unsafe
        {
            fixed (double* src = (double[])other.Clone(), dst = shifted)
                Im2Col.FoldAddCore(src, c, h, w, k, k, 1, 1, 1, 1, 1, 1, w, 1, 4, dst, panel, colsAreScratch: true);
        }
        for (int i = 0; i < img.Length; i++) Assert.Equal(general[i], shifted[i], 1e-12);
    }

    [Fact]
    public void Im2ColFoldIsTheAdjointOfUnfold()
    {
        var rng = new System.Random(5);
        int c = 2, h = 5, w = 7, kh = 2, kw = 3, sh = 2, sw = 2, ph = 1, pw = 2, dh = 2, dw = 1;
        int oh = ConvShape.OutputSize(h, kh, sh, ph, dh), ow = ConvShape.OutputSize(w, kw, sw, pw, dw);
        var img = Rand(c * h * w, rng); var cols = new double[c * kh * kw * oh * ow];
        Im2Col.Unfold<double>(img, c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, ow, 0, oh, cols);
        var other = Rand(cols.Length, rng); var folded = new double[img.Length];
        Im2Col.FoldAdd<double>(other, c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, ow, 0, oh, folded);
        Assert.Equal(Dot(cols, other), Dot(img, folded), 1e-10);
    }

    [Fact]
    public void PoolingOutputSizeFollowsPyTorch()
    {
        Assert.Equal(3, PoolShape.OutputSize(5, 2, 2, 0, 1, ceilMode: true));
        Assert.Equal(2, PoolShape.OutputSize(5, 2, 2, 0, 1, ceilMode: false));
        // ceil mode: the last window must start inside the input or the left padding
        Assert.Equal(4, PoolShape.OutputSize(6, 2, 2, 1, 1, ceilMode: true));
        Assert.Equal(3, PoolShape.OutputSize(5, 2, 2, 1, 1, ceilMode: true));  // a 4th window would start in the right padding
        Assert.Equal(5, PoolShape.OutputSize(9, 3, 2, 1, 1, ceilMode: true));
    }
}
