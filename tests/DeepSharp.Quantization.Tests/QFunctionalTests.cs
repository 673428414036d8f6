using DeepSharp.Quantization;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class QFunctionalTests
{
    static QuantizedTensor Input(System.Text.Json.JsonElement c, string name) =>
        QuantizedTensor.FromRaw(Vals(c.GetProperty(name)).Select(v => (byte)v).ToArray(), ShapeOf(c.GetProperty(name)), QuantDType.QUInt8,
            [c.GetProperty(name + "_scale").GetDouble()], [c.GetProperty(name + "_zp").GetInt64()]);

    [Theory]
    [InlineData("qfunctional_add")]
    [InlineData("qfunctional_add_relu")]
    [InlineData("qfunctional_cat")]
    public void MatchesPyTorchOnednn(string name)
    {
        var c = Case(name);
        var f = new QFunctional(new OutputQParams((float)c.GetProperty("out_scale").GetDouble(), c.GetProperty("out_zp").GetInt32()));
        var a = Input(c, "a"); var b = Input(c, "b");
        var y = name switch
        {
            "qfunctional_add" => f.Add(a, b),
            "qfunctional_add_relu" => f.AddRelu(a, b),
            _ => f.Cat([a, b], 1),
        };
        Assert.Equal(ShapeOf(c.GetProperty("y")), y.Shape.ToArray());
        var expected = Vals(c.GetProperty("y"));
        var actual = y.Data.ToArray().Select(v => (double)v).ToArray();
        Assert.Equal(expected, actual);
        Assert.True(expected.Distinct().Count() > 20, "the case should cover many output values");
    }

    [Fact]
    public void BadShapesAreRefused()
    {
        var f = new QFunctional(new OutputQParams(0.1f, 0));
        var a = QuantizedTensor.FromRaw(new byte[6], [2, 3], QuantDType.QUInt8, [0.1], [0]);
        var b = QuantizedTensor.FromRaw(new byte[8], [2, 4], QuantDType.QUInt8, [0.1], [0]);
        Assert.Contains("differ", Assert.Throws<ArgumentException>(() => f.Add(a, b)).Message);
        Assert.Equal(new[] { 2, 7 }, f.Cat([a, b], 1).Shape.ToArray());
        Assert.Contains("differ outside dim 0", Assert.Throws<ArgumentException>(() => f.Cat([a, b], 0)).Message);
    }
}
