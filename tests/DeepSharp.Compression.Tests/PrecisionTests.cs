using DeepSharp.Compression.MixedPrecision;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Compression.Tests;

public class PrecisionTests
{
    static uint[] U32(string key) => GoldenFile.Case("precision", key).EnumerateArray().Select(e => e.GetUInt32()).ToArray();

    [Fact]
    public void ConversionsAreBitExactAgainstTorch()
    {
        var values = U32("values").Select(BitConverter.UInt32BitsToSingle).ToArray();
        var half = U32("half"); var bf = U32("bfloat16");
        var halfBack = U32("half_back"); var bfBack = U32("bfloat16_back");
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(half[i] == ReducedPrecision.ToHalfBits(values[i]), $"half of {values[i]:R}: torch {half[i]:X4}, got {ReducedPrecision.ToHalfBits(values[i]):X4}");
            Assert.True(bf[i] == ReducedPrecision.ToBFloat16Bits(values[i]), $"bf16 of {values[i]:R}: torch {bf[i]:X4}, got {ReducedPrecision.ToBFloat16Bits(values[i]):X4}");
            Assert.Equal(halfBack[i], BitConverter.SingleToUInt32Bits(ReducedPrecision.Round(values[i], Precision.Float16)));
            Assert.Equal(bfBack[i], BitConverter.SingleToUInt32Bits(ReducedPrecision.Round(values[i], Precision.BFloat16)));
        }
        Assert.Equal(U32("nan_half")[0], ReducedPrecision.ToHalfBits(float.NaN));
        Assert.Equal(U32("nan_bfloat16")[0], ReducedPrecision.ToBFloat16Bits(float.NaN));
        var t = Tensor.FromArray(values[..40], 40);
        Assert.Equal(bfBack[..40], ReducedPrecision.Round(t, Precision.BFloat16).ToArray<float>().Select(BitConverter.SingleToUInt32Bits));
        var stored = ReducedPrecision.ToBits(t, Precision.Float16);
        Assert.Equal(half[..40].Select(h => (ushort)h), stored);
        Assert.Equal(halfBack[..40], ReducedPrecision.FromBits(stored, [40], Precision.Float16).ToArray<float>().Select(BitConverter.SingleToUInt32Bits));
    }

    static Optimizer OneParameter(out Tensor p)
    {
        p = Module.Parameter(Tensor.FromArray(new float[] { 1, 2 }, 2));
        return new SGD([p], lr: 1);
    }

    [Fact]
    public void GradScalerSkipsAndBacksOffOnInfAndGrowsAfterTheInterval()
    {
        var opt = OneParameter(out var p);
        var scaler = new GradScaler(initScale: 8, growthInterval: 3);
        Assert.Equal(16.0, scaler.Scale(Tensor.Scalar(2.0)).Item());
        // a clean step: gradients unscaled, step taken
        p.Grad = Tensor.FromArray(new float[] { 8, 16 }, 2);
        Assert.True(scaler.Step(opt));
        Assert.Equal(new float[] { 0, 0 }, p.ToArray<float>());
        Assert.Null(scaler.Update());
        Assert.Equal(8, scaler.ScaleValue); Assert.Equal(1, scaler.GrowthTracker);
        // inf: step skipped, scale halved, tracker reset
        p.Grad = Tensor.FromArray(new float[] { float.PositiveInfinity, 1 }, 2);
        Assert.False(scaler.Step(opt));
        Assert.Equal(new float[] { 0, 0 }, p.ToArray<float>());
        scaler.Update();
        Assert.Equal(4, scaler.ScaleValue); Assert.Equal(0, scaler.GrowthTracker); Assert.Equal(1, scaler.SkippedSteps);
        // NaN as well
        p.Grad = Tensor.FromArray(new float[] { float.NaN, 1 }, 2);
        scaler.Unscale(opt);
        Assert.Throws<InvalidOperationException>(() => scaler.Unscale(opt));
        Assert.False(scaler.Step(opt));
        scaler.Update();
        Assert.Equal(2, scaler.ScaleValue);
        // three clean steps: growth
        for (int i = 0; i < 3; i++) { p.Grad = Tensor.FromArray(new float[] { 2, 2 }, 2); Assert.True(scaler.Step(opt)); scaler.Update(); }
        Assert.Equal(4, scaler.ScaleValue); Assert.Equal(0, scaler.GrowthTracker);
        Assert.Equal(new float[] { -3, -3 }, p.ToArray<float>());
        Assert.Equal(4, scaler.StateDict()["scale"]);
        Assert.Throws<InvalidOperationException>(() => scaler.Update());
    }

    [Fact]
    public void GradScalerEmulatesHalfOverflowAndWarnsWhenTheScaleCollapses()
    {
        var opt = OneParameter(out var p);
        var scaler = new GradScaler(initScale: 4, gradientLimit: 65504);
        string? warning = null;
        for (int i = 0; i < 3; i++)
        {
            p.Grad = Tensor.FromArray(new float[] { 1e5f * (float)scaler.ScaleValue, 0 }, 2);
            Assert.False(scaler.Step(opt));
            warning = scaler.Update();
        }
        Assert.Equal(0.5, scaler.ScaleValue);
        Assert.True(scaler.Collapsed);
        Assert.Contains("collapsed", warning);
        var disabled = new GradScaler(enabled: false);
        Assert.Equal(3.0, disabled.Scale(Tensor.Scalar(3.0)).Item());
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradScaler(backoffFactor: 1.5));
    }

    [Fact]
    public void AutocastRoundsLinearInputsAndWeightsKeepsMasterWeightsAndTrains()
    {
        var fc = new Linear(4, 3);
        var x = Tensor.Randn(5, 4) * 3;
        var expected = F.Linear(ReducedPrecision.Round(x, Precision.BFloat16), ReducedPrecision.Round(fc.Weight, Precision.BFloat16),
            ReducedPrecision.Round(fc.Bias!, Precision.BFloat16));
        var weight = fc.Weight;
        using (Autocast.Enable(fc, Precision.BFloat16))
        {
            var y = fc.Call(x);
            Assert.Equal(DType.BFloat16, y.DType);   // torch.autocast's linear returns bfloat16
            // the same float32 products of the rounded operands, rounded once to bfloat16
            GoldenFile.AssertEqual(ReducedPrecision.Round(expected, Precision.BFloat16), y.To(DType.Float32), "autocast linear");
            y.Sum().Backward();
        }
        Assert.Same(weight, fc.Weight);
        Assert.Equal(["weight", "bias"], fc.NamedParameters().Select(n => n.Name));
        Assert.Equal(DType.Float32, weight.Grad!.DType);
        // dW = 1ᵀ·x16 accumulated in float32 and rounded once to bfloat16 (half an ulp: at most 2^-8 of the value)
        var masterGrad = ReducedPrecision.Round(x, Precision.BFloat16).Sum([0]).Unsqueeze(0).Expand(3, 4);
        GoldenFile.AssertClose(masterGrad, weight.Grad, Math.Pow(2, -8), 1e-6, "master grad");
        Assert.Equal(DType.Float32, fc.Call(x).DType);   // outside the region: float32 again
    }

    [Fact]
    public void MixedPrecisionStepTrainsInBf16AndFp16AndHalfWeightsHalveTheMemory()
    {
        foreach (var precision in new[] { Precision.BFloat16, Precision.Float16 })
        {
            var model = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 3));
            var opt = new Adam(model.Parameters(), lr: 1e-2);
            using var amp = new MixedPrecisionStep(model, opt, precision);
            var x = Tensor.Randn(96, 8);
            var y = x.Narrow(1, 0, 3).ArgMax(1);
            var trainer = new Trainer(model, opt, amp.Step) { AutomaticOptimization = false };
            var history = trainer.Fit(new DataLoader(new TensorDataset(x, y), batchSize: 32), epochs: 8);
            Assert.True(history[^1]["loss"] < history[0]["loss"], $"{precision}: {history[0]["loss"]} → {history[^1]["loss"]}");
            Assert.Equal(precision == Precision.Float16, amp.Scaler != null);
            Assert.Empty(amp.Warnings);
        }
        var net = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 3));
        var store = HalfWeights.From(net, Precision.BFloat16);
        Assert.Equal(net.ParameterCount() * 2, store.Bytes);
        var copy = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 3));
        store.LoadInto(copy);
        GoldenFile.AssertEqual(ReducedPrecision.Round(((Linear)net[0]).Weight, Precision.BFloat16), ((Linear)copy[0]).Weight, "bf16 weights");
    }
}
