using DeepSharp.NN;

namespace DeepSharp.Tests.Core;

/// <summary>
/// In a plain backward pass the layers' backward functions add a parameter's gradient straight into its existing
/// <see cref="Tensor.Grad"/> (Autograd.LeafGrad) instead of returning a new gradient tensor for the engine to add. The
/// result must be the engine's: bit for bit after ZeroGrad (the usual training step), equal up to rounding when gradients
/// accumulate over several backward passes, and every hook, version and Autograd.Grad rule unchanged.
/// </summary>
public class LeafGradAccumulationTests
{
    /// <summary>A layer, its input and a scalar loss of its output, built fresh for each dtype.</summary>
    public sealed record Case(string Name, Func<DType, (Module Module, Func<Tensor> Loss)> Make)
    {
        public override string ToString() => Name;
    }

    static Func<Tensor> Squares(Func<Tensor> output) => () => output().Square().Sum();

    public static TheoryData<Case, DType> Cases()
    {
        var cases = new Case[]
        {
            new("Linear", dt => { var m = new Linear(7, 5, dtype: dt); var x = Tensor.Randn([9, 7], dt); return (m, Squares(() => m.Call(x))); }),
            new("Linear 3-D input", dt => { var m = new Linear(7, 5, dtype: dt); var x = Tensor.Randn([2, 4, 7], dt); return (m, Squares(() => m.Call(x))); }),
            new("Linear one output", dt => { var m = new Linear(7, 1, dtype: dt); var x = Tensor.Randn([9, 7], dt); return (m, Squares(() => m.Call(x))); }),
            new("Linear large", dt => { var m = new Linear(300, 70, dtype: dt); var x = Tensor.Randn([600, 300], dt); return (m, Squares(() => m.Call(x))); }),
            new("Conv2d", dt => { var m = new Conv2d(3, 8, 3, padding: 1, dtype: dt); var x = Tensor.Randn([2, 3, 9, 9], dt); return (m, Squares(() => m.Call(x))); }),
            new("Conv2d wide", dt => { var m = new Conv2d(32, 40, 3, padding: 1, dtype: dt); var x = Tensor.Randn([4, 32, 10, 10], dt); return (m, Squares(() => m.Call(x))); }),
            new("Conv2d depthwise", dt => { var m = new Conv2d(6, 6, 3, stride: 2, padding: 1, groups: 6, dtype: dt); var x = Tensor.Randn([2, 6, 9, 9], dt); return (m, Squares(() => m.Call(x))); }),
            new("BatchNorm2d", dt => { var m = new BatchNorm2d(5, dtype: dt); var x = Tensor.Randn([4, 5, 3, 3], dt); var w = Tensor.Randn([4, 5, 3, 3], dt); return (m, () => m.Call(x).Mul(w).Sum()); }),
            new("BatchNorm1d", dt => { var m = new BatchNorm1d(6, dtype: dt); var x = Tensor.Randn([8, 6], dt); var w = Tensor.Randn([8, 6], dt); return (m, () => m.Call(x).Mul(w).Sum()); }),
            new("LayerNorm", dt => { var m = new LayerNorm(12, dtype: dt); var x = Tensor.Randn([3, 4, 12], dt); var w = Tensor.Randn([3, 4, 12], dt); return (m, () => m.Call(x).Mul(w).Sum()); }),
            new("LayerNorm 2-D shape", dt => { var m = new LayerNorm([3, 4], dtype: dt); var x = Tensor.Randn([5, 3, 4], dt); var w = Tensor.Randn([5, 3, 4], dt); return (m, () => m.Call(x).Mul(w).Sum()); }),
            new("GroupNorm", dt => { var m = new GroupNorm(2, 6, dtype: dt); var x = Tensor.Randn([3, 6, 4, 4], dt); var w = Tensor.Randn([3, 6, 4, 4], dt); return (m, () => m.Call(x).Mul(w).Sum()); }),
            new("Embedding", dt =>
            {
                var m = new Embedding(10, 4, paddingIdx: 2, dtype: dt);
                var idx = Tensor.FromArray(new long[] { 1, 2, 3, 1, 9, 1, 0, 2 }, 2, 4);   // repeated rows and the padding row
                var w = Tensor.Randn([2, 4, 4], dt);
                return (m, () => m.Call(idx).Mul(w).Sum());
            }),
            new("LSTM", dt => { var m = new LSTM(5, 6, numLayers: 2, batchFirst: true, dtype: dt); var x = Tensor.Randn([3, 7, 5], dt); return (m, Squares(() => m.Call(x).Output)); }),
            new("LSTM projected", dt => { var m = new LSTM(5, 6, numLayers: 2, dtype: dt, projSize: 3); var x = Tensor.Randn([7, 3, 5], dt); return (m, Squares(() => m.Call(x).Output)); }),
            new("LSTM final state", dt => { var m = new LSTM(5, 6, dtype: dt); var x = Tensor.Randn([7, 3, 5], dt); return (m, () => { var (_, (h, c)) = m.Call(x); return h.Square().Sum().Add(c.Square().Sum()); }); }),
            new("GRU", dt => { var m = new GRU(5, 6, numLayers: 2, dtype: dt); var x = Tensor.Randn([7, 3, 5], dt); return (m, Squares(() => m.Call(x).Output)); }),
            new("RNN", dt => { var m = new RNN(5, 6, dtype: dt); var x = Tensor.Randn([7, 3, 5], dt); return (m, Squares(() => m.Call(x).Output)); }),
        };
        var data = new TheoryData<Case, DType>();
        foreach (var c in cases)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                data.Add(c, dtype);
        return data;
    }

