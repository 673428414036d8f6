using DeepSharp.Quantization;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class QuantizeTests
{
    [Theory]
    [InlineData("quant_tensor_quint8")]
    [InlineData("quant_tensor_qint8")]
    [InlineData("quant_tensor_halfway_qint8")]
    [InlineData("quant_tensor_halfway_quint8")]
    public void PerTensorMatchesPyTorch(string name)
    {
        var c = Case(name);
        var q = QuantizedTensor.QuantizePerTensor(Tensor(c.GetProperty("x")), c.GetProperty("scale").GetDouble(),
            c.GetProperty("zero_point").GetInt64(), QDType(c.GetProperty("dtype").GetString()!));
        Assert.Equal(Vals(c.GetProperty("int_repr")), Doubles(q.IntRepr()));
        AssertClose(Vals(c.GetProperty("dequant")), Doubles(q.Dequantize()), 1e-6, 1e-7, name);
    }

    [Theory]
    [InlineData("quant_channel_qint8_axis0")]
    [InlineData("quant_channel_quint8_axis1")]
    public void PerChannelMatchesPyTorch(string name)
    {
        var c = Case(name);
        var q = QuantizedTensor.QuantizePerChannel(Tensor(c.GetProperty("x")), Vals(c.GetProperty("scales")),
            Vals(c.GetProperty("zero_points")).Select(z => (long)z).ToArray(), c.GetProperty("axis").GetInt32(), QDType(c.GetProperty("dtype").GetString()!));
        Assert.Equal(Vals(c.GetProperty("int_repr")), Doubles(q.IntRepr()));
        AssertClose(Vals(c.GetProperty("dequant")), Doubles(q.Dequantize()), 1e-6, 1e-7, name);
    }

    [Fact]
    public void RoundsHalfToEvenAndClamps()
    {
        var q = QuantizedTensor.QuantizePerTensor(DeepSharp.Tensor.FromArray(new[] { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000f, -1000f }), 1.0, 0, QuantDType.QInt8);
        Assert.Equal(new[] { 0, 2, 2, 0, -2, 127, -128 }, q.IntRepr().ToArray<int>());
    }

    [Theory]
    [InlineData(QuantDType.QUInt8, 0.02, 128)]
    [InlineData(QuantDType.QUInt8, 1.0, 0)]
    [InlineData(QuantDType.QInt8, 0.5, -3)]
    [InlineData(QuantDType.QInt8, 0.013, 0)]
    public void VectorPerTensorPathMatchesTheScalarRule(QuantDType dtype, double scale, long zeroPoint)
    {
        // lengths around the 32-value step (tail only, one step, steps and tail), values that land on .5 ties, the range
        // ends, beyond them, NaN and the infinities: every byte equals QuantizeValue's
        var rng = new System.Random(7);
        float inv = 1f / (float)scale;
        foreach (int n in new[] { 1, 31, 32, 33, 100, 257 })
        {
            var x = new float[n];
            for (int i = 0; i < n; i++)
                x[i] = (i % 7) switch
                {
                    0 => (float)((rng.Next(-300, 300) + 0.5) * scale),
                    1 => float.NaN,
                    2 => i % 2 == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                    3 => (float)(rng.NextDouble() * 1e6 - 5e5),
                    _ => (float)((rng.NextDouble() * 2 - 1) * 200 * scale),
                };
            var range = QuantRange.Full(dtype);
            var q = new byte[n];
            QuantizedTensor.QuantizePerTensorInto(x, inv, zeroPoint, range, q);
            var expected = x.Select(v => (byte)QuantizedTensor.QuantizeValue(v, inv, zeroPoint, range)).ToArray();
            Assert.Equal(expected, q);
            var t = QuantizedTensor.QuantizePerTensor(DeepSharp.Tensor.FromArray(x), scale, zeroPoint, dtype);
            Assert.Equal(expected, t.Data.ToArray());
        }
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var x = DeepSharp.Tensor.Randn(2, 3);
        Assert.Contains("scale", Assert.Throws<ArgumentException>(() => QuantizedTensor.QuantizePerTensor(x, 0, 0, QuantDType.QInt8)).Message);
        Assert.Contains("zero point 300", Assert.Throws<ArgumentException>(() => QuantizedTensor.QuantizePerTensor(x, 0.1, 300, QuantDType.QUInt8)).Message);
        var e = Assert.Throws<ArgumentException>(() => QuantizedTensor.QuantizePerChannel(x, [0.1, 0.1], [0, 0], 1, QuantDType.QInt8));
        Assert.Contains("(2, 3)", e.Message);
    }

    [Theory]
    [InlineData(QuantDType.QInt8, false, -128, 127)]
    [InlineData(QuantDType.QInt8, true, -64, 63)]
    [InlineData(QuantDType.QUInt8, false, 0, 255)]
    [InlineData(QuantDType.QUInt8, true, 0, 127)]
    public void RangesFollowCalculateQminQmax(QuantDType dtype, bool reduce, int lo, int hi) =>
        Assert.Equal(new QuantRange(lo, hi), QuantRange.For(dtype, reduce));
}
