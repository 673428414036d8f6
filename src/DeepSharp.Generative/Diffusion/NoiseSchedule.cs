namespace DeepSharp.Generative.Diffusion;

/// <summary>
/// A DDPM noise schedule: β₁..β_T and ᾱ_t = Π (1 − β_s), the forward process q(x_t | x₀) = N(√ᾱ_t·x₀, (1 − ᾱ_t)·I).
/// <see cref="Linear"/> is Ho et al. (2020)'s (β from 1e-4 to 0.02 over 1000 steps); <see cref="Cosine"/> is Nichol and
/// Dhariwal (2021)'s ᾱ_t = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2), with β clipped at 0.999. Index t runs 0..T−1.
/// </summary>
public sealed class NoiseSchedule
{
    NoiseSchedule(string kind, double[] betas)
    {
        Kind = kind; Betas = betas;
        AlphasCumprod = new double[betas.Length];
        double product = 1;
        for (int t = 0; t < betas.Length; t++) AlphasCumprod[t] = product *= 1 - betas[t];
    }

    /// <summary>"linear" or "cosine".</summary>
    public string Kind { get; }
    /// <summary>β_t, t = 0..T−1.</summary>
    public double[] Betas { get; }
    /// <summary>ᾱ_t = Π_{s ≤ t} (1 − β_s).</summary>
    public double[] AlphasCumprod { get; }
    /// <summary>T, the number of diffusion steps.</summary>
    public int Steps => Betas.Length;

    /// <summary>Linear β from <paramref name="betaStart"/> to <paramref name="betaEnd"/> (torch.linspace; Ho et al. 2020).</summary>
    public static NoiseSchedule Linear(int steps = 1000, double betaStart = 1e-4, double betaEnd = 0.02)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), $"NoiseSchedule: needs at least 2 steps, got {steps}");
        if (betaStart <= 0 || betaEnd >= 1 || betaStart > betaEnd)
            throw new ArgumentException($"NoiseSchedule.Linear: need 0 < betaStart ≤ betaEnd < 1, got {betaStart} and {betaEnd}");
        var betas = new double[steps];
        for (int t = 0; t < steps; t++) betas[t] = betaStart + (betaEnd - betaStart) * t / (steps - 1);
        return new NoiseSchedule("linear", betas);
    }

    /// <summary>The cosine schedule with offset <paramref name="s"/> (Nichol and Dhariwal 2021, improved DDPM).</summary>
    public static NoiseSchedule Cosine(int steps = 1000, double s = 0.008, double maxBeta = 0.999)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), $"NoiseSchedule: needs at least 2 steps, got {steps}");
        double F(int t) { double c = Math.Cos(((double)t / steps + s) / (1 + s) * Math.PI / 2); return c * c; }
        var betas = new double[steps];
        for (int t = 0; t < steps; t++) betas[t] = Math.Clamp(1 - F(t + 1) / F(t), 0, maxBeta);
        return new NoiseSchedule("cosine", betas);
    }

    /// <summary>By name: "linear" or "cosine".</summary>
    public static NoiseSchedule Create(string kind, int steps) => kind switch
    {
        "linear" => Linear(steps),
        "cosine" => Cosine(steps),
        _ => throw new ArgumentException($"NoiseSchedule: unknown schedule \"{kind}\" (linear, cosine)", nameof(kind)),
    };

    /// <summary>Values of <paramref name="table"/> at timesteps <paramref name="t"/> (N,) as (N, 1, 1, 1) of <paramref name="dtype"/>.</summary>
    internal static Tensor At(double[] table, Tensor t, DType dtype)
    {
        var values = t.ToArray<long>().Select(i => table[i]).ToArray();
        return Tensor.FromArray(values, DType.Float64).To(dtype).View(values.Length, 1, 1, 1);
    }
}