    static void AssertSameBits(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).ToArray<double>(); var a = actual.To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(e[i]) == BitConverter.DoubleToInt64Bits(a[i]), $"{what}, element {i}: {e[i]:R} vs {a[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsAddedInPlaceAreTheEnginesSum(Case c, DType dtype)
    {
        DeepSharp.Random.Seed(5);
        var (module, loss) = c.Make(dtype);
        var parameters = module.NamedParameters().ToList();

        // the engine's route: no Grad yet, so each parameter receives a new gradient tensor; the step a training loop
        // takes after ZeroGrad(setToNone: false) then is zero + that gradient
        module.ZeroGrad(setToNone: true);
        loss().Backward();
        var fresh = parameters.ToDictionary(p => p.Name, p => p.Tensor.Grad!.Clone());
        var expected = fresh.ToDictionary(kv => kv.Key, kv => Tensor.ZerosLike(kv.Value).Add(kv.Value));

        // the in-place route: zeroed gradients, added into
        var grads = new Dictionary<string, Tensor>();
        module.ZeroGrad(setToNone: false);
        foreach (var (name, p) in parameters) { grads[name] = p.Grad!; Assert.True(p.Grad!.NumEl == 0 || p.Grad.Abs().Max().Item<double>() == 0); }
        var versions = parameters.ToDictionary(p => p.Name, p => p.Tensor.Grad!.Version);
        int before = Autograd.AccumulatedInPlaceCount;
        loss().Backward();
        // every parameter's gradient took the in-place route (a one-output Linear's bias is summed by Sum, engine-added)
        Assert.Equal(c.Name == "Linear one output" ? parameters.Count - 1 : parameters.Count, Autograd.AccumulatedInPlaceCount - before);
        foreach (var (name, p) in parameters)
        {
            Assert.Same(grads[name], p.Grad);   // the same gradient tensor, written in place
            Assert.False(p.Grad!.RequiresGrad);
            Assert.True(p.Grad.Version > versions[name], $"{c.Name} {name}: an in-place write must bump the gradient's version");
            AssertSameBits(expected[name], p.Grad, $"{c.Name} {name}");
        }

        // accumulating a second pass: the old gradient plus the new one (equal up to rounding: the GEMM may add its
        // blocks of the new gradient one by one)
        loss().Backward();
        foreach (var (name, p) in parameters)
            TestUtil.AssertClose(fresh[name].Mul(2), p.Grad!, rtol: dtype == DType.Float32 ? 1e-5 : 1e-12, atol: dtype == DType.Float32 ? 1e-5 : 1e-12, what: $"{c.Name} {name} accumulated");
    }

