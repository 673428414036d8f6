using DeepSharp.Optim;
using DeepSharp.Tests.Golden;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Optim;

/// <summary>20-step trajectories of every optimizer variant against PyTorch 1.13 (tools/golden/optim.py).</summary>
public class OptimizerGoldenTests
{
    internal static readonly Dictionary<string, Func<Tensor, Tensor, Optimizer>> Makers = new()
    {
        ["sgd"] = (w, b) => new SGD([w, b], lr: 0.01),
        ["sgd_momentum"] = (w, b) => new SGD([w, b], lr: 0.01, momentum: 0.9),
        ["sgd_momentum_dampening_wd"] = (w, b) => new SGD([w, b], lr: 0.01, momentum: 0.9, dampening: 0.3, weightDecay: 0.1),
        ["sgd_nesterov"] = (w, b) => new SGD([w, b], lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 0.05),
        ["sgd_maximize"] = (w, b) => new SGD([w, b], lr: 0.001, momentum: 0.5, maximize: true),
        ["sgd_groups"] = (w, b) => new SGD([new ParamGroup([w]), new ParamGroup([b], new SgdOptions(0.05) { Momentum = 0.5 })], lr: 0.01),
        ["adam"] = (w, b) => new Adam([w, b], lr: 0.05),
        ["adam_wd_amsgrad"] = (w, b) => new Adam([w, b], lr: 0.05, betas: (0.8, 0.99), eps: 1e-6, weightDecay: 0.1, amsgrad: true),
        ["adam_maximize"] = (w, b) => new Adam([w, b], lr: 0.01, maximize: true),
        ["adamw"] = (w, b) => new AdamW([w, b], lr: 0.05),
        ["adamw_amsgrad"] = (w, b) => new AdamW([w, b], lr: 0.05, weightDecay: 0.5, amsgrad: true),
        ["adam_groups"] = (w, b) => new Adam([new ParamGroup([w]) { Lr = 0.02 }, new ParamGroup([b], new AdamOptions { Lr = 0.05, Betas = (0.5, 0.9) })], lr: 0.05),
        ["adagrad"] = (w, b) => new Adagrad([w, b], lr: 0.1),
        ["adagrad_decay_wd_init"] = (w, b) => new Adagrad([w, b], lr: 0.1, lrDecay: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.5),
        ["rmsprop"] = (w, b) => new RMSprop([w, b], lr: 0.01),
        ["rmsprop_centered_momentum"] = (w, b) => new RMSprop([w, b], lr: 0.01, alpha: 0.9, momentum: 0.8, centered: true, weightDecay: 0.1),
        ["rmsprop_momentum"] = (w, b) => new RMSprop([w, b], lr: 0.005, momentum: 0.5),
        ["adadelta"] = (w, b) => new Adadelta([w, b]),
        ["adadelta_wd_maximize"] = (w, b) => new Adadelta([w, b], lr: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.1, maximize: true),
    };

    public static TheoryData<string> Cases => new(Makers.Keys);

    /// <summary>loss = sum((x @ w + b − y)²) + sum(exp(0.5·w)), as in tools/golden/optim.py.</summary>
    internal static Tensor Loss(Tensor x, Tensor y, Tensor w, Tensor b)
    {
        var r = x.MatMul(w) + b - y;
        return (r * r).Sum() + (w * 0.5).Exp().Sum();
    }

    internal sealed record Problem(GoldenCase Case, Tensor X, Tensor Y, Tensor W, Tensor B);

    internal static Problem Setup(string name, DType dtype = DType.Float64)
    {
        var c = Golden.Golden.Case("optim", name);
        return new Problem(c, c.Inputs[0]!.To(dtype), c.Inputs[1]!.To(dtype),
            c.Inputs[2]!.To(dtype).Clone().RequiresGrad_(), c.Inputs[3]!.To(dtype).Clone().RequiresGrad_());
    }

