using DeepSharp.Optim;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Optim;

[Collection(SerialCollection.Name)]
public class OptimizerBehaviourTests
{
    static readonly Func<IEnumerable<Tensor>, Optimizer>[] AllKinds =
    [
        ps => new SGD(ps, lr: 0.01, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        ps => new SGD(ps, lr: 0.01, momentum: 0.9, nesterov: true, maximize: true),
        ps => new Adam(ps, lr: 0.01, weightDecay: 0.1, amsgrad: true),
        ps => new AdamW(ps, lr: 0.01, maximize: true),
        ps => new Adagrad(ps, lr: 0.1, lrDecay: 0.01, weightDecay: 0.1, initialAccumulatorValue: 0.1),
        ps => new RMSprop(ps, lr: 0.01, momentum: 0.5, centered: true, weightDecay: 0.1),
        ps => new RMSprop(ps, lr: 0.01),
        ps => new Adadelta(ps, weightDecay: 0.1),
    ];

    public static TheoryData<int> Kinds => new(Enumerable.Range(0, AllKinds.Length));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void VectorBodyMatchesScalarTail(int kind)
    {
        // One 37-element parameter runs mostly through the Vector<T> body; 37 one-element parameters only through the
        // scalar tail. Both must give the same numbers.
        Random.Seed(1);
        var init = Tensor.Randn([37], DType.Float64);
        var grads = Enumerable.Range(0, 5).Select(_ => Tensor.Randn([37], DType.Float64)).ToArray();
        var whole = init.Clone().RequiresGrad_();
        var pieces = Enumerable.Range(0, 37).Select(i => init.Narrow(0, i, 1).Clone().RequiresGrad_()).ToArray();
        var optWhole = AllKinds[kind]([whole]);
        var optPieces = AllKinds[kind](pieces);
        foreach (var g in grads)
        {
            whole.Grad = g.Clone();
            for (int i = 0; i < 37; i++) pieces[i].Grad = g.Narrow(0, i, 1).Clone();
            optWhole.Step();
            optPieces.Step();
        }
        var joined = whole.ToArray<double>();
        for (int i = 0; i < 37; i++) Assert.Equal(joined[i], pieces[i].Item(), 1e-14);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NonContiguousParameterIsUpdatedLikeAContiguousOne(int kind)
    {
        Random.Seed(2);
        var strided = RT(3, 5);                          // (3, 5) transposed view
        var dense = strided.Detach().Contiguous().Clone().RequiresGrad_();
        var g = Tensor.Randn([3, 5], DType.Float64);
        var o1 = AllKinds[kind]([strided]);
        var o2 = AllKinds[kind]([dense]);
        for (int i = 0; i < 3; i++)
        {
            strided.Grad = g.T.Contiguous().T;             // a non-contiguous gradient as well
            dense.Grad = g.Clone();
            o1.Step(); o2.Step();
        }
        Assert.False(strided.IsContiguous);
        AssertClose(dense, strided, 1e-14, 1e-15);
    }

    [Fact]
    public void StepSkipsParametersWithoutGradient()
    {
        var a = Tensor.Ones([3], DType.Float64, requiresGrad: true);
        var b = Tensor.Ones([3], DType.Float64, requiresGrad: true);
        var opt = new Adam([a, b], lr: 0.1);
        a.Grad = Tensor.Ones([3], DType.Float64);
        int version = b.Version;
        opt.Step();
        AssertClose(new[] { 0.9, 0.9, 0.9 }, a, 1e-12, 1e-8);
        AssertClose(new[] { 1.0, 1.0, 1.0 }, b, 0, 0);
        Assert.Equal(version, b.Version);
        Assert.True(opt.State.ContainsKey(a));
        Assert.False(opt.State.ContainsKey(b));
        Assert.Equal(1, opt.State[a].Step);
    }

    [Fact]
    public void StepRunsUnderNoGradAndBumpsTheVersion()
    {
        var w = Tensor.Ones([2, 2], requiresGrad: true);
        var opt = new SGD([w], lr: 0.5);
        (w * w).Sum().Backward();
        int before = w.Version;
        opt.Step();
        Assert.True(w.Version > before);
        Assert.True(w.IsLeaf);
        Assert.Null(w.GradFn);
        Assert.True(Autograd.IsGradEnabled);
        AssertClose(new[] { 0.0, 0, 0, 0 }, w, 0, 1e-7);
    }

    [Fact]
    public void ZeroGradSetsToNoneOrZeroesInPlace()
    {
        var w = Tensor.Ones([4], requiresGrad: true);
        var opt = new SGD([w], lr: 0.1);
        (w * 3).Sum().Backward();
        var grad = w.Grad!;
        opt.ZeroGrad(setToNone: false);
        Assert.Same(grad, w.Grad);
        AssertClose(new[] { 0.0, 0, 0, 0 }, w.Grad!, 0, 0);
        (w * 3).Sum().Backward();                       // accumulates into the zeroed buffer
        AssertClose(new[] { 3.0, 3, 3, 3 }, w.Grad!, 0, 0);
        opt.ZeroGrad();
        Assert.Null(w.Grad);
        opt.Step();                                     // no gradient: nothing happens
        AssertClose(new[] { 1.0, 1, 1, 1 }, w, 0, 0);
    }

    [Fact]
    public void ParamGroupsOverrideDefaultsAndExposeOptions()
    {
        var a = Tensor.Zeros([2], requiresGrad: true);
        var b = Tensor.Zeros([2], requiresGrad: true);
        var defaults = new SgdOptions(0.1) { WeightDecay = 0.01 };
        var opt = new SGD([new ParamGroup([a]), new ParamGroup([b], defaults with { Lr = 1.0, Momentum = 0.5 })], defaults);
        Assert.Equal(2, opt.ParamGroups.Count);
        Assert.Equal(0.1, opt.ParamGroups[0].Lr);
        Assert.Equal(0.0, opt.GroupOptions(0).Momentum);
        Assert.Same(defaults, opt.ParamGroups[0].Options);
        Assert.Equal(1.0, opt.ParamGroups[1].Lr);
        Assert.Equal(0.5, opt.GroupOptions(1).Momentum);
        Assert.Equal(0.01, opt.GroupOptions(1).WeightDecay);
        Assert.False(opt.GroupOptions(1).Nesterov);
        a.Grad = Tensor.Ones([2]); b.Grad = Tensor.Ones([2]);
        opt.Step();
        AssertClose(new[] { -0.1, -0.1 }, a, 1e-6, 1e-7);
        AssertClose(new[] { -1.0, -1.0 }, b, 1e-6, 1e-7);
        opt.ParamGroups[0].Lr = 0.2;                    // changing an option takes effect at the next step
        opt.Step();
        Assert.Equal(-0.1 - 0.2 * (1 + 0.01 * -0.1), a.At(0), 6);
        var c = Tensor.Zeros([1], requiresGrad: true);
        opt.AddParamGroup(new ParamGroup([c]) { Lr = 3 });
        Assert.Equal(3, opt.ParamGroups[2].Lr);
        Assert.Equal(0.01, opt.GroupOptions(2).WeightDecay);
        Assert.Equal(0.1, opt.Defaults.Lr);                     // an Lr override leaves the defaults alone
    }

    [Fact]
    public void OptionRecordsHaveTorchsDefaults()
    {
        var adam = new AdamOptions();
        Assert.Equal((1e-3, (0.9, 0.999), 1e-8, 0.0, false, false), (adam.Lr, adam.Betas, adam.Eps, adam.WeightDecay, adam.Amsgrad, adam.Maximize));
        var adamw = new AdamWOptions();
        Assert.Equal((1e-3, (0.9, 0.999), 1e-8, 1e-2, false, false), (adamw.Lr, adamw.Betas, adamw.Eps, adamw.WeightDecay, adamw.Amsgrad, adamw.Maximize));
        var sgd = new SgdOptions(0.1);
        Assert.Equal((0.1, 0.0, 0.0, 0.0, false, false), (sgd.Lr, sgd.Momentum, sgd.Dampening, sgd.WeightDecay, sgd.Nesterov, sgd.Maximize));
        var adagrad = new AdagradOptions();
        Assert.Equal((1e-2, 0.0, 0.0, 0.0, 1e-10, false), (adagrad.Lr, adagrad.LrDecay, adagrad.WeightDecay, adagrad.InitialAccumulatorValue, adagrad.Eps, adagrad.Maximize));
        var rmsprop = new RMSpropOptions();
        Assert.Equal((1e-2, 0.99, 1e-8, 0.0, 0.0, false, false), (rmsprop.Lr, rmsprop.Alpha, rmsprop.Eps, rmsprop.WeightDecay, rmsprop.Momentum, rmsprop.Centered, rmsprop.Maximize));
        var adadelta = new AdadeltaOptions();
        Assert.Equal((1.0, 0.9, 1e-6, 0.0, false), (adadelta.Lr, adadelta.Rho, adadelta.Eps, adadelta.WeightDecay, adadelta.Maximize));
        // the named-argument constructors build the same records
        var p = Tensor.Zeros([1], requiresGrad: true);
        Assert.Equal(adam, new Adam([p]).Defaults);
        Assert.Equal(adamw, new AdamW([p]).Defaults);
        Assert.Equal(new AdamWOptions { Lr = 1e-3, WeightDecay = 0.01 }, new AdamW([p], lr: 1e-3, weightDecay: 0.01).Defaults);
        Assert.Equal(sgd, new SGD([p], lr: 0.1).Defaults);
        Assert.Equal(adagrad, new Adagrad([p]).Defaults);
        Assert.Equal(rmsprop, new RMSprop([p]).Defaults);
        Assert.Equal(adadelta, new Adadelta([p]).Defaults);
    }

    [Fact]
    public void GroupOptionsAreTypedAndChecked()
    {
        var a = Tensor.Zeros([2], requiresGrad: true);
        var b = Tensor.Zeros([2], requiresGrad: true);
        var backbone = new ParamGroup([a]) { Lr = 1e-4 };
        Assert.Equal(1e-4, backbone.Lr);                        // readable before the optimizer fills the rest in
        Assert.False(backbone.HasOptions);
        Assert.Throws<InvalidOperationException>(() => backbone.Options);
        Assert.Throws<InvalidOperationException>(() => new ParamGroup([b]).Lr);
        var opt = new AdamW([backbone, new ParamGroup([b], new AdamWOptions { Amsgrad = true }) { Lr = 0.5 }], weightDecay: 0.1);
        Assert.Equal(new AdamWOptions { Lr = 1e-4, WeightDecay = 0.1 }, opt.ParamGroups[0].Options);
        Assert.Equal(new AdamWOptions { Lr = 0.5, Amsgrad = true }, opt.ParamGroups[1].Options);  // given options are kept whole
        opt.ParamGroups[1].Options = opt.GroupOptions(1) with { Betas = (0.5, 0.9) };
        Assert.Equal((0.5, 0.9), opt.GroupOptions(1).Betas);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => opt.ParamGroups[1].Options = opt.GroupOptions(1) with { Eps = -1 });
        Assert.Equal("eps", e.ParamName);
        Assert.Contains("AdamW, parameter group 1: Invalid epsilon value: -1", e.Message);
        Assert.Contains("takes AdamOptions", Assert.Throws<ArgumentException>(() => opt.ParamGroups[0].Options = new SgdOptions(0.1)).Message);
        Assert.Contains("SgdOptions", Assert.Throws<ArgumentException>(() =>
            new Adam([new ParamGroup([Tensor.Zeros([1], requiresGrad: true)], new SgdOptions(0.1))])).Message);
        Assert.Equal(new AdamWOptions { Lr = 1e-4, WeightDecay = 0.1 }, opt.ParamGroups[0].Options);  // failed sets change nothing
    }

    [Fact]
    public void StateDictsInTodaysLayoutStillLoad()
    {
        // The scalars exactly as DeepSharp wrote them before options were typed: Adam's betas as beta1/beta2,
        // booleans as 0/1, a scheduler's initial_lr beside the options.
        var a = Tensor.Zeros([2], DType.Float64, requiresGrad: true);
        var opt = new Adam([a]);
        var saved = new OptimizerState();
        foreach (var (k, v) in new Dictionary<string, double>
        {
            ["param_groups.0.lr"] = 0.02, ["param_groups.0.beta1"] = 0.8, ["param_groups.0.beta2"] = 0.99, ["param_groups.0.eps"] = 1e-6,
            ["param_groups.0.weight_decay"] = 0.1, ["param_groups.0.amsgrad"] = 1, ["param_groups.0.maximize"] = 0,
            ["param_groups.0.initial_lr"] = 0.05, ["param_groups.0.num_params"] = 1, ["state.0.step"] = 3,
        }) saved.Scalars[k] = v;
        saved.Tensors["state.0.exp_avg"] = Tensor.Ones([2], DType.Float64);
        opt.LoadStateDict(saved);
        Assert.Equal(new AdamOptions { Lr = 0.02, Betas = (0.8, 0.99), Eps = 1e-6, WeightDecay = 0.1, Amsgrad = true }, opt.GroupOptions(0));
        Assert.Equal(0.05, opt.ParamGroups[0].InitialLr);
        Assert.Equal(3, opt.State[a].Step);
        var written = opt.StateDict().Scalars;
        Assert.Equal(saved.Scalars.OrderBy(kv => kv.Key), written.OrderBy(kv => kv.Key));     // and they are written back the same way
        saved.Scalars["param_groups.0.momentum"] = 0.9;
        var e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(saved));
        Assert.Contains("'param_groups.0.momentum' is not an option of Adam", e.Message);
        Assert.Equal(0.02, opt.ParamGroups[0].Lr);                                             // a failed load changes nothing
    }

