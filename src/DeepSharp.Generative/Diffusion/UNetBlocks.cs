using DeepSharp.NN;

namespace DeepSharp.Generative.Diffusion;

/// <summary>
/// The sinusoidal timestep embedding of DDPM (Ho et al. 2020, after the Transformer's positions): for t (N,) and width d,
/// [sin(t·ωᵢ), cos(t·ωᵢ)] with ωᵢ = 10000^(−i/(d/2 − 1)), i = 0..d/2−1 (the diffusers/DDPM layout, flip_sin_to_cos false). (N, d).
/// </summary>
public static class TimestepEmbedding
{
    /// <summary>Embeds timesteps <paramref name="t"/> (N,) into (N, <paramref name="dim"/>) float32.</summary>
    public static Tensor Sinusoidal(Tensor t, int dim)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (dim < 4 || dim % 2 != 0) throw new ArgumentException($"TimestepEmbedding: the width must be even and ≥ 4, got {dim}", nameof(dim));
        int half = dim / 2;
        var frequencies = (Tensor.Arange(half, DType.Float32) * (-Math.Log(10000) / (half - 1))).Exp();   // (d/2,)
        var angles = t.To(DType.Float32).View(-1, 1) * frequencies.View(1, half);                         // (N, d/2)
        return Tensor.Cat([angles.Sin(), angles.Cos()], 1);
    }
}

/// <summary>
/// A U-Net residual block (DDPM's ResnetBlock): GroupNorm, SiLU, 3×3 conv, plus a projection of the time embedding,
/// GroupNorm, SiLU, 3×3 conv, and a 1×1 conv on the shortcut when the width changes.
/// </summary>
public sealed class ResidualBlock : Module<Tensor, Tensor, Tensor>
{
    readonly GroupNorm norm1;
    readonly Conv2d conv1;
    readonly Linear timeProjection;
    readonly GroupNorm norm2;
    readonly Conv2d conv2;
    readonly Conv2d? shortcut;

    /// <summary>A block from <paramref name="inChannels"/> to <paramref name="outChannels"/> taking a <paramref name="timeDim"/>-wide embedding.</summary>
    public ResidualBlock(int inChannels, int outChannels, int timeDim, int groups)
    {
        norm1 = new GroupNorm(Math.Min(groups, inChannels), inChannels);
        conv1 = new Conv2d(inChannels, outChannels, 3, padding: 1);
        timeProjection = new Linear(timeDim, outChannels);
        norm2 = new GroupNorm(Math.Min(groups, outChannels), outChannels);
        conv2 = new Conv2d(outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) shortcut = new Conv2d(inChannels, outChannels, 1);
    }

    /// <summary>x (N, in, H, W) and the time embedding (N, timeDim) → (N, out, H, W).</summary>
    public override Tensor Forward(Tensor x, Tensor timeEmbedding)
    {
        var h = conv1.Call(norm1.Call(x).Silu());
        var time = timeProjection.Call(timeEmbedding.Silu());                 // (N, out)
        h = h + time.View(time.Shape[0], time.Shape[1], 1, 1);
        h = conv2.Call(norm2.Call(h).Silu());
        return h + (shortcut?.Call(x) ?? x);
    }
}

/// <summary>Single-head self-attention over the H·W positions with a residual (DDPM's AttnBlock): GroupNorm, 1×1 q/k/v, softmax(qkᵀ/√C)v, 1×1 out.</summary>
public sealed class SpatialSelfAttention : Module<Tensor, Tensor>
{
    readonly GroupNorm norm;
    readonly Conv2d qkv;
    readonly Conv2d output;

    /// <summary>Attention over <paramref name="channels"/>-wide positions.</summary>
    public SpatialSelfAttention(int channels, int groups)
    {
        norm = new GroupNorm(Math.Min(groups, channels), channels);
        qkv = new Conv2d(channels, 3 * channels, 1);
        output = new Conv2d(channels, channels, 1);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var projected = qkv.Call(norm.Call(x)).View(n, 3, c, h * w).Permute(1, 0, 3, 2);   // (3, N, HW, C)
        var attended = F.ScaledDotProductAttention(projected.Select(0, 0).Unsqueeze(1), projected.Select(0, 1).Unsqueeze(1), projected.Select(0, 2).Unsqueeze(1)); // (N, 1, HW, C)
        var back = attended.Squeeze(1).Transpose(1, 2).Reshape(n, c, h, w);
        return x + output.Call(back);
    }
}