    internal static void Run(Problem pr, Optimizer opt, int from, int to, double rtol = 1e-9, double atol = 1e-10)
    {
        for (int step = from; step < to; step++)
        {
            opt.ZeroGrad();
            Loss(pr.X, pr.Y, pr.W, pr.B).Backward();
            opt.Step();
            AssertClose(pr.Case.Outputs[0]!.Select(0, step), pr.W, rtol, atol, $"{pr.Case.Name}: w after step {step + 1}");
            AssertClose(pr.Case.Outputs[1]!.Select(0, step), pr.B, rtol, atol, $"{pr.Case.Name}: b after step {step + 1}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrajectoryMatchesPyTorch(string name)
    {
        var pr = Setup(name);
        Run(pr, Makers[name](pr.W, pr.B), 0, 20);
    }

    [Theory]
    [InlineData("sgd_nesterov")]
    [InlineData("adam_wd_amsgrad")]
    [InlineData("adamw")]
    [InlineData("adagrad_decay_wd_init")]
    [InlineData("rmsprop_centered_momentum")]
    [InlineData("adadelta")]
    public void Float32TrajectoryMatchesPyTorch(string name)
    {
        var pr = Setup(name, DType.Float32);
        Run(pr, Makers[name](pr.W, pr.B), 0, 20, rtol: 1e-3, atol: 1e-4);
        Assert.Equal(DType.Float32, pr.W.DType);
    }

    [Theory]
    [InlineData("sgd_momentum")]
    [InlineData("adam_wd_amsgrad")]
    [InlineData("adagrad")]
    [InlineData("rmsprop_centered_momentum")]
    [InlineData("adadelta")]
    public void StateSurvivesTheTensorScopeOfEachStep(string name)
    {
        // The Trainer wraps every step in a TensorScope; optimizer state created in the first one must outlive it.
        var pr = Setup(name);
        var opt = Makers[name](pr.W, pr.B);
        OptimizerState? saved = null;
        for (int step = 0; step < 20; step++)
        {
            using (TensorScope.Begin())
            {
                opt.ZeroGrad();
                Loss(pr.X, pr.Y, pr.W, pr.B).Backward();
                opt.Step();
                if (step == 9) saved = opt.StateDict();
            }
            AssertClose(pr.Case.Outputs[0]!.Select(0, step), pr.W, 1e-9, 1e-10, $"{name}: w after step {step + 1}");
        }
        var resumed = new Problem(pr.Case, pr.X, pr.Y, pr.Case.Outputs[0]!.Select(0, 9).Clone().RequiresGrad_(),
            pr.Case.Outputs[1]!.Select(0, 9).Clone().RequiresGrad_());
        var fresh = Makers[name](resumed.W, resumed.B);
        using (TensorScope.Begin()) fresh.LoadStateDict(saved!);
        Run(resumed, fresh, 10, 20);
    }

    [Theory]
    [InlineData("sgd_momentum_dampening_wd")]
    [InlineData("sgd_groups")]
    [InlineData("adam_wd_amsgrad")]
    [InlineData("adamw_amsgrad")]
    [InlineData("adagrad_decay_wd_init")]
    [InlineData("rmsprop_centered_momentum")]
    [InlineData("adadelta_wd_maximize")]
    public void StateDictRoundTripContinuesTheTrajectory(string name)
    {
        var pr = Setup(name);
        var first = Makers[name](pr.W, pr.B);
        Run(pr, first, 0, 10);
        var saved = first.StateDict();

        // A fresh optimizer of the same class over copies of the parameters, with another lr: loading restores state and options.
        var resumed = new Problem(pr.Case, pr.X, pr.Y, pr.W.Detach().Clone().RequiresGrad_(), pr.B.Detach().Clone().RequiresGrad_());
        var fresh = Makers[name](resumed.W, resumed.B);
        foreach (var g in fresh.ParamGroups) g.Lr = 123;
        fresh.LoadStateDict(saved);
        Assert.NotEqual(123, fresh.ParamGroups[0].Lr);
        Run(resumed, fresh, 10, 20);
    }
}
