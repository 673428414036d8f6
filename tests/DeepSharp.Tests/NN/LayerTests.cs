using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

public class LayerTests
{
    static Golden.GoldenCase Case(string name) => Golden.Golden.Case("nn_layers", name);

    /// <summary>Copies fixed values into a parameter (as PyTorch's "fixed weights").</summary>
    static void Set(Tensor parameter, Tensor value)
    {
        using (Autograd.NoGrad()) parameter.CopyFrom(value);
    }

    [Theory]
    [InlineData("linear", true, DType.Float64)]
    [InlineData("linear_3d_nobias", false, DType.Float64)]
    [InlineData("linear_f32", true, DType.Float32)]
    public void LinearMatchesPyTorch(string name, bool bias, DType dtype)
    {
        var c = Case(name);
        var x = c.Input(0);
        var w = c.Inputs[1]!;
        var lin = new Linear(w.Shape[1], w.Shape[0], bias, dtype);
        Set(lin.Weight, w);
        if (bias) Set(lin.Bias!, c.Inputs[2]!);
        var y = lin.Call(x);
        Tensor[] leaves = bias ? [x, lin.Weight, lin.Bias!] : [x, lin.Weight];
        if (dtype == DType.Float32) c.Check(y, leaves, rtol: 1e-5, atol: 1e-5); else c.Check(y, leaves);
    }

    [Fact]
    public void BilinearMatchesPyTorchAndGradChecks()
    {
        var c = Case("bilinear");
        var bl = new Bilinear(3, 2, 5, dtype: DType.Float64);
        Set(bl.Weight, c.Inputs[2]!); Set(bl.Bias!, c.Inputs[3]!);
        var x1 = c.Input(0); var x2 = c.Input(1);
        c.Check(bl.Call(x1, x2), [x1, x2, bl.Weight, bl.Bias!]);
        GradCheck(t => F.Bilinear(t[0], t[1], t[2], t[3]), R(2, 3, 3), R(2, 3, 2), R(4, 3, 2), R(4));
        Assert.Throws<ArgumentException>(() => bl.Forward(x1, x1));
    }

    [Fact]
    public void LinearInitUsesPyTorchBounds()
    {
        var lin = new Linear(400, 300);
        double bound = 1 / Math.Sqrt(400);
        var w = lin.Weight.ToArray<double>();
        double limit = (float)bound;   // a double draw just below the bound may round up to the float32 nearest to it
        Assert.All(w, v => Assert.InRange(v, -limit, limit));
        Assert.True(w.Max() > 0.95 * bound && w.Min() < -0.95 * bound);
        // variance of U(-b, b) is b²/3
        double variance = w.Select(v => v * v).Average();
        Assert.InRange(variance, bound * bound / 3 * 0.95, bound * bound / 3 * 1.05);
        Assert.All(lin.Bias!.ToArray<double>(), v => Assert.InRange(v, -limit, limit));
        var a = new Linear(3, 4); var b = new Linear(3, 4);
        a.ResetParameters(new Generator(5)); b.ResetParameters(new Generator(5));
        AssertClose(a.Weight, b.Weight, 0, 0);
    }

    [Fact]
    public void LinearRejectsBadShapes()
    {
        var lin = new Linear(4, 2);
        var ex = Assert.Throws<ArgumentException>(() => lin.Forward(Tensor.Zeros(3, 5)));
        Assert.Contains("(3, 5)", ex.Message);
        Assert.Contains("(2, 4)", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(-1, 2));
    }

    [Fact]
    public void ShapeLayers()
    {
        var x = Tensor.Randn(2, 3, 4, 5);
        Assert.Equal([2, 60], new Flatten().Forward(x).Shape);
        Assert.Equal([2, 3, 20], new Flatten(2).Forward(x).Shape);
        Assert.Equal([2, 3, 2, 2, 5], new Unflatten(2, 2, -1).Forward(x).Shape);
        Assert.Same(x, new Identity().Forward(x));
    }

