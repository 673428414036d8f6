namespace DeepSharp.Kernels.Tests;

/// <summary>
/// Nearest 2-D upsampling's exact-doubling path (direct, split over planes) against the plain element-by-element
/// definition of upsample_nearest2d and its adjoint, bit for bit (signed zeros and NaN included), at 1 and 2 threads.
/// </summary>
[Collection("KernelThreads")]
public class UpsampleKernelTests
{
    static float[] Data(int n, int seed)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double u = rng.NextDouble();
            return u < 0.1 ? -0f : u < 0.12 ? float.NaN : u < 0.2 ? 0f : (float)(rng.NextDouble() * 2 - 1);
        }).ToArray();
    }

    // The definition: output (oh, ow) reads input (oh / 2, ow / 2); the adjoint adds each output onto that input, rows
    // then columns in order, onto zero.
    static void Reference(int planes, int h, int w, float[] x, float[] y, float[] gy, float[] gx)
    {
        Array.Clear(gx);
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < 2 * h; oh++)
                for (int ow = 0; ow < 2 * w; ow++)
                {
                    int o = (p * 2 * h + oh) * 2 * w + ow, i = (p * h + oh / 2) * w + ow / 2;
                    y[o] = x[i];
                    gx[i] += gy[o];
                }
    }

    [Theory]
    [InlineData(1, 3, 5, 7)]       // small: one serial pass
    [InlineData(1, 67, 14, 14)]    // a U-Net's 14 -> 28 with an odd plane count, split over planes
    [InlineData(2, 67, 14, 14)]
    [InlineData(2, 5, 1, 40)]      // one input row
    [InlineData(2, 130, 7, 9)]
    public void DoublingMatchesTheDefinitionBitForBit(int threads, int planes, int h, int w)
    {
        var x = Data(planes * h * w, 1);
        var gy = Data(planes * 4 * h * w, 2);
        float[] y = new float[gy.Length], gx = new float[x.Length], yRef = new float[gy.Length], gxRef = new float[x.Length];
        Reference(planes, h, w, x, yRef, gy, gxRef);
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(threads);
        try
        {
            Upsample.Nearest2d<float>(planes, h, w, 2 * h, 2 * w, 0, 0, x, y);
            Array.Fill(gx, 123f);   // overwritten, not accumulated into
            Upsample.Nearest2dBackward<float>(planes, h, w, 2 * h, 2 * w, 2.0, 2.0, gy, gx);
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
        for (int i = 0; i < y.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(yRef[i]) == BitConverter.SingleToInt32Bits(y[i]), $"forward element {i}: {y[i]} vs {yRef[i]}");
        for (int i = 0; i < gx.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(gxRef[i]) == BitConverter.SingleToInt32Bits(gx[i]) || (float.IsNaN(gx[i]) && float.IsNaN(gxRef[i])),
                $"backward element {i}: {gx[i]} vs {gxRef[i]}");
    }

    [Fact]
    public void ShortBuffersAreRejectedWithTheirSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => Upsample.Nearest2d<float>(2, 3, 3, 6, 6, 0, 0, new float[18], new float[71]));
        Assert.Contains("71", e.Message);
    }
}
