using DeepSharp.Optim;
using DeepSharp.Tests.Golden;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Optim;

/// <summary>30-step learning-rate (and momentum) sequences against PyTorch 1.13 (tools/golden/optim.py).</summary>
public class SchedulerTests
{
    static (Optimizer Opt, Tensor[] Params) MakeOptimizer(double[] lrs, bool adam = false)
    {
        var ps = lrs.Select(_ => Tensor.Zeros([2], DType.Float64, requiresGrad: true)).ToArray();
        var groups = ps.Select((p, i) => new ParamGroup([p]) { Lr = lrs[i] }).ToArray();
        Optimizer opt = adam ? new Adam(groups, lr: lrs[0]) : new SGD(groups, lr: lrs[0], momentum: 0.9);
        return (opt, ps);
    }

    static readonly Dictionary<string, (double[] Lrs, bool Adam, Func<Optimizer, LRScheduler> Make)> Cases = new()
    {
        ["steplr"] = ([0.1, 0.05], false, o => new StepLR(o, stepSize: 7, gamma: 0.5)),
        ["multisteplr"] = ([0.1, 0.02], false, o => new MultiStepLR(o, [3, 10, 10, 25], gamma: 0.3)),
        ["exponentiallr"] = ([0.1], false, o => new ExponentialLR(o, gamma: 0.9)),
        ["cosineannealinglr"] = ([0.1, 0.05], false, o => new CosineAnnealingLR(o, tMax: 12, etaMin: 0.001)),
        ["linearlr"] = ([0.1], false, o => new LinearLR(o, startFactor: 0.25, endFactor: 0.9, totalIters: 8)),
        ["sequential_linear_cosine"] = ([0.1], false, o => new SequentialLR(o,
            [new LinearLR(o, startFactor: 0.1, endFactor: 1.0, totalIters: 5), new CosineAnnealingLR(o, tMax: 25, etaMin: 0.002)], [5])),
        ["sequential_exp_step"] = ([0.1], false, o => new SequentialLR(o, [new ExponentialLR(o, gamma: 0.8), new StepLR(o, stepSize: 4, gamma: 0.5)], [10])),
        ["onecycle_cos"] = ([0.1], false, o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 30)),
        ["onecycle_linear_threephase"] = ([0.1], false, o => new OneCycleLR(o, maxLr: 0.5, totalSteps: 30, pctStart: 0.25,
            annealStrategy: AnnealStrategy.Linear, divFactor: 10, finalDivFactor: 100, threePhase: true)),
        ["onecycle_adam"] = ([0.1], true, o => new OneCycleLR(o, maxLr: 0.01, totalSteps: 30, baseMomentum: 0.8, maxMomentum: 0.9)),
        ["onecycle_nomomentum"] = ([0.1], false, o => new OneCycleLR(o, maxLr: 0.2, totalSteps: 31, cycleMomentum: false)),
    };

    public static TheoryData<string> Names => new(Cases.Keys);

    static void CheckSequence(GoldenCase c, Optimizer opt, Tensor[] ps, Action step, int from = 0, int to = 30)
    {
        var lrs = c.Outputs[0]!;
        var moms = c.Outputs.Length > 1 ? c.Outputs[1] : null;
        for (int i = from; i < to; i++)
        {
            for (int g = 0; g < opt.ParamGroups.Count; g++)
            {
                Assert.True(Math.Abs(lrs.At(i, g) - opt.ParamGroups[g].Lr) <= 1e-12 + 1e-9 * Math.Abs(lrs.At(i, g)),
                    $"{c.Name}: lr of group {g} before step {i} is {opt.ParamGroups[g].Lr}, expected {lrs.At(i, g)}");
                if (moms != null)
                {
                    double m = opt.ParamGroups[g].Options is AdamOptions a ? a.Betas.Beta1 : ((SgdOptions)opt.ParamGroups[g].Options).Momentum;
                    Assert.True(Math.Abs(moms.At(i, g) - m) <= 1e-12, $"{c.Name}: momentum of group {g} before step {i} is {m}, expected {moms.At(i, g)}");
                }
            }
            foreach (var p in ps) p.Grad = Tensor.Ones([2], DType.Float64);
            opt.Step();
            step();
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LrSequenceMatchesPyTorch(string name)
    {
        var (lrs, adam, make) = Cases[name];
        var (opt, ps) = MakeOptimizer(lrs, adam);
        var sched = make(opt);
        var c = Golden.Golden.Case("optim", name);
        Assert.Equal(opt.ParamGroups.Select(g => g.Lr), sched.GetLastLr());
        CheckSequence(c, opt, ps, sched.Step);
    }

    [Fact]
    public void WarmupCosineMatchesPyTorchsLinearThenCosine()
    {
        var (opt, ps) = MakeOptimizer([0.1]);
        var sched = new WarmupCosineLR(opt, warmupSteps: 5, totalSteps: 30, minLr: 0.002, warmupStartFactor: 0.1);
        CheckSequence(Golden.Golden.Case("optim", "sequential_linear_cosine"), opt, ps, sched.Step);
        for (int i = 0; i < 5; i++) sched.Step();
        Assert.Equal(0.002, sched.GetLastLr()[0], 15);     // holds minLr after totalSteps
    }

    [Theory]
    [InlineData("plateau_min", PlateauMode.Min, 0.1, 2, 1e-4, ThresholdMode.Rel, 1, 0.002, 1.0)]
    [InlineData("plateau_max_abs", PlateauMode.Max, 0.5, 1, 0.01, ThresholdMode.Abs, 0, 0.0, -1.0)]
    public void ReduceLROnPlateauMatchesPyTorch(string name, PlateauMode mode, double factor, int patience, double threshold,
        ThresholdMode thresholdMode, int cooldown, double minLr, double sign)
    {
        var c = Golden.Golden.Case("optim", name);
        var (opt, ps) = MakeOptimizer(c.Outputs[0]!.Shape[1] == 2 ? [0.1, 0.05] : [0.1]);
        var sched = new ReduceLROnPlateau(opt, mode, factor, patience, threshold, thresholdMode, cooldown, minLr);
        var metrics = Golden.Golden.Case("optim", "plateau_metrics").Inputs[0]!.ToArray<double>();
        int k = 0;
        CheckSequence(c, opt, ps, () => sched.Step(sign * metrics[k++]));
        Assert.Equal(30, sched.LastEpoch);
    }

    [Fact]
    public void SchedulerStateDictRoundTripContinuesTheSequence()
    {
        var c = Golden.Golden.Case("optim", "cosineannealinglr");
        var (opt, ps) = MakeOptimizer([0.1, 0.05]);
        var sched = new CosineAnnealingLR(opt, tMax: 12, etaMin: 0.001);
        CheckSequence(c, opt, ps, sched.Step, 0, 13);
        var optState = opt.StateDict();
        var schedState = sched.StateDict();

        var (opt2, ps2) = MakeOptimizer([0.7, 0.7]);
        var sched2 = new CosineAnnealingLR(opt2, tMax: 12, etaMin: 0.001);
        opt2.LoadStateDict(optState);
        sched2.LoadStateDict(schedState);
        Assert.Equal(13, sched2.LastEpoch);
        CheckSequence(c, opt2, ps2, sched2.Step, 13, 30);

        var seqCase = Golden.Golden.Case("optim", "sequential_linear_cosine");
        var (opt3, ps3) = MakeOptimizer([0.1]);
        var seq = (SequentialLR)Cases["sequential_linear_cosine"].Make(opt3);
        CheckSequence(seqCase, opt3, ps3, seq.Step, 0, 8);
        var (opt4, ps4) = MakeOptimizer([0.1]);
        var seq4 = (SequentialLR)Cases["sequential_linear_cosine"].Make(opt4);
        opt4.LoadStateDict(opt3.StateDict());
        seq4.LoadStateDict(seq.StateDict());
        CheckSequence(seqCase, opt4, ps4, seq4.Step, 8, 30);
    }

    [Fact]
    public void PlateauStateDictRoundTrip()
    {
        var (opt, _) = MakeOptimizer([0.1]);
        var s = new ReduceLROnPlateau(opt, patience: 1);
        s.Step(1.0); s.Step(2.0);
        var (opt2, _) = MakeOptimizer([0.1]);
        var s2 = new ReduceLROnPlateau(opt2, patience: 1);
        s2.LoadStateDict(s.StateDict());
        Assert.Equal(1.0, s2.Best);
        Assert.Equal(1, s2.NumBadEpochs);
        s.Step(3.0); s2.Step(3.0);
        Assert.Equal(0.01, opt.ParamGroups[0].Lr, 15);
        Assert.Equal(0.01, opt2.ParamGroups[0].Lr, 15);
    }

    [Fact]
    public void BadArgumentsGiveClearErrors()
    {
        var (opt, _) = MakeOptimizer([0.1]);
        var oneCycle = new OneCycleLR(opt, maxLr: 0.1, totalSteps: 3);
        for (int i = 0; i < 3; i++) oneCycle.Step();
        Assert.Contains("total steps is 3", Assert.Throws<InvalidOperationException>(() => oneCycle.Step()).Message);
        var p = Tensor.Zeros([1], requiresGrad: true);
        Assert.Contains("momentum", Assert.Throws<ArgumentException>(() => new OneCycleLR(new Adagrad([p]), maxLr: 0.1, totalSteps: 10)).Message);
        _ = new OneCycleLR(new Adagrad([p]), maxLr: 0.1, totalSteps: 10, cycleMomentum: false);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(opt, stepSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineLR(opt, warmupSteps: 10, totalSteps: 10));
        var other = MakeOptimizer([0.1]).Opt;
        Assert.Contains("same optimizer", Assert.Throws<ArgumentException>(() =>
            new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(other, 2)], [3])).Message);
        Assert.Contains("milestone", Assert.Throws<ArgumentException>(() =>
            new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(opt, 2)], [3, 4])).Message);
        var fresh = MakeOptimizer([0.1]).Opt;
        Assert.Contains("initial_lr", Assert.Throws<ArgumentException>(() => new StepLR(fresh, 2, lastEpoch: 5)).Message);
    }
}