    [Fact]
    public void StateDictLayoutIsDocumented()
    {
        var a = Tensor.Zeros([2], DType.Float64, requiresGrad: true);
        var b = Tensor.Zeros([3], DType.Float64, requiresGrad: true);
        var c = Tensor.Zeros([1], DType.Float64, requiresGrad: true);
        var opt = new Adam([new ParamGroup([a, b]), new ParamGroup([c]) { Lr = 0.5 }], amsgrad: true);
        b.Grad = Tensor.Ones([3], DType.Float64); c.Grad = Tensor.Ones([1], DType.Float64);
        opt.Step(); opt.Step();
        var sd = opt.StateDict();
        Assert.Equal(new[] { "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq", "state.2.exp_avg", "state.2.exp_avg_sq", "state.2.max_exp_avg_sq" },
            sd.Tensors.Keys.Order().ToArray());
        Assert.Equal(2, sd.Scalars["state.1.step"]);
        Assert.False(sd.Scalars.ContainsKey("state.0.step"));
        Assert.Equal(0.001, sd.Scalars["param_groups.0.lr"]);
        Assert.Equal(0.5, sd.Scalars["param_groups.1.lr"]);
        Assert.Equal(0.9, sd.Scalars["param_groups.1.beta1"]);
        Assert.Equal(1, sd.Scalars["param_groups.0.amsgrad"]);
        Assert.Equal(2, sd.Scalars["param_groups.0.num_params"]);
        // the state dict holds copies
        var before = sd.Tensors["state.1.exp_avg"].ToArray<double>();
        opt.Step();
        Assert.Equal(before, sd.Tensors["state.1.exp_avg"].ToArray<double>());
    }

