using FusedActivation = DeepSharp.Kernels.FusedActivation;
using DeepSharp.NN;

namespace DeepSharp.Tests.NN;

/// <summary>
/// InferenceOptimizer: batch norm folding (float64, against the unfused eval model and PyTorch's fuse_conv_bn_eval /
/// fuse_linear_bn_eval), activation fusion, prepacked layers, refusal in training mode, no autograd graph.
/// </summary>
[Collection("KernelThreads")]
public class InferenceOptimizerTests
{
    static Golden.GoldenCase Case(string name) => Golden.Golden.Case("inference_fusion", name);

    static void Set(Tensor target, Tensor value) { using (Autograd.NoGrad()) target.CopyFrom(value.To(target.DType)); }

    static void RandomStats(BatchNormBase bn)
    {
        Set(bn.Weight!, Tensor.Rand([bn.NumFeatures], DType.Float64).Add(0.5));
        Set(bn.Bias!, Tensor.Randn([bn.NumFeatures], DType.Float64));
        Set(bn.RunningMean!, Tensor.Randn([bn.NumFeatures], DType.Float64));
        Set(bn.RunningVar!, Tensor.Rand([bn.NumFeatures], DType.Float64).Mul(2).Add(0.1));
    }

    [Theory]
    [InlineData("conv3x3_nobias")]
    [InlineData("conv3x3_stride2_bias")]
    [InlineData("conv1x1")]
    [InlineData("depthwise3x3")]
    public void ConvBatchNormFoldingMatchesPyTorch(string name)
    {
        var c = Case(name);
        var extra = c.Extra!.Value;
        int stride = extra.GetProperty("stride").GetInt32(), padding = extra.GetProperty("padding").GetInt32(), groups = extra.GetProperty("groups").GetInt32();
        var w = c.Input(1);
        var conv = new Conv2d(w.Shape[1] * groups, w.Shape[0], (w.Shape[2], w.Shape[3]), stride: stride, padding: padding, groups: groups,
            bias: c.Inputs[2] != null, dtype: DType.Float64);
        var bn = new BatchNorm2d(w.Shape[0], eps: extra.GetProperty("eps").GetDouble(), dtype: DType.Float64);
        Set(conv.Weight, w);
        if (c.Inputs[2] != null) Set(conv.Bias!, c.Input(2));
        Set(bn.Weight!, c.Input(3)); Set(bn.Bias!, c.Input(4)); Set(bn.RunningMean!, c.Input(5)); Set(bn.RunningVar!, c.Input(6));
        var model = new Sequential(conv, bn);
        model.Eval();

        var (fw, fb) = InferenceOptimizer.FoldBatchNorm(conv.Weight, conv.Bias, bn);
        TestUtil.AssertClose(c.Outputs[0]!, fw, 1e-13, 1e-14, $"{name}: folded weight");
        TestUtil.AssertClose(c.Outputs[1]!, fb, 1e-13, 1e-14, $"{name}: folded bias");

        var x = c.Input(0);
        var optimized = InferenceOptimizer.Optimize(model);
        Assert.IsType<FusedConv2d>(optimized.Optimized);
        var y = optimized.Call(x);
        TestUtil.AssertClose(c.Outputs[2]!, y, 1e-10, 1e-12, $"{name}: fused output vs PyTorch's fused conv");
        TestUtil.AssertClose(c.Outputs[3]!, y, 1e-10, 1e-12, $"{name}: fused output vs PyTorch's conv+bn");
        TestUtil.AssertClose(model.Call(x), y, 1e-10, 1e-12, $"{name}: fused output vs DeepSharp's conv+bn");
    }

    [Fact]
    public void LinearBatchNormFoldingMatchesPyTorch()
    {
        var c = Case("linear_bias");
        var w = c.Input(1);
        var linear = new Linear(w.Shape[1], w.Shape[0], dtype: DType.Float64);
        var bn = new BatchNorm1d(w.Shape[0], eps: c.Extra!.Value.GetProperty("eps").GetDouble(), dtype: DType.Float64);
        Set(linear.Weight, w); Set(linear.Bias!, c.Input(2));
        Set(bn.Weight!, c.Input(3)); Set(bn.Bias!, c.Input(4)); Set(bn.RunningMean!, c.Input(5)); Set(bn.RunningVar!, c.Input(6));
        var model = new Sequential(linear, bn);
        model.Eval();
        var (fw, fb) = InferenceOptimizer.FoldBatchNorm(linear.Weight, linear.Bias, bn);
        TestUtil.AssertClose(c.Outputs[0]!, fw, 1e-13, 1e-14, "folded weight");
        TestUtil.AssertClose(c.Outputs[1]!, fb, 1e-13, 1e-14, "folded bias");
        var optimized = InferenceOptimizer.Optimize(model);
        Assert.IsType<FusedLinear>(optimized.Optimized);
        TestUtil.AssertClose(c.Outputs[2]!, optimized.Call(c.Input(0)), 1e-10, 1e-12, "fused output");
    }

