using DeepSharp.NN;
using DeepSharp.Quantization;

namespace DeepSharp.Quantization.Tests;

/// <summary>The channels-last im2col + requantizing GEMM convolution and the pooling fast path against plain loops.</summary>
public class QuantizedConvPathTests
{
    static QuantizedTensor RandomActivation(int[] shape, int seed, float scale = 0.03f, int zeroPoint = 7)
    {
        var rng = new System.Random(seed);
        int n = shape.Aggregate(1, (a, b) => a * b);
        var data = new byte[n];
        for (int i = 0; i < n; i++) data[i] = (byte)rng.Next(0, 256);
        return QuantizedTensor.FromRaw(data, shape, QuantDType.QUInt8, [scale], [zeroPoint]);
    }

    [Theory]
    [InlineData(2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, false)]
    [InlineData(1, 4, 8, 7, 17, 3, 2, 2, 2, 1, 1, true)]
    [InlineData(3, 1, 6, 6, 8, 5, 5, 1, 2, 2, 1, false)]
    [InlineData(2, 6, 12, 13, 8, 3, 3, 2, 1, 1, 2, true)]
    public void ConvolutionMatchesIntegerLoops(int b, int c, int h, int w, int outC, int kh, int kw, int stride, int pad, int dilationH, int dilationW, bool relu)
    {
        var rng = new System.Random(b * 100 + c * 10 + h);
        var wf = Tensor.FromArray(Enumerable.Range(0, outC * c * kh * kw).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), [outC, c * kh * kw]);
        var bias = Tensor.FromArray(Enumerable.Range(0, outC).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), [outC]);
        var weights = QuantizedLinearWeights.FromFloat(wf, bias);
        var output = new OutputQParams(0.05f, 100);
        var conv = new QuantizedConv2d(weights, c, (kh, kw), (stride, stride), (pad, pad), (dilationH, dilationW), output, relu);
        var x = RandomActivation([b, c, h, w], 3);
        var y = conv.Call(x);
        int oh = (h + 2 * pad - dilationH * (kh - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilationW * (kw - 1) - 1) / stride + 1;
        Assert.Equal(new[] { b, outC, oh, ow }, y.Shape.ToArray());
        var q = weights.Weight.Int8Data; var xd = x.Data; var yd = y.Data;
        int mismatches = 0, distinct = yd.ToArray().Distinct().Count();
        for (int n = 0; n < b; n++)
            for (int o = 0; o < outC; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        int acc = 0;
                        for (int ch = 0; ch < c; ch++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                {
                                    int r = i * stride - pad + u * dilationH, s = j * stride - pad + v * dilationW;
                                    int xv = r >= 0 && r < h && s >= 0 && s < w ? xd[((n * c + ch) * h + r) * w + s] : 7;
                                    acc += (xv - 7) * q[o * c * kh * kw + (ch * kh + u) * kw + v];
                                }
                        float yf = acc * (0.03f * weights.Scales[o]) + weights.Bias![o];
                        float qv = 100 + MathF.Round(yf * (1f / 0.05f));
                        int expected = (int)Math.Clamp(qv, relu ? 100 : 0, 255);
                        if (yd[((n * outC + o) * oh + i) * ow + j] != expected) mismatches++;
                    }
        Assert.Equal(0, mismatches);
        Assert.True(distinct > 10, $"outputs should spread over the range, got {distinct} distinct values");
    }

    [Fact]
    public void ZeroDilationOrStrideIsRefused()
    {
        var weights = QuantizedLinearWeights.FromFloat(Tensor.Ones(2, 9), null);
        var e = Assert.Throws<ArgumentException>(() => new QuantizedConv2d(weights, 1, (3, 3), (1, 1), (1, 1), (0, 1), new OutputQParams(0.1f, 0)));
        Assert.Contains("dilation", e.Message);
        Assert.Throws<ArgumentException>(() => new QuantizedConv2d(weights, 1, (3, 3), (0, 1), (1, 1), (1, 1), new OutputQParams(0.1f, 0)));
    }

    [Theory]
    [InlineData(2, 2, 2, 0)]   // the 2×2/2 fast path
    [InlineData(3, 2, 2, 1)]   // windows crossing the padding
    [InlineData(2, 2, 1, 0)]
    public void MaxPoolMatchesLoops(int kernel, int stride, int unused, int pad)
    {
        _ = unused;
        var x = RandomActivation([2, 3, 9, 10], kernel * 10 + pad);
        var y = new QuantizedMaxPool2d((kernel, kernel), (stride, stride), (pad, pad)).Call(x);
        int h = 9, w = 10, oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
        Assert.Equal(new[] { 2, 3, oh, ow }, y.Shape.ToArray());
        for (int p = 0; p < 6; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int best = -1;
                    for (int u = 0; u < kernel; u++)
                        for (int v = 0; v < kernel; v++)
                        {
                            int r = i * stride - pad + u, s = j * stride - pad + v;
                            if (r >= 0 && r < h && s >= 0 && s < w) best = Math.Max(best, x.Data[(p * h + r) * w + s]);
                        }
                    Assert.Equal(best, y.Data[(p * oh + i) * ow + j]);
                }
    }
}
