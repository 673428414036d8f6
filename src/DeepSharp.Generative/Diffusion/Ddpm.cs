using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Generative.Diffusion;

/// <summary>
/// Denoising diffusion (DDPM, Ho et al. 2020) around a noise-predicting <see cref="UNet"/>: the ε-prediction loss
/// ‖ε − ε̂(√ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, t)‖² (<see cref="Loss"/>, <see cref="Step"/>), ancestral sampling over all T steps
/// (<see cref="Sample"/>), DDIM sampling over fewer (Song et al. 2021, <see cref="SampleDdim"/>), and classifier-free
/// guidance (Ho and Salimans 2022): labels are dropped to "no class" with probability <see cref="LabelDropout"/> in
/// training, and sampling mixes ε̂ = (1 + w)·ε̂(x, c) − w·ε̂(x, ∅). Images are in [−1, 1] (the step maps [0, 1] batches).
/// </summary>
public sealed class Ddpm
{
    /// <summary>Wraps <paramref name="model"/> with <paramref name="schedule"/>.</summary>
    public Ddpm(UNet model, NoiseSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(schedule);
        Model = model; Schedule = schedule;
    }

    /// <summary>The noise predictor.</summary>
    public UNet Model { get; }
    /// <summary>The noise schedule.</summary>
    public NoiseSchedule Schedule { get; }
    /// <summary>Probability of replacing a label by "no class" while training (classifier-free guidance; default 0.1).</summary>
    public double LabelDropout { get; init; } = 0.1;