    [Fact]
    public void HardtanhAndReLU6Modules()
    {
        var x = Tensor.FromArray(new double[] { -8, -1.5, -0.5, 0, 0.5, 3, 6, 7.5 }, 8).RequiresGrad_();
        var relu6 = new ReLU6();
        TestUtil.AssertClose(new double[] { 0, 0, 0, 0, 0.5, 3, 6, 6 }, relu6.Forward(x));
        Assert.Equal("ReLU6()", relu6.ToString());
        relu6.Forward(x).Sum().Backward();
        TestUtil.AssertClose(new double[] { 0, 0, 0, 0, 1, 1, 0, 0 }, x.Grad!);   // zero gradient at and beyond the bounds, like PyTorch
        var hardtanh = new Hardtanh(-1, 2);
        TestUtil.AssertClose(new double[] { -1, -1, -0.5, 0, 0.5, 2, 2, 2 }, hardtanh.Forward(x.Detach()));
        Assert.Equal("Hardtanh(min_val=-1.0, max_val=2.0)", hardtanh.ToString());
        Assert.Throws<ArgumentException>(() => new Hardtanh(1, -1));
    }

    // ---- batch norm --------------------------------------------------------------------------------------

    [Theory]
    [InlineData("batchnorm1d_train", DType.Float64)]
    [InlineData("batchnorm1d_train_3d", DType.Float64)]
    [InlineData("batchnorm2d_train", DType.Float64)]
    [InlineData("batchnorm2d_train_f32", DType.Float32)]
    public void BatchNormTrainingMatchesPyTorch(string name, DType dtype)
    {
        var c = Case(name);
        var x = c.Input(0);
        int channels = x.Shape[1];
        BatchNormBase bn = x.Rank == 4 ? new BatchNorm2d(channels, dtype: dtype) : new BatchNorm1d(channels, dtype: dtype);
        Set(bn.Weight!, c.Inputs[1]!); Set(bn.Bias!, c.Inputs[2]!);
        using (Autograd.NoGrad()) { bn.RunningMean!.FillInPlace(0.5); bn.RunningVar!.FillInPlace(2); }
        var y = bn.Call(x);
        double tol = dtype == DType.Float32 ? 1e-4 : 1e-8;
        c.Check(y, [x, bn.Weight!, bn.Bias!], rtol: tol, atol: tol);
        AssertClose(c.Outputs[1]!, bn.RunningMean!, tol, tol, "running_mean");
        AssertClose(c.Outputs[2]!, bn.RunningVar!, tol, tol, "running_var");
        Assert.Equal(1L, bn.NumBatchesTracked!.Item<long>());
    }

