using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Generative.Diffusion;

/// <summary>
/// Denoising diffusion (DDPM, Ho et al. 2020) around a noise-predicting <see cref="UNet"/>: the ε-prediction loss
/// ‖ε − ε̂(√ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, t)‖² (<see cref="Loss"/>, <see cref="Step"/>), ancestral sampling over all T steps
/// (<see cref="Sample"/>), DDIM sampling over fewer (Song et al. 2021, <see cref="SampleDdim"/>), and classifier-free
/// guidance (Ho and Salimans 2022): labels are dropped to "no class" with probability <see cref="LabelDropout"/> in
/// training, and sampling mixes ε̂ = (1 + w)·ε̂(x, c) − w·ε̂(x, ∅). The guidance weight w of every method here is Ho and
/// Salimans' w; diffusers' guidance_scale s mixes ε̂(x, ∅) + s·(ε̂(x, c) − ε̂(x, ∅)), the same thing with s = w + 1.
/// Images are in [−1, 1] (the step maps [0, 1] batches).
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

    /// <summary>
    /// ε̂ with classifier-free guidance weight <paramref name="guidance"/> w (Ho and Salimans 2022, eq. 6):
    /// ε̂ = (1 + w)·ε̂(x, c) − w·ε̂(x, ∅). w = 0 is the plain conditional model. diffusers' <c>guidance_scale</c> s writes the
    /// same mix as ε̂(x, ∅) + s·(ε̂(x, c) − ε̂(x, ∅)), so w = s − 1 (diffusers' s = 3 is w = 2 here; s = 1 is w = 0).
    /// </summary>
    static Tensor Epsilon(INoisePredictor model, Tensor x, long t, Tensor? labels, double guidance)
    {
        var steps = Tensor.Full([x.Shape[0]], t, DType.Int64);
        if (labels == null || guidance == 0) return model.Predict(x, steps, labels);
        var conditional = model.Predict(x, steps, labels);
        var unconditional = model.Predict(x, steps, Tensor.Full([x.Shape[0]], model.NumClasses, DType.Int64));
        return conditional * (1 + guidance) - unconditional * guidance;
    }

    /// <summary>
    /// Ancestral sampling (DDPM, Ho et al. 2020) over all T steps: x̂₀ = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, clipped to [−1, 1] when
    /// <paramref name="clip"/>, then x_{t−1} ~ q(x_{t−1} | x_t, x̂₀) = N(μ̃, β̃_t) with the posterior mean
    /// μ̃ = √ᾱ_{t−1}·β_t/(1 − ᾱ_t)·x̂₀ + √α_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t)·x_t and β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t) (Ho et al.'s
    /// code with clip_denoised, diffusers' DDPMScheduler with clip_sample). Unclipped, μ̃ equals Algorithm 2's
    /// (x_t − β_t/√(1 − ᾱ_t)·ε̂)/√α_t; clipped, the mean is formed from the clipped x̂₀, so the step stays a posterior of the
    /// forward process. <paramref name="guidance"/> is w of <see cref="Ddpm"/> (diffusers' guidance_scale − 1). Returns
    /// (N, C, S, S), in [−1, 1] when clipping. <paramref name="model"/> defaults to <see cref="Model"/> (pass the EMA copy to
    /// sample from averaged weights).
    /// </summary>
    public Tensor Sample(int count, Tensor? labels = null, double guidance = 0, INoisePredictor? model = null, Generator? generator = null, bool clip = true)
    {
        model = Begin(count, labels, model);
        using var _ = Autograd.NoGrad();
        var x = Tensor.Randn([count, Model.Shape.Channels, Model.Shape.Size, Model.Shape.Size], generator: generator);
        var alphaBar = Schedule.AlphasCumprod; var betas = Schedule.Betas;
        for (int t = Schedule.Steps - 1; t >= 0; t--)
        {
            double alphaBarPrev = t > 0 ? alphaBar[t - 1] : 1.0;
            var x0 = PredictX0(x, Epsilon(model, x, t, labels, guidance), alphaBar[t], clip);
            x = x0 * (Math.Sqrt(alphaBarPrev) * betas[t] / (1 - alphaBar[t])) + x * (Math.Sqrt(1 - betas[t]) * (1 - alphaBarPrev) / (1 - alphaBar[t]));
            if (t > 0) x = x + Tensor.RandnLike(x, generator) * Math.Sqrt(betas[t] * (1 - alphaBarPrev) / (1 - alphaBar[t]));
        }
        return clip ? x.Clamp(-1, 1) : x;
    }

    /// <summary>
    /// The DDIM timesteps of <paramref name="steps"/> sampling steps, in the order they are visited, with "trailing"
    /// spacing (diffusers' <c>timestep_spacing="trailing"</c>; Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed"): t_i = round(T − i·T/S) − 1 for
    /// i = 0..S−1 (round half to even, as numpy). The first is always T − 1, so sampling starts from pure noise at the last
    /// timestep; steps = T gives T − 1, …, 0. (The "leading" spacing i·T/S, reversed, starts at T − T/S, where x is not
    /// yet pure noise, and ends at 0.)
    /// </summary>
    public int[] DdimTimesteps(int steps)
    {
        if (steps < 1 || steps > Schedule.Steps) throw new ArgumentOutOfRangeException(nameof(steps), $"DdimTimesteps: steps must be in [1, {Schedule.Steps}], got {steps}");
        double stride = -(double)Schedule.Steps / steps;
        return Enumerable.Range(0, steps).Select(i => (int)Math.Round(Schedule.Steps + i * stride, MidpointRounding.ToEven) - 1).ToArray();
    }

    /// <summary>
    /// DDIM sampling (Song et al. 2021) over the <paramref name="steps"/> timesteps of <see cref="DdimTimesteps"/>: from x_t,
    /// x̂₀ = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t; when <paramref name="clip"/>, x̂₀ is clipped to [−1, 1] and ε̂ recomputed from it,
    /// ε̂ = (x_t − √ᾱ_t·x̂₀)/√(1 − ᾱ_t) (diffusers' DDIMScheduler with clip_sample and use_clipped_model_output), so that
    /// x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ²)·ε̂ + σ·z, σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev)), is built from one
    /// consistent (x̂₀, ε̂) pair; the last step goes to ᾱ = 1. η = 0 is deterministic. <paramref name="guidance"/> is w of
    /// <see cref="Ddpm"/> (diffusers' guidance_scale − 1).
    /// </summary>
    public Tensor SampleDdim(int count, int steps = 50, double eta = 0, Tensor? labels = null, double guidance = 0, INoisePredictor? model = null,
        Generator? generator = null, bool clip = true)
    {
        var times = DdimTimesteps(steps);
        model = Begin(count, labels, model);
        using var _ = Autograd.NoGrad();
        var x = Tensor.Randn([count, Model.Shape.Channels, Model.Shape.Size, Model.Shape.Size], generator: generator);
        for (int i = 0; i < times.Length; i++)
            x = DdimUpdate(model, x, times[i], i + 1 < times.Length ? times[i + 1] : -1, labels, guidance, eta, generator, clip);
        return clip ? x.Clamp(-1, 1) : x;
    }

    /// <summary>
    /// One DDIM update (Song et al. 2021, eq. 12; see <see cref="SampleDdim"/>) of <paramref name="x"/> (N, C, S, S) from
    /// timestep <paramref name="t"/> to <paramref name="previous"/> (−1: to the clean image, ᾱ = 1), with ε̂ guided by
    /// <paramref name="guidance"/> when <paramref name="labels"/> are given; <see cref="SampleDdim"/> chains these. Runs under
    /// no-grad in eval mode.
    /// </summary>
    public Tensor DdimStep(Tensor x, int t, int previous, Tensor? labels = null, double guidance = 0, double eta = 0, INoisePredictor? model = null,
        Generator? generator = null, bool clip = true)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (t < 0 || t >= Schedule.Steps || previous < -1 || previous >= t)
            throw new ArgumentOutOfRangeException(nameof(previous), $"DdimStep: need 0 ≤ t < {Schedule.Steps} and −1 ≤ previous < t, got t = {t}, previous = {previous}");
        model = Begin(x.Shape[0], labels, model);
        using var _ = Autograd.NoGrad();
        return DdimUpdate(model, x, t, previous, labels, guidance, eta, generator, clip);
    }

    Tensor DdimUpdate(INoisePredictor model, Tensor x, int t, int previous, Tensor? labels, double guidance, double eta, Generator? generator, bool clip)
    {
        double alphaBar = Schedule.AlphasCumprod[t], alphaBarPrev = previous >= 0 ? Schedule.AlphasCumprod[previous] : 1.0;
        var eps = Epsilon(model, x, t, labels, guidance);
        var x0 = PredictX0(x, eps, alphaBar, clip);
        if (clip) eps = (x - x0 * Math.Sqrt(alphaBar)) / Math.Sqrt(1 - alphaBar);   // the ε̂ that the clipped x̂₀ implies
        double sigma = eta * Math.Sqrt((1 - alphaBarPrev) / (1 - alphaBar) * (1 - alphaBar / alphaBarPrev));
        x = x0 * Math.Sqrt(alphaBarPrev) + eps * Math.Sqrt(Math.Max(1 - alphaBarPrev - sigma * sigma, 0));
        return sigma > 0 ? x + Tensor.RandnLike(x, generator) * sigma : x;
    }

    /// <summary>x̂₀ = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, clipped to [−1, 1] when <paramref name="clip"/>.</summary>
    static Tensor PredictX0(Tensor x, Tensor eps, double alphaBar, bool clip)
    {
        var x0 = (x - eps * Math.Sqrt(1 - alphaBar)) / Math.Sqrt(alphaBar);
        return clip ? x0.Clamp(-1, 1) : x0;
    }

    INoisePredictor Begin(int count, Tensor? labels, INoisePredictor? model)
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
        if (model is Module module) module.Eval();
        return model;
    }
}