    [Fact]
    public void LoadStateDictCastsToTheParameterDtype()
    {
        var a = Tensor.Zeros([2], DType.Float64, requiresGrad: true);
        var opt = new SGD([a], lr: 0.1, momentum: 0.9);
        a.Grad = Tensor.Ones([2], DType.Float64);
        opt.Step();
        var a32 = Tensor.Zeros([2], DType.Float32, requiresGrad: true);
        var opt32 = new SGD([a32], lr: 0.1, momentum: 0.9);
        opt32.LoadStateDict(opt.StateDict());
        Assert.Equal(DType.Float32, opt32.State[a32].Buffers["momentum_buffer"].DType);
        Assert.Equal(1, opt32.State[a32].Step);
    }

    [Fact]
    public void LoadStateDictRejectsAMismatchedOptimizer()
    {
        var a = Tensor.Zeros([2], requiresGrad: true);
        var b = Tensor.Zeros([3], requiresGrad: true);
        var opt = new SGD([a, b], lr: 0.1, momentum: 0.9);
        a.Grad = Tensor.Ones([2]); b.Grad = Tensor.Ones([3]);
        opt.Step();
        var sd = opt.StateDict();
        var twoGroups = new SGD([new ParamGroup([Tensor.Zeros([2], requiresGrad: true)]), new ParamGroup([Tensor.Zeros([3], requiresGrad: true)])], lr: 0.1);
        Assert.Contains("parameter groups", Assert.Throws<ArgumentException>(() => twoGroups.LoadStateDict(sd)).Message);
        var fewer = new SGD([Tensor.Zeros([2], requiresGrad: true)], lr: 0.1);
        Assert.Contains("has 2 parameters", Assert.Throws<ArgumentException>(() => fewer.LoadStateDict(sd)).Message);
        var swapped = new SGD([Tensor.Zeros([3], requiresGrad: true), Tensor.Zeros([2], requiresGrad: true)], lr: 0.1);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => swapped.LoadStateDict(sd)).Message);
    }

    [Fact]
    public void BadArgumentsGiveClearErrors()
    {
        var p = Tensor.Zeros([2], requiresGrad: true);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => new SGD([Tensor.Zeros([2], DType.Int64)], lr: 0.1)).Message);
        Assert.Contains("non-leaf", Assert.Throws<ArgumentException>(() => new SGD([p * 2], lr: 0.1)).Message);
        Assert.Contains("more than one parameter group", Assert.Throws<ArgumentException>(() =>
            new SGD([new ParamGroup([p]), new ParamGroup([p])], lr: 0.1)).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new Adam(Array.Empty<ParamGroup>())).Message);
        var lr = Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], lr: -1));
        Assert.Equal("lr", lr.ParamName);
        Assert.Contains("SGD: Invalid learning rate: -1", lr.Message);
        var beta = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], betas: (0.9, 1.0)));
        Assert.Equal("betas", beta.ParamName);
        Assert.Contains("Invalid beta parameter at index 1: 1; betas must be in [0, 1)", beta.Message);
        Assert.Contains("Invalid beta parameter at index 0", Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([p], betas: (double.NaN, 0.9))).Message);
        Assert.Contains("weight_decay", Assert.Throws<ArgumentOutOfRangeException>(() => new RMSprop([p], weightDecay: -0.1)).Message);
        Assert.Contains("Invalid rho value", Assert.Throws<ArgumentOutOfRangeException>(() => new Adadelta([p], rho: 1.5)).Message);
        Assert.Contains("Invalid lr_decay value", Assert.Throws<ArgumentOutOfRangeException>(() => new Adagrad([p], lrDecay: -1)).Message);
        Assert.Contains("group 1", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new Adam([new ParamGroup([p]), new ParamGroup([Tensor.Zeros([1], requiresGrad: true)], new AdamOptions { Eps = -1 })])).Message);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new SGD([p], lr: 0.1, nesterov: true)).Message);
        var opt = new SGD([p], lr: 0.1);
        p.Grad = Tensor.Zeros([3]);
        Assert.Contains("(3,)", Assert.Throws<InvalidOperationException>(() => opt.Step()).Message);
    }

    [Fact]
    public void StepWithClosureReturnsTheLoss()
    {
        var w = Tensor.Full([2], 2.0, DType.Float64, requiresGrad: true);
        var opt = new SGD([w], lr: 0.25);
        var loss = opt.Step(() => { opt.ZeroGrad(); var l = (w * w).Sum(); l.Backward(); return l; });
        Assert.Equal(8.0, loss.Item(), 12);
        AssertClose(new[] { 1.0, 1.0 }, w, 1e-12, 1e-12);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SteadyStateStepDoesNotAllocate(int kind)
    {
        var p = Tensor.Randn([1000], requiresGrad: true);
        Optimizer opt = kind switch
        {
            0 => new SGD([p], lr: 0.01, momentum: 0.9, weightDecay: 1e-4),
            1 => new Adam([p], lr: 1e-3),
            2 => new AdamW([p], lr: 1e-3, amsgrad: true),
            _ => new RMSprop([p], lr: 1e-3, momentum: 0.9, centered: true),
        };
        p.Grad = Tensor.Randn([1000]);
        for (int i = 0; i < 5; i++) opt.Step();           // warm up: state creation, JIT
        // the fewest bytes of three windows: a per-step allocation shows in every window, while a one-off of the runtime
        // (tiered-JIT call counting and tier-up, seen once as 6952 bytes in a full parallel suite run) shows in one
        long allocated = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) opt.Step();
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(allocated < 2048, $"100 steps allocated {allocated} bytes (fewest of three windows)");
    }
}
