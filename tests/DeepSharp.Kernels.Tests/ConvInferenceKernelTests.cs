using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The inference convolution (prepacked weights, direct depthwise kernel, fused epilogue) against the direct-loop reference.</summary>
[Collection("KernelThreads")]
public class ConvInferenceKernelTests
{
    static double[] Rand(int n, System.Random rng) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    static double Act(double v, FusedActivation a) => a switch
    {
        FusedActivation.Relu => Math.Max(0, v),
        FusedActivation.Relu6 => Math.Min(6, Math.Max(0, v)),
        FusedActivation.Silu => v / (1 + Math.Exp(-v)),
        _ => v,
    };

    public static IEnumerable<object[]> Geometries()
    {
        // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups
        yield return [2, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1];      // 3x3 stride 1
        yield return [1, 4, 9, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1];      // 3x3 stride 2
        yield return [3, 5, 6, 7, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1];      // 1x1: GEMM on the input itself
        yield return [1, 4, 8, 8, 6, 1, 1, 2, 2, 0, 0, 1, 1, 1];      // 1x1 stride 2 (ResNet downsample)
        yield return [1, 3, 15, 13, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1];    // 7x7 stride-2 stem
        yield return [2, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6];      // depthwise 3x3
        yield return [1, 5, 8, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5];      // depthwise 3x3 stride 2
        yield return [1, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 4];      // depthwise dilated
        yield return [2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2];      // grouped
        yield return [1, 64, 12, 12, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1];  // several micro-kernel tiles and row blocks
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void PackedForwardMatchesReferenceWithEpilogue(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        int oh = ConvShape.OutputSize(h, kh, sh, ph, dh), ow = ConvShape.OutputSize(w, kw, sw, pw, dw);
        var s = new ConvShape(n, c, h, w, o, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, groups);
        var rng = new System.Random(11);
        var x = Rand(n * s.InImage, rng); var wt = Rand(s.WeightSize, rng); var b = Rand(o, rng); var res = Rand(n * s.OutImage, rng);
        for (int i = 0; i < wt.Length; i++) wt[i] *= 3;    // outputs beyond 6 exercise ReLU6's upper bound
        var reference = new double[n * s.OutImage];
        Conv2d.ReferenceForward<double>(s, x, wt, b, reference);
        var packed = Conv2d.PackWeight<double>(o, c / groups, kh, kw, groups, wt);
        Assert.Equal(c / groups == 1 && o == groups, packed.IsDepthwise);
        int saved = Conv2d.InferencePanelElements;
        try
        {
            foreach (int panel in new[] { 1 << 18, 1 })      // whole images, one output row per panel
            {
                Conv2d.InferencePanelElements = panel;
                foreach (var act in new[] { FusedActivation.None, FusedActivation.Relu, FusedActivation.Relu6, FusedActivation.Silu })
                    foreach (bool withResidual in new[] { false, true })
                    {
                        var y = Rand(n * s.OutImage, rng);   // garbage: must be overwritten
                        Conv2d.ForwardPacked<double>(s, x, packed, b, withResidual ? res : default, act, y);
                        for (int i = 0; i < y.Length; i++)
                            Assert.Equal(Act(reference[i] + (withResidual ? res[i] : 0), act), y[i], 1e-12);
                    }
            }
        }
        finally { Conv2d.InferencePanelElements = saved; }

        // no bias: the plain convolution
        var plain = new double[n * s.OutImage]; var expected = new double[n * s.OutImage];
        Conv2d.ReferenceForward<double>(s, x, wt, default, expected);
        Conv2d.ForwardPacked<double>(s, x, packed, default, default, FusedActivation.None, plain);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(expected[i], plain[i], 1e-12);
    }

    [Fact]
    public void PackedForwardFloatMatchesReference()
    {
        var s = new ConvShape(2, 16, 10, 10, 24, 10, 10, 3, 3, 1, 1, 1, 1);
        var rng = new System.Random(3);
        var x = Rand(2 * s.InImage, rng).Select(v => (float)v).ToArray(); var wt = Rand(s.WeightSize, rng).Select(v => (float)v).ToArray();
        var b = Rand(24, rng).Select(v => (float)v).ToArray();
        var expected = new float[2 * s.OutImage]; var y = new float[2 * s.OutImage];
        Conv2d.ReferenceForward<float>(s, x, wt, b, expected);
        Conv2d.ForwardPacked<float>(s, x, Conv2d.PackWeight<float>(24, 16, 3, 3, 1, wt), b, default, FusedActivation.Relu, y);
        for (int i = 0; i < y.Length; i++) Assert.Equal(Math.Max(0, expected[i]), y[i], 1e-4);
    }

    [Fact]
    public void DepthwiseForwardMatchesReference()
    {
        var s = new ConvShape(2, 7, 11, 10, 7, 6, 5, 3, 3, 2, 2, 1, 1, Groups: 7);
        var rng = new System.Random(5);
        var x = Rand(2 * s.InImage, rng); var wt = Rand(s.WeightSize, rng); var b = Rand(7, rng);
        var expected = new double[2 * s.OutImage]; var y = new double[2 * s.OutImage];
        Conv2d.ReferenceForward<double>(s, x, wt, b, expected);
        Conv2d.DepthwiseForward<double>(s, x, wt, b, default, FusedActivation.None, y);
        for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 1e-12);
        Assert.Throws<ArgumentException>(() => Conv2d.DepthwiseForward<double>(s with { Groups = 1 }, x, wt, b, default, FusedActivation.None, y));
    }

