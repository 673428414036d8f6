namespace DeepSharp.Generative.Diffusion;

/// <summary>
/// What <see cref="Ddpm"/>'s samplers call: ε̂(x_t, t, labels), the noise predicted in x_t (N, C, S, S) at timesteps t (N,)
/// int64, conditioned on labels (N,) in [0, NumClasses] (label NumClasses = "no class") or unconditional when null.
/// <see cref="UNet"/> is the trained one; a closed-form predictor (the optimal ε̂ of a Gaussian data distribution) lets the
/// samplers be tested exactly. (diffusers: the <c>unet</c> argument of a pipeline.)
/// </summary>
public interface INoisePredictor
{
    /// <summary>Classes it is conditioned on (0: unconditional).</summary>
    int NumClasses { get; }

    /// <summary>ε̂ (N, C, S, S) for x_t (N, C, S, S), timesteps (N,) int64 and optional labels (N,) int64.</summary>
    Tensor Predict(Tensor x, Tensor t, Tensor? labels);
}