    /// <summary>A plain Sequential CNN exercising every pattern: conv-BN-ReLU, conv-BN-ReLU6, depthwise conv-BN-SiLU, a lone conv, Linear-BN1d-ReLU, Dropout.</summary>
    static Sequential Cnn(DType dtype)
    {
        var model = new Sequential(
            new Conv2d(3, 8, 3, padding: 1, bias: false, dtype: dtype), new BatchNorm2d(8, dtype: dtype), new ReLU(),
            new Conv2d(8, 12, 3, stride: 2, padding: 1, dtype: dtype), new BatchNorm2d(12, dtype: dtype), new ReLU6(),
            new Conv2d(12, 12, 3, padding: 1, groups: 12, bias: false, dtype: dtype), new BatchNorm2d(12, dtype: dtype), new SiLU(),
            new Conv2d(12, 16, 1, dtype: dtype), new MaxPool2d(2),
            new Flatten(), new Linear(16 * 4 * 4, 20, dtype: dtype), new BatchNorm1d(20, dtype: dtype), new ReLU(), new Dropout(0.5),
            new Linear(20, 5, dtype: dtype));
        foreach (var m in model.Modules()) if (m is BatchNormBase bn) RandomStats(bn);
        model.Eval();
        return model;
    }

    [Fact]
    public void SequentialCnnMatchesUnfusedModelInFloat64()
    {
        var model = Cnn(DType.Float64);
        var x = Tensor.Randn([3, 3, 16, 16], DType.Float64);
        var expected = model.Call(x);
        var optimized = InferenceOptimizer.Optimize(model);
        var layers = ((Sequential)optimized.Optimized).ToList();
        Assert.Equal(8, layers.Count);                 // 4 fused convs, pool, flatten, 2 fused linears (Dropout dropped)
        Assert.Equal(4, layers.OfType<FusedConv2d>().Count());
        Assert.Equal([FusedActivation.Relu, FusedActivation.Relu6, FusedActivation.Silu, FusedActivation.None],
            layers.OfType<FusedConv2d>().Select(l => l.Activation));
        Assert.Equal(2, layers.OfType<FusedLinear>().Count());
        Assert.DoesNotContain(optimized.Modules(), m => m is BatchNormBase or Dropout);
        TestUtil.AssertClose(expected, optimized.Call(x), 1e-10, 1e-12, "optimized CNN");
        // the original is untouched
        Assert.Contains(model.Modules(), m => m is BatchNorm2d);
        TestUtil.AssertClose(expected, model.Call(x), 0, 0, "original after optimizing");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(37)]
    public void FusedLinearMatchesOnBothRowPaths(int rows)
    {
        // up to 4 rows take Linear's unpacked path, more take the packed GEMM; both with the folded BN and the activation
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var bn = new BatchNorm1d(24, dtype: dtype);
            RandomStats(bn);
            var model = new Sequential(new Linear(19, 24, dtype: dtype), bn, new ReLU(), new Linear(24, 7, dtype: dtype));
            model.Eval();
            var x = Tensor.Randn([rows, 19], dtype);
            var expected = model.Call(x);
            var optimized = InferenceOptimizer.Optimize(model);
            Assert.Equal(2, optimized.Modules().OfType<FusedLinear>().Count());
            var actual = optimized.Call(x);
            Assert.Equal(expected.Shape, actual.Shape);
            if (dtype == DType.Float64) TestUtil.AssertClose(expected, actual, 1e-10, 1e-12, $"fused linears, {rows} rows");
            else TestUtil.AssertClose(expected, actual, 1e-4, 1e-5, $"fused linears, {rows} rows, float32");
        }
    }

    [Fact]
    public void SequentialCnnMatchesUnfusedModelInFloat32()
    {
        var model = Cnn(DType.Float32);
        var x = Tensor.Randn([2, 3, 16, 16]);
        TestUtil.AssertClose(model.Call(x), InferenceOptimizer.Optimize(model).Call(x), 1e-4, 1e-5, "optimized float32 CNN");
    }

    [Fact]
    public void RefusesTrainingModeAndRunsWithoutAutograd()
    {
        var model = Cnn(DType.Float32);
        model.Train();
        var ex = Assert.Throws<InvalidOperationException>(() => InferenceOptimizer.Optimize(model));
        Assert.Contains("Eval()", ex.Message);
        model.Eval();
        ((Module)model[1]).Train();                         // one submodule still training
        Assert.Throws<InvalidOperationException>(() => InferenceOptimizer.Optimize(model));
        model.Eval();

        var optimized = InferenceOptimizer.Optimize(model);
        var x = Tensor.Randn([1, 3, 16, 16], requiresGrad: true);
        var y = optimized.Call(x);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        optimized.Train();
        Assert.Throws<InvalidOperationException>(() => optimized.Call(x));
    }

    [Fact]
    public void FusedLayersCheckTheirInput()
    {
        var fused = InferenceOptimizer.FuseConv(new Conv2d(3, 4, 3), null, new ReLU());
        var ex = Assert.Throws<ArgumentException>(() => fused.Call(Tensor.Randn(1, 5, 8, 8)));
        Assert.Contains("input channels", ex.Message);
        Assert.Throws<ArgumentException>(() => fused.Forward(Tensor.Randn(1, 3, 8, 8), Tensor.Randn(1, 4, 5, 5)));
        Assert.Throws<ArgumentException>(() => InferenceOptimizer.FuseConv(new Conv2d(3, 4, 3), null, new Tanh()));
        var bn = new BatchNorm2d(5);
        bn.Eval();
        Assert.Throws<ArgumentException>(() => InferenceOptimizer.FoldBatchNorm(new Conv2d(3, 4, 3).Weight, null, bn));
    }
}