    [Fact]
    public void AParameterUsedTwiceGetsBothContributionsAndItsPostAccumulateHookSeesTheWholeGradientOnce()
    {
        DeepSharp.Random.Seed(1);
        var w = Tensor.Randn([4, 4], DType.Float64).RequiresGrad_();
        var x = Tensor.Randn([3, 4], DType.Float64);
        Tensor Loss() => F.Linear(F.Linear(x, w), w).Square().Sum();
        var expected = Autograd.Grad(Loss(), w);

        w.Grad = Tensor.Zeros([4, 4], DType.Float64);
        var seen = new List<Tensor>();
        using var handle = w.RegisterPostAccumulateGradHook(t => seen.Add(t.Grad!.Clone()));
        Loss().Backward();
        Assert.Single(seen);
        TestUtil.AssertClose(expected, seen[0], rtol: 1e-12, atol: 1e-12);
        TestUtil.AssertClose(expected, w.Grad!, rtol: 1e-12, atol: 1e-12);
    }

    [Fact]
    public void AutogradGradLeavesTheParametersGradientsAlone()
    {
        DeepSharp.Random.Seed(2);
        var layer = new Linear(5, 3, dtype: DType.Float64);
        var x = Tensor.Randn([4, 5], DType.Float64);
        foreach (var p in layer.Parameters()) p.Grad = Tensor.ZerosLike(p);
        var g = Autograd.Grad(layer.Call(x).Square().Sum(), layer.Weight);
        Assert.Equal(0.0, layer.Weight.Grad!.Abs().Max().Item<double>());
        Assert.Equal(0.0, layer.Bias!.Grad!.Abs().Max().Item<double>());
        Assert.True(g.Abs().Max().Item<double>() > 0);
    }

    [Fact]
    public void CreateGraphKeepsTheGradientDifferentiable()
    {
        DeepSharp.Random.Seed(3);
        var layer = new Linear(5, 3, dtype: DType.Float64);
        var x = Tensor.Randn([4, 5], DType.Float64);
        foreach (var p in layer.Parameters()) p.Grad = Tensor.ZerosLike(p);
        var zero = layer.Weight.Grad!;
        layer.Call(x).Square().Sum().Backward(createGraph: true);
        // with createGraph the engine forms Grad + gradient as a recorded op: a new tensor that requires grad
        Assert.NotSame(zero, layer.Weight.Grad);
        Assert.True(layer.Weight.Grad!.RequiresGrad);
        Assert.Equal(0.0, zero.Abs().Max().Item<double>());
        var gradNorm = layer.Weight.Grad!.Square().Sum();
        var second = Autograd.Grad(gradNorm, layer.Weight);
        Assert.True(second.Abs().Max().Item<double>() > 0);
    }

    [Fact]
    public void AGradientOfAnotherShapeOrDtypeOrAStridedOneIsReplacedByTheEnginesRoute()
    {
        DeepSharp.Random.Seed(4);
        var layer = new Linear(5, 3, dtype: DType.Float64);
        var x = Tensor.Randn([4, 5], DType.Float64);
        var expected = Autograd.Grad(layer.Call(x).Square().Sum(), layer.Weight);
        // a transposed (non-contiguous) zero gradient: not written in place by the layer; the engine adds into it
        var strided = Tensor.Zeros([5, 3], DType.Float64).T;
        layer.Weight.Grad = strided;
        layer.Call(x).Square().Sum().Backward();
        TestUtil.AssertClose(expected, layer.Weight.Grad!, rtol: 1e-12, atol: 1e-12);
    }
}