    /// <summary>x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε for timesteps <paramref name="t"/> (N,) (q_sample).</summary>
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor t)
    {
        var alphaBar = NoiseSchedule.At(Schedule.AlphasCumprod, t, x0.DType);
        return x0 * alphaBar.Sqrt() + noise * (1 - alphaBar).Sqrt();
    }

    /// <summary>The ε-prediction loss (mean squared error) of images <paramref name="x0"/> in [−1, 1], with optional labels.</summary>
    public Tensor Loss(Tensor x0, Tensor? labels = null, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x0);
        int n = x0.Shape[0];
        var t = Tensor.RandInt(0, Schedule.Steps, [n], generator: generator);
        var noise = Tensor.RandnLike(x0, generator);
        if (labels != null && Model.NumClasses > 0 && LabelDropout > 0)
        {
            var drop = Tensor.Rand([n], generator: generator).Lt(LabelDropout);
            labels = Tensor.Where(drop, Tensor.Full([n], Model.NumClasses, DType.Int64), labels);
        }
        return F.MseLoss(Model.Predict(AddNoise(x0, noise, t), t, Model.NumClasses > 0 ? labels : null), noise);
    }

    /// <summary>The trainer step: [0, 1] batch → [−1, 1], <see cref="Loss"/> with the batch's labels when the U-Net is conditional; after each optimizer step the trainer's EMA (if given) is updated by a callback.</summary>
    public Func<StepContext, Tensor?> Step() => ctx =>
        Loss(ctx.Input * 2 - 1, Model.NumClasses > 0 ? ctx.Target : null);

    Tensor Epsilon(UNet model, Tensor x, long t, Tensor? labels, double guidance)
    {
        var steps = Tensor.Full([x.Shape[0]], t, DType.Int64);
        if (labels == null || guidance == 0) return model.Predict(x, steps, labels);
        var conditional = model.Predict(x, steps, labels);
        var unconditional = model.Predict(x, steps, Tensor.Full([x.Shape[0]], model.NumClasses, DType.Int64));
        return conditional * (1 + guidance) - unconditional * guidance;
    }

    /// <summary>
    /// Ancestral sampling (DDPM's Algorithm 2) over all T steps: x_{t−1} = (x_t − β_t/√(1 − ᾱ_t)·ε̂)/√α_t + σ_t·z with
    /// σ_t² = β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t). Returns (N, C, S, S) in [−1, 1]. <paramref name="model"/> defaults to
    /// <see cref="Model"/> (pass the EMA copy to sample from averaged weights).
    /// </summary>
    public Tensor Sample(int count, Tensor? labels = null, double guidance = 0, UNet? model = null, Generator? generator = null)
    {
        model = Begin(count, labels, model);
        using var _ = Autograd.NoGrad();
        var x = Tensor.Randn([count, Model.Shape.Channels, Model.Shape.Size, Model.Shape.Size], generator: generator);
        var alphaBar = Schedule.AlphasCumprod; var betas = Schedule.Betas;
        for (int t = Schedule.Steps - 1; t >= 0; t--)
        {
            var eps = Epsilon(model, x, t, labels, guidance);
            x = (x - eps * (betas[t] / Math.Sqrt(1 - alphaBar[t]))) / Math.Sqrt(1 - betas[t]);
            if (t > 0)
            {
                double variance = betas[t] * (1 - alphaBar[t - 1]) / (1 - alphaBar[t]);
                x = x + Tensor.RandnLike(x, generator) * Math.Sqrt(variance);
            }
        }
        return x.Clamp(-1, 1);
    }

    /// <summary>
    /// DDIM sampling (Song et al. 2021) over <paramref name="steps"/> evenly spaced timesteps: x̂₀ = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t
    /// (clipped to [−1, 1]), x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ²)·ε̂ + σ·z with σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev));
    /// η = 0 is deterministic.
    /// </summary>
    public Tensor SampleDdim(int count, int steps = 50, double eta = 0, Tensor? labels = null, double guidance = 0, UNet? model = null, Generator? generator = null)
    {
        if (steps < 1 || steps > Schedule.Steps) throw new ArgumentOutOfRangeException(nameof(steps), $"SampleDdim: steps must be in [1, {Schedule.Steps}], got {steps}");
        model = Begin(count, labels, model);
        using var _ = Autograd.NoGrad();
        var x = Tensor.Randn([count, Model.Shape.Channels, Model.Shape.Size, Model.Shape.Size], generator: generator);
        var times = Enumerable.Range(0, steps).Select(i => (int)((long)i * Schedule.Steps / steps)).Reverse().ToArray();
        for (int i = 0; i < times.Length; i++)
            x = DdimUpdate(model, x, times[i], i + 1 < times.Length ? times[i + 1] : -1, labels, guidance, eta, generator);
        return x.Clamp(-1, 1);
    }

    /// <summary>
    /// One DDIM update (Song et al. 2021, eq. 12) of <paramref name="x"/> (N, C, S, S) from timestep <paramref name="t"/> to
    /// <paramref name="previous"/> (−1: to the clean image, ᾱ = 1), with ε̂ guided by <paramref name="guidance"/> when
    /// <paramref name="labels"/> are given; <see cref="SampleDdim"/> chains these. Runs under no-grad in eval mode.
    /// </summary>
    public Tensor DdimStep(Tensor x, int t, int previous, Tensor? labels = null, double guidance = 0, double eta = 0, UNet? model = null, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (t < 0 || t >= Schedule.Steps || previous < -1 || previous >= t)
            throw new ArgumentOutOfRangeException(nameof(previous), $"DdimStep: need 0 ≤ t < {Schedule.Steps} and −1 ≤ previous < t, got t = {t}, previous = {previous}");
        model = Begin(x.Shape[0], labels, model);
        using var _ = Autograd.NoGrad();
        return DdimUpdate(model, x, t, previous, labels, guidance, eta, generator);
    }

    Tensor DdimUpdate(UNet model, Tensor x, int t, int previous, Tensor? labels, double guidance, double eta, Generator? generator)
    {
        double alphaBar = Schedule.AlphasCumprod[t], alphaBarPrev = previous >= 0 ? Schedule.AlphasCumprod[previous] : 1.0;
        var eps = Epsilon(model, x, t, labels, guidance);
        var x0 = ((x - eps * Math.Sqrt(1 - alphaBar)) / Math.Sqrt(alphaBar)).Clamp(-1, 1);
        double sigma = eta * Math.Sqrt((1 - alphaBarPrev) / (1 - alphaBar) * (1 - alphaBar / alphaBarPrev));
        x = x0 * Math.Sqrt(alphaBarPrev) + eps * Math.Sqrt(Math.Max(1 - alphaBarPrev - sigma * sigma, 0));
        return sigma > 0 ? x + Tensor.RandnLike(x, generator) * sigma : x;
    }

    UNet Begin(int count, Tensor? labels, UNet? model)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"Ddpm: count must be positive, got {count}");
        model ??= Model;
        if (labels != null)
        {
            if (Model.NumClasses == 0) throw new ArgumentException("Ddpm: labels given to an unconditional model", nameof(labels));
            if (labels.Rank != 1 || labels.Shape[0] != count) throw new ArgumentException($"Ddpm: labels must be ({count},), got ({string.Join(", ", labels.Shape)})", nameof(labels));
            long min = labels.Min().Item<long>(), max = labels.Max().Item<long>();
            if (min < 0 || max >= Model.NumClasses) throw new ArgumentException($"Ddpm: labels must be in [0, {Model.NumClasses}), got {min}..{max}", nameof(labels));
        }
        model.Eval();
        return model;
    }
}