    [Fact]
    public void BatchNormWithoutAffineMatchesPyTorch()
    {
        var c = Case("batchnorm2d_train_noaffine");
        var x = c.Input(0);
        var rm = Tensor.Full([3], 0.5, DType.Float64); var rv = Tensor.Full([3], 2.0, DType.Float64);
        c.Check(F.BatchNorm(x, rm, rv, training: true), [x]);
        AssertClose(c.Outputs[1]!, rm); AssertClose(c.Outputs[2]!, rv);
        var bn = new BatchNorm2d(3, affine: false, dtype: DType.Float64);
        Assert.Empty(bn.Parameters());
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Keys);
    }

    [Fact]
    public void BatchNormEvalUsesRunningStats()
    {
        var c = Case("batchnorm2d_eval");
        var bn = new BatchNorm2d(3, dtype: DType.Float64);
        Set(bn.Weight!, c.Inputs[1]!); Set(bn.Bias!, c.Inputs[2]!);
        Set(bn.RunningMean!, c.Outputs[1]!); Set(bn.RunningVar!, c.Outputs[2]!);
        bn.Eval();
        var x = c.Input(0);
        c.Check(bn.Call(x), [x, bn.Weight!, bn.Bias!]);
        AssertClose(c.Outputs[1]!, bn.RunningMean!);                            // untouched
        Assert.Equal(0L, bn.NumBatchesTracked!.Item<long>());
    }

    [Fact]
    public void BatchNormCumulativeMomentumMatchesPyTorch()
    {
        var c = Case("batchnorm1d_cumulative");
        var bn = new BatchNorm1d(4, momentum: null, dtype: DType.Float64);
        bn.Call(c.Input(0)); bn.Call(c.Input(1));
        bn.Eval();
        var y = bn.Call(c.Input(2));
        AssertClose(c.Outputs[0]!, y, 1e-8, 1e-10);
        AssertClose(c.Outputs[1]!, bn.RunningMean!, 1e-8, 1e-10);
        AssertClose(c.Outputs[2]!, bn.RunningVar!, 1e-8, 1e-10);
        Assert.Equal(2L, bn.NumBatchesTracked!.Item<long>());
    }

    [Fact]
    public void BatchNormGradChecks()
    {
        GradCheck(t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true), R(4, 3), R(3), R(3));
        GradCheck(t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true), R(2, 3, 2, 3), R(3), R(3));
        GradCheck(t => F.BatchNorm(t[0], null, null, training: true), R(3, 2, 4));
        // non-contiguous input
        GradCheck(t => F.BatchNorm(t[0], null, null, t[1], null, training: true), RT(5, 4), R(4));
        var rm = Tensor.Randn([3], DType.Float64); var rv = Tensor.Rand([3], DType.Float64).Add(0.5);
        GradCheck(t => F.BatchNorm(t[0], rm, rv, t[1], t[2], training: false), R(2, 3, 4), R(3), R(3));
    }

    [Fact]
    public void BatchNormSecondOrderGradientsMatchComposite()
    {
        // double backward goes through the differentiable composite backward; compare with a pure-ops batch norm
        var x = R(4, 3, 2); var w = R(3);
        Tensor Reference(Tensor input, Tensor weight)
        {
            var mean = input.Mean([0, 2], keepDim: true);
            var centered = input - mean;
            var variance = (centered * centered).Mean([0, 2], keepDim: true);
            var rstd = (variance + 1e-5).Log().Mul(-0.5).Exp();
            return centered * rstd * weight.Reshape(1, 3, 1);
        }
        var proj = Tensor.Randn([4, 3, 2], DType.Float64);
        var g1 = Autograd.Grad([(F.BatchNorm(x, null, null, w, training: true) * proj).Sum()], [x, w], createGraph: true);
        var g2 = Autograd.Grad([(Reference(x, w) * proj).Sum()], [x, w], createGraph: true);
        AssertClose(g2[0]!, g1[0]!, 1e-8, 1e-10); AssertClose(g2[1]!, g1[1]!, 1e-8, 1e-10);
        var h1 = Autograd.Grad([(g1[0]! * g1[0]!).Sum() + g1[1]!.Sum()], [x, w]);
        var h2 = Autograd.Grad([(g2[0]! * g2[0]!).Sum() + g2[1]!.Sum()], [x, w]);
        AssertClose(h2[0]!, h1[0]!, 1e-7, 1e-9); AssertClose(h2[1]!, h1[1]!, 1e-7, 1e-9);
    }

    [Fact]
    public void BatchNormRejectsBadInput()
    {
        var bn = new BatchNorm1d(4);
        var ex = Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Zeros(2, 3)));
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Zeros(2, 4, 1, 1)));
        Assert.Throws<ArgumentException>(() => new BatchNorm2d(4).Forward(Tensor.Zeros(2, 4)));
        Assert.Contains("more than 1 value per channel", Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Zeros(1, 4))).Message);
        Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros(2, 4), null, null));
        Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros(2, 4), null, null, weight: Tensor.Ones(3), training: true));
        Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros([2, 4], DType.Int64), null, null, training: true));
    }

    // ---- layer norm and group norm ------------------------------------------------------------------------

    [Theory]
    [InlineData("layernorm", DType.Float64)]
    [InlineData("layernorm_f32", DType.Float32)]
    public void LayerNormMatchesPyTorch(string name, DType dtype)
    {
        var c = Case(name);
        var w = c.Inputs[1]!;
        var ln = new LayerNorm(w.Shape.ToArray(), dtype: dtype);
        Set(ln.Weight!, w); Set(ln.Bias!, c.Inputs[2]!);
        var x = c.Input(0);
        double tol = dtype == DType.Float32 ? 1e-4 : 1e-8;
        c.Check(ln.Call(x), [x, ln.Weight!, ln.Bias!], tol, tol);
    }

    [Fact]
    public void LayerNormWithoutAffineMatchesPyTorch()
    {
        var c = Case("layernorm_1d_noaffine");
        var ln = new LayerNorm(6, elementwiseAffine: false);
        Assert.Empty(ln.Parameters());
        var x = c.Input(0);
        c.Check(ln.Forward(x), [x]);
    }

    [Theory]
    [InlineData("groupnorm", 3, DType.Float64)]
    [InlineData("groupnorm_f32", 2, DType.Float32)]
    public void GroupNormMatchesPyTorch(string name, int groups, DType dtype)
    {
        var c = Case(name);
        var w = c.Inputs[1]!;
        var gn = new GroupNorm(groups, w.Shape[0], dtype: dtype);
        Set(gn.Weight!, w); Set(gn.Bias!, c.Inputs[2]!);
        var x = c.Input(0);
        double tol = dtype == DType.Float32 ? 1e-4 : 1e-8;
        c.Check(gn.Call(x), [x, gn.Weight!, gn.Bias!], tol, tol);
    }

    [Fact]
    public void GroupNormWithoutAffineMatchesPyTorch()
    {
        var c = Case("groupnorm_3d_noaffine");
        var x = c.Input(0);
        c.Check(new GroupNorm(2, 4, affine: false).Forward(x), [x]);
    }

    [Fact]
    public void LayerAndGroupNormGradCheck()
    {
        GradCheck(t => F.LayerNorm(t[0], [4], t[1], t[2]), R(3, 4), R(4), R(4));
        GradCheck(t => F.LayerNorm(t[0], [2, 3], t[1], t[2]), R(2, 2, 3), R(2, 3), R(2, 3));
        GradCheck(t => F.LayerNorm(t[0], [3], t[1]), RT(3, 3), R(3));          // non-contiguous, weight only
        GradCheck(t => F.LayerNorm(t[0], [5]), R(2, 5));
        GradCheck(t => F.GroupNorm(t[0], 2, t[1], t[2]), R(2, 4, 3), R(4), R(4));
        GradCheck(t => F.GroupNorm(t[0], 3, t[1], t[2]), R(2, 6, 2, 2), R(6), R(6));
        GradCheck(t => F.GroupNorm(t[0], 1), R(2, 3, 2));
    }

    [Fact]
    public void LayerNormDoubleBackwardGradChecks()
    {
        // the gradient of a layer norm, itself differentiated (createGraph), checked numerically
        // (GradCheck evaluates under NoGrad for the finite differences, so the inner gradient re-enables recording)
        var proj = Tensor.Randn([3, 4], DType.Float64);
        GradCheck(t => { using (Autograd.EnableGrad()) return Autograd.Grad([(F.LayerNorm(t[0], [4], t[1], t[2]) * proj).Sum()], [t[0], t[1]], createGraph: true)[0]!; },
            R(3, 4), R(4), R(4));
        var proj2 = Tensor.Randn([2, 4, 3], DType.Float64);
        GradCheck(t => { using (Autograd.EnableGrad()) return Autograd.Grad([(F.GroupNorm(t[0], 2, t[1], t[2]) * proj2).Sum()], [t[0], t[1]], createGraph: true)[1]!; },
            R(2, 4, 3), R(4), R(4));
    }

    [Fact]
    public void LayerAndGroupNormRejectBadInput()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LayerNorm(4).Forward(Tensor.Zeros(2, 5)));
        Assert.Contains("(2, 5)", ex.Message);
        Assert.Throws<ArgumentException>(() => F.LayerNorm(Tensor.Zeros(2, 4), [4], weight: Tensor.Ones(5)));
        Assert.Throws<ArgumentException>(() => F.LayerNorm(Tensor.Zeros(2, 4), [4], weight: Tensor.Ones([4], DType.Float64)));
        Assert.Throws<ArgumentException>(() => new GroupNorm(3, 4));
        Assert.Throws<ArgumentException>(() => new GroupNorm(2, 4).Forward(Tensor.Zeros(2, 6, 3)));
        Assert.Throws<ArgumentException>(() => F.GroupNorm(Tensor.Zeros(2, 6, 3), 4));
    }

    [Fact]
    public void Regularization()
    {
        var a = Tensor.FromArray(new[] { 1.0, -2.0, 0.0 }, [3], requiresGrad: true);
        var b = Tensor.FromArray(new[] { 3.0 }, [1, 1], requiresGrad: true);
        var l1 = DeepSharp.NN.Regularization.L1([a, b]);
        Assert.Equal(6.0, l1.Item());
        l1.Backward();
        AssertClose(new[] { 1.0, -1.0, 0.0 }, a.Grad!);
        var l2 = DeepSharp.NN.Regularization.L2([a, b]);
        Assert.Equal(14.0, l2.Item());
        GradCheck(t => DeepSharp.NN.Regularization.L2([t[0], t[1]]), R(2, 3), R(4));
        GradCheck(t => DeepSharp.NN.Regularization.L1([t[0]]), R(2, 3));
        var model = new Sequential(new Linear(2, 3), new LayerNorm(3));
        Assert.Single(DeepSharp.NN.Regularization.Weights(model));
    }
}
