using System.Text.Json;
using DeepSharp.Quantization;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class ObserverTests
{
    public static TheoryData<string> Cases() => new(Names("obs_"));

    static Observer Make(JsonElement args, string kind)
    {
        var dtype = QDType(args.GetProperty("dtype").GetString()!);
        bool rr = args.GetProperty("reduce_range").GetBoolean();
        var qs = args.GetProperty("qscheme").GetString() switch
        {
            "affine" => QScheme.PerTensorAffine, "symmetric" => QScheme.PerTensorSymmetric,
            "channel_affine" => QScheme.PerChannelAffine, _ => QScheme.PerChannelSymmetric,
        };
        int? qmin = args.TryGetProperty("quant_min", out var a) ? a.GetInt32() : null;
        int? qmax = args.TryGetProperty("quant_max", out var b) ? b.GetInt32() : null;
        float avg = args.TryGetProperty("averaging_constant", out var c) ? (float)c.GetDouble() : 0.01f;
        int axis = args.TryGetProperty("axis", out var d) ? d.GetInt32() : 0;
        return kind switch
        {
            "minmax" => new MinMaxObserver(dtype, qs, rr, qmin, qmax),
            "moving" => new MovingAverageMinMaxObserver(avg, dtype, qs, rr, qmin, qmax),
            "channel" => new PerChannelMinMaxObserver(axis, dtype, qs, rr, qmin, qmax),
            "channel_moving" => new MovingAveragePerChannelMinMaxObserver(avg, axis, dtype, qs, rr, qmin, qmax),
            "histogram" => new HistogramObserver(dtype: dtype, qscheme: qs, reduceRange: rr),
            _ => throw new ArgumentException(kind),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        var c = Case(name);
        var obs = Make(c.GetProperty("args"), c.GetProperty("kind").GetString()!);
        foreach (var b in c.GetProperty("batches").EnumerateArray())
        {
            var x = Tensor(b);
            Assert.Same(x, obs.Call(x));
        }
        var (min, max) = obs switch
        {
            MinMaxObserver m => (new double[] { m.MinVal }, new double[] { m.MaxVal }),
            PerChannelMinMaxObserver p => (p.MinVal.Select(v => (double)v).ToArray(), p.MaxVal.Select(v => (double)v).ToArray()),
            HistogramObserver h => (new double[] { h.MinVal }, new double[] { h.MaxVal }),
            _ => throw new InvalidOperationException(),
        };
        AssertClose(Vals(c.GetProperty("min")), min, 1e-6, 1e-7, name + " min");
        AssertClose(Vals(c.GetProperty("max")), max, 1e-6, 1e-7, name + " max");
        if (obs is HistogramObserver hist) AssertClose(Vals(c.GetProperty("histogram")), hist.Histogram.Select(v => (double)v).ToArray(), 0, 1e-3, name + " histogram");
        var qp = obs.CalculateQParams();
        AssertClose(Vals(c.GetProperty("scale")), qp.Scale.Select(v => (double)v).ToArray(), 1e-6, 0, name + " scale");
        Assert.Equal(Vals(c.GetProperty("zero_point")), qp.ZeroPoint.Select(v => (double)v).ToArray());
    }

    [Fact]
    public void UnobservedGivesUnitScale()
    {
        var qp = new MinMaxObserver().CalculateQParams();
        Assert.Equal([1f], qp.Scale);
        Assert.Equal([0L], qp.ZeroPoint);
    }

    [Fact]
    public void SymmetricQuint8WithReducedRangeIsRefused() =>
        Assert.Throws<ArgumentException>(() => new MinMaxObserver(QuantDType.QUInt8, QScheme.PerTensorSymmetric, reduceRange: true));
}
