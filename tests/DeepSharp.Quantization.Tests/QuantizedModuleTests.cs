using DeepSharp.NN;
using DeepSharp.Quantization;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class QuantizedModuleTests
{
    [Theory]
    [InlineData("dynamic_linear_tensor", false)]
    [InlineData("dynamic_linear_channel", true)]
    public void DynamicLinearMatchesPyTorchOnednn(string name, bool perChannel)
    {
        var c = Case(name);
        var w = Tensor(c.GetProperty("weight"));
        var linear = new Linear(w.Shape[1], w.Shape[0]);
        linear.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = w, ["bias"] = Tensor(c.GetProperty("bias")) });
        var q = DynamicQuantizedLinear.FromFloat(linear, perChannel);
        Assert.Equal(Vals(c.GetProperty("w_int")), Doubles(q.Weights.Weight.IntRepr()));
        AssertClose(Vals(c.GetProperty("w_scale")), q.Weights.Weight.Scales, 1e-6, 0, name + " weight scale");
        var y = q.Call(Tensor(c.GetProperty("x")));
        AssertClose(Vals(c.GetProperty("y")), Doubles(y), 1e-5, 1e-5, name + " output");
    }

    static Sequential SmallCnn() => new(
        new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new Conv2d(4, 6, 3, padding: 1), new ReLU(),
        new MaxPool2d(2), new Flatten(), new Linear(216, 16), new ReLU(), new Dropout(0.5), new Linear(16, 5));

    [Fact]
    public void StaticCnnMatchesPyTorchOnednn()
    {
        var c = Case("static_cnn");
        var net = SmallCnn();
        var state = c.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => p.Name.EndsWith("num_batches_tracked") ? Tensor(p.Value, DType.Int64) : Tensor(p.Value));
        net.LoadStateDict(state);
        var calibration = c.GetProperty("calibration").EnumerateArray().Select(b => Tensor(b)).ToList();
        var q = StaticQuantization.Quantize(net, calibration, backend: QuantBackend.OneDnn);   // the fixture is get_default_qconfig('onednn')

        var expected = c.GetProperty("qparams");
        void CheckQParams(string key, OutputQParams actual)
        {
            var e = expected.GetProperty(key).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            AssertClose([e[0]], [actual.Scale], 1e-5, 0, key + " scale");
            Assert.Equal((int)e[1], actual.ZeroPoint);
        }
        CheckQParams("input", q.Input);
        CheckQParams("0", ((QuantizedConv2d)q.Layers[0]).Output);
        CheckQParams("3", ((QuantizedConv2d)q.Layers[1]).Output);
        CheckQParams("7", ((QuantizedLinear)q.Layers[4]).Output);
        CheckQParams("10", ((QuantizedLinear)q.Layers[5]).Output);

        // same integers up to a rounding step of the last layer: within one output scale of PyTorch's result
        var y = q.Call(Tensor(c.GetProperty("test")));
        var outScale = ((QuantizedLinear)q.Layers[^1]).Output.Scale;
        AssertClose(Vals(c.GetProperty("y")), Doubles(y), 0, outScale * 1.01, "static output");
        Assert.True(net.IsTraining, "calibration restores the training mode");
    }

    [Fact]
    public void DefaultBackendIsX86WithoutARuntimeVnniAndOneDnnWithIt()
    {
        bool vnni = DeepSharp.Kernels.Int8Gemm.IsSupported(DeepSharp.Kernels.Int8GemmPath.AvxVnni);
        Assert.Equal(vnni ? QuantBackend.OneDnn : QuantBackend.X86, QConfig.DefaultBackend);
        Assert.True(QConfig.ReducesActivationRange(QuantBackend.X86));
        Assert.True(QConfig.ReducesActivationRange(QuantBackend.Fbgemm));
        Assert.False(QConfig.ReducesActivationRange(QuantBackend.OneDnn));
        Assert.Equal(new QuantRange(0, 127), QConfig.ActivationObserver(QuantBackend.X86)().Range);
        Assert.Equal(new QuantRange(0, 255), QConfig.ActivationObserver(QuantBackend.OneDnn)().Range);
    }

    [Fact]
    public void X86BackendQuantizesActivationsToSevenBitsAndStaysCloseToFloat()
    {
        var c = Case("static_cnn");
        var net = SmallCnn();
        var state = c.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => p.Name.EndsWith("num_batches_tracked") ? Tensor(p.Value, DType.Int64) : Tensor(p.Value));
        net.LoadStateDict(state);
        var calibration = c.GetProperty("calibration").EnumerateArray().Select(b => Tensor(b)).ToList();
        var x86 = StaticQuantization.Quantize(net, calibration, backend: QuantBackend.X86);
        var onednn = StaticQuantization.Quantize(net, calibration, backend: QuantBackend.OneDnn);
        var outputs = new List<OutputQParams> { x86.Input };
        outputs.AddRange(x86.Layers.OfType<QuantizedConv2d>().Select(l => l.Output));
        outputs.AddRange(x86.Layers.OfType<QuantizedLinear>().Select(l => l.Output));
        Assert.Equal(5, outputs.Count);
        Assert.All(outputs, o => Assert.InRange(o.ZeroPoint, 0, 127));
        // half the levels: the steps are about twice onednn's
        Assert.InRange(x86.Input.Scale / onednn.Input.Scale, 1.9, 2.1);

        var test = Tensor(c.GetProperty("test"));
        net.Eval();
        var yf = Doubles(net.Call(test));
        var y7 = Doubles(x86.Call(test));
        var y8 = Doubles(onednn.Call(test));
        double err7 = yf.Zip(y7, (a, b) => Math.Abs(a - b)).Max(), err8 = yf.Zip(y8, (a, b) => Math.Abs(a - b)).Max();
        double outScale = ((QuantizedLinear)x86.Layers[^1]).Output.Scale;
        Assert.True(err7 <= 2 * err8 + 2 * outScale, $"x86 (7-bit) error {err7} vs onednn (8-bit) {err8}, output step {outScale}");
    }

    [Fact]
    public void StaticQuantizationWithoutCalibrationDataIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => StaticQuantization.Quantize(SmallCnn(), []));
        Assert.Contains("calibration data", e.Message);
    }

    [Fact]
    public void UnsupportedLayerIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => StaticQuantization.Quantize(new Sequential(new Linear(4, 4), new GELU()), [DeepSharp.Tensor.Randn(2, 4)]));
        Assert.Contains("GELU", e.Message);
    }

    [Fact]
    public void QuantizedConvMatchesFloatConvWithinQuantizationError()
    {
        var conv = new Conv2d(3, 8, 3, stride: 2, padding: 1);
        var x = DeepSharp.Tensor.Rand(2, 3, 9, 7);
        var reference = conv.Call(x).Detach();
        var weights = QuantizedLinearWeights.FromFloat(conv.Weight.Reshape(8, -1), conv.Bias);
        var outObs = new MinMaxObserver(); outObs.Call(reference);
        var q = new QuantizedConv2d(weights, 3, 3, 2, 1, 1, OutputQParams.From(outObs.CalculateQParams()));
        var inObs = new MinMaxObserver(); inObs.Call(x);
        var y = q.Call(QuantizedTensor.Quantize(x, inObs.CalculateQParams(), QuantDType.QUInt8)).Dequantize();
        Assert.Equal(reference.Shape, y.Shape);
        double maxErr = Doubles(reference.Sub(y).Abs()).Max(), range = Doubles(reference).Max() - Doubles(reference).Min();
        Assert.True(maxErr < range * 0.03, $"max error {maxErr} for output range {range}");
    }
}