    [Fact]
    public void FloatDepthwiseForwardMatchesReferenceWithEpilogue()
    {
        // the float32 direct depthwise kernel (padded planes; stride-2 columns phase-split; the last 1-7 outputs of a row
        // under a mask) with bias, residual and activation, against the double reference, through ForwardPacked and
        // DepthwiseForward; widths on both sides of the 8-lane vectors, every stride combination, odd kernels and paddings
        var rng = new System.Random(17);
        foreach (var (h, w) in new[] { (7, 7), (14, 14), (9, 13), (5, 16), (11, 17), (3, 1) })
            foreach (var (kh, kw) in new[] { (3, 3), (5, 5), (3, 5), (1, 1) })
                foreach (var (sh, sw) in new[] { (1, 1), (2, 2), (1, 2), (2, 1) })
                    foreach (int pad in new[] { 0, 1, 2 })
                    {
                        int ph = Math.Min(pad, kh - 1), pw = Math.Min(pad, kw - 1);
                        int oh = ConvShape.OutputSize(h, kh, sh, ph, 1), ow = ConvShape.OutputSize(w, kw, sw, pw, 1);
                        if (oh <= 0 || ow <= 0) continue;
                        int n = 2, c = 3;
                        var s = new ConvShape(n, c, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, 1, 1, c);
                        var x = Rand(n * s.InImage, rng); var wt = Rand(s.WeightSize, rng); var b = Rand(c, rng); var res = Rand(n * s.OutImage, rng);
                        for (int i = 0; i < wt.Length; i++) wt[i] *= 3;
                        var reference = new double[n * s.OutImage];
                        Conv2d.ReferenceForward<double>(s, x, wt, b, reference);
                        float[] Fl(double[] a) => a.Select(v => (float)v).ToArray();
                        float[] xf = Fl(x), wf = Fl(wt), bf = Fl(b), rf = Fl(res);
                        var packed = Conv2d.PackWeight<float>(c, 1, kh, kw, c, wf);
                        foreach (var act in new[] { FusedActivation.None, FusedActivation.Relu, FusedActivation.Relu6, FusedActivation.Silu })
                        foreach (bool withResidual in new[] { false, true })   // without one, ReLU/ReLU6 clamp in registers
                        {
                            var y = Fl(Rand(n * s.OutImage, rng)); var y2 = Fl(Rand(n * s.OutImage, rng));   // garbage: must be overwritten
                            Conv2d.ForwardPacked<float>(s, xf, packed, bf, withResidual ? rf : default, act, y);
                            Conv2d.DepthwiseForward<float>(s, xf, wf, bf, withResidual ? rf : default, act, y2);
                            for (int i = 0; i < y.Length; i++)
                            {
                                double expected = Act(reference[i] + (withResidual ? res[i] : 0), act);
                                Assert.True(Math.Abs(expected - y[i]) <= 1e-5 * (1 + Math.Abs(expected)), $"{s} {act}: ForwardPacked {i}: {y[i]} vs {expected}");
                                Assert.Equal(y[i], y2[i]);
                            }
                        }
                    }
    }

    [Fact]
    public void WinogradForwardMatchesReferenceWithEpilogue()
    {
        // 3x3 stride-1 float32 convolutions through F(4x4, 3x3) (on for every size here: the tile minimum lowered to 1)
        // against the double reference and against the im2col route: sizes that are and are not multiples of the 4x4 tile,
        // paddings 0-2, batches whose tiles share blocks, channel counts across GEMM panels, bias/residual/activation
        var rng = new System.Random(23);
        int savedMin = Conv2d.WinogradMinTiles;
        Conv2d.WinogradMinTiles = 1;
        try
        {
            foreach (var (n, c, o, h, w, pad) in new[] { (1, 16, 16, 8, 8, 1), (2, 24, 40, 13, 11, 1), (3, 16, 33, 7, 7, 0), (1, 64, 64, 30, 29, 2), (1, 136, 20, 5, 9, 1), (2, 20, 150, 17, 6, 1) })
            {
                int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
                var s = new ConvShape(n, c, h, w, o, oh, ow, 3, 3, 1, 1, pad, pad);
                var x = Rand(n * s.InImage, rng); var wt = Rand(s.WeightSize, rng); var b = Rand(o, rng); var res = Rand(n * s.OutImage, rng);
                var reference = new double[n * s.OutImage];
                Conv2d.ReferenceForward<double>(s, x, wt, b, reference);
                float[] Fl(double[] a) => a.Select(v => (float)v).ToArray();
                var packed = Conv2d.PackWeight<float>(o, c, 3, 3, 1, Fl(wt));
                double scale = Math.Sqrt(9.0 * c);   // the size of a sum of 9c products of values in [-1, 1]
                foreach (var act in new[] { FusedActivation.None, FusedActivation.Relu, FusedActivation.Silu })
                    foreach (bool withResidual in new[] { false, true })
                    {
                        var y = Fl(Rand(n * s.OutImage, rng));
                        Conv2d.ForwardPacked<float>(s, Fl(x), packed, Fl(b), withResidual ? Fl(res) : default, act, y);
                        double worst = 0;
                        for (int i = 0; i < y.Length; i++)
                        {
                            double expected = Act(reference[i] + (withResidual ? res[i] : 0), act);
                            worst = Math.Max(worst, Math.Abs(expected - y[i]));
                        }
                        Assert.True(worst <= 1e-5 * scale, $"{s} {act} residual={withResidual}: worst error {worst:E2} against {1e-5 * scale:E2}");
                    }
                // the same through the im2col route: both within float rounding of each other; and a batch split into
                // chunks of one image (a large batch's bound on the padded copy) gives the same bits as one chunk
                var direct = new float[n * s.OutImage]; var wino = new float[n * s.OutImage]; var chunked = new float[n * s.OutImage];
                Conv2d.ForwardPacked<float>(s, Fl(x), packed, Fl(b), default, FusedActivation.None, wino);
                long savedChunk = Conv2d.WinogradChunkElements;
                Conv2d.WinogradChunkElements = 1;
                try { Conv2d.ForwardPacked<float>(s, Fl(x), packed, Fl(b), default, FusedActivation.None, chunked); }
                finally { Conv2d.WinogradChunkElements = savedChunk; }
                for (int i = 0; i < wino.Length; i++) Assert.True(Math.Abs(wino[i] - chunked[i]) <= 1e-6 * scale, $"{s}: chunked {i}: {chunked[i]} vs {wino[i]}");
                Conv2d.WinogradEnabled = false;
                try { Conv2d.ForwardPacked<float>(s, Fl(x), packed, Fl(b), default, FusedActivation.None, direct); }
                finally { Conv2d.WinogradEnabled = true; }
                for (int i = 0; i < direct.Length; i++) Assert.True(Math.Abs(direct[i] - wino[i]) <= 2e-5 * scale, $"{s}: {i} im2col {direct[i]} vs Winograd {wino[i]}");
            }
        }
        finally { Conv2d.WinogradMinTiles = savedMin; }
    }

    [Fact]
    public void PackedWeightMustMatchTheShape()
    {
        var s = new ConvShape(1, 4, 5, 5, 6, 5, 5, 3, 3, 1, 1, 1, 1);
        var packed = Conv2d.PackWeight<float>(6, 4, 1, 1, 1, new float[24]);
        var ex = Assert.Throws<ArgumentException>(() => Conv2d.ForwardPacked<float>(s, new float[100], packed, default, default, FusedActivation.None, new float[150]));
        Assert.Contains("packed weight", ex.Message);
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(13, 200, 300)]
    [InlineData(70, 33, 600)]
    public void PackedAGemmMatchesReference(int m, int n, int k)
    {
        var rng = new System.Random(m + n + k);
        var a = Rand(m * k, rng); var b = Rand(k * (n + 3), rng);
        var expected = Rand(m * (n + 1), rng); var c = (double[])expected.Clone();
        Gemm.Reference<double>(false, false, m, n, k, 1.0, a, k, b, n + 3, 1.0, expected, n + 1);
        var packed = Gemm.PackA<double>(false, m, k, a, k);
        Gemm.ComputePackedA<double>(packed, n, b, n + 3, c, n + 1, accumulate: true);
        for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], c[i], 1e-10);
        var fresh = new double[m * n]; var freshExpected = new double[m * n];
        Gemm.Reference<double>(false, false, m, n, k, 1.0, a, k, b, n + 3, 0.0, freshExpected, n);
        Gemm.ComputePackedA<double>(packed, n, b, n + 3, fresh, n);
        for (int i = 0; i < fresh.Length; i++) Assert.Equal(freshExpected[i], fresh[i], 1e-10);
    }
}
