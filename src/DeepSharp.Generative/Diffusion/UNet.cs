using DeepSharp.NN;

namespace DeepSharp.Generative.Diffusion;

/// <summary>
/// A small DDPM U-Net (Ho et al. 2020, scaled down for 28/32-pixel images): a 3×3 input conv to c channels, two levels
/// (c at S×S, 2c at S/2) of a <see cref="ResidualBlock"/> whose output is kept for a skip connection, stride-2 conv
/// downsampling to S/4, a middle of residual block, <see cref="SpatialSelfAttention"/> (at the lowest resolution) and
/// residual block, then nearest upsampling + 3×3 conv back up, each level concatenating its skip before a residual
/// block, and GroupNorm, SiLU, 3×3 conv to the predicted noise ε. The timestep enters through a sinusoidal embedding and
/// a two-layer MLP (SiLU); a class label, when <c>numClasses</c> &gt; 0, through a learned embedding added to it, with
/// label <c>numClasses</c> the "no class" token of classifier-free guidance.
/// </summary>
public sealed class UNet : Module<Tensor, Tensor, Tensor>, INoisePredictor
{
    readonly Linear time1, time2;
    readonly Embedding? classEmbedding;
    readonly Conv2d input;
    readonly ResidualBlock down0, down1;
    readonly Conv2d downsample0, downsample1;
    readonly ResidualBlock middle0;
    readonly SpatialSelfAttention attention;
    readonly ResidualBlock middle1;
    readonly Conv2d upsample1, upsample0;
    readonly ResidualBlock up1, up0;
    readonly GroupNorm outNorm;
    readonly Conv2d outConv;
    readonly int channels;

    /// <summary>Builds the U-Net for <paramref name="shape"/> images with base width <paramref name="channels"/> (a multiple of <paramref name="groups"/>).</summary>
    public UNet(ImageShape shape, int channels = 32, int numClasses = 0, int groups = 8)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate(nameof(UNet));
        if (channels < 4 || channels % groups != 0 || numClasses < 0)
            throw new ArgumentException($"UNet: channels must be ≥ 4 and a multiple of groups ({groups}), classes ≥ 0; got {channels} channels, {numClasses} classes");
        Shape = shape; NumClasses = numClasses; this.channels = channels;
        int c = channels, timeDim = 4 * c;
        time1 = new Linear(c, timeDim); time2 = new Linear(timeDim, timeDim);
        if (numClasses > 0) classEmbedding = new Embedding(numClasses + 1, timeDim);
        input = new Conv2d(shape.Channels, c, 3, padding: 1);
        down0 = new ResidualBlock(c, c, timeDim, groups);                                   // S
        downsample0 = new Conv2d(c, c, 3, stride: 2, padding: 1);                           // S/2
        down1 = new ResidualBlock(c, 2 * c, timeDim, groups);
        downsample1 = new Conv2d(2 * c, 2 * c, 3, stride: 2, padding: 1);                   // S/4
        middle0 = new ResidualBlock(2 * c, 2 * c, timeDim, groups);
        attention = new SpatialSelfAttention(2 * c, groups);
        middle1 = new ResidualBlock(2 * c, 2 * c, timeDim, groups);
        upsample1 = new Conv2d(2 * c, 2 * c, 3, padding: 1);                                // after ×2: S/2
        up1 = new ResidualBlock(4 * c, 2 * c, timeDim, groups);                             // cat skip of down1
        upsample0 = new Conv2d(2 * c, 2 * c, 3, padding: 1);                                // after ×2: S
        up0 = new ResidualBlock(3 * c, c, timeDim, groups);                                 // cat skip of down0
        outNorm = new GroupNorm(Math.Min(groups, c), c);
        outConv = new Conv2d(c, shape.Channels, 3, padding: 1);
    }

    /// <summary>The images it denoises.</summary>
    public ImageShape Shape { get; }
    /// <summary>Classes it is conditioned on (0: unconditional); label NumClasses is "no class".</summary>
    public int NumClasses { get; }

    /// <summary>Unconditional noise prediction: x_t (N, C, S, S) and t (N,) int64 → ε̂ (N, C, S, S).</summary>
    public override Tensor Forward(Tensor x, Tensor t) => Predict(x, t, null);

    /// <summary>Noise prediction conditioned on <paramref name="labels"/> (N,) int64 in [0, NumClasses] (NumClasses = none), or unconditional when null.</summary>
    public Tensor Predict(Tensor x, Tensor t, Tensor? labels)
    {
        Shape.Check(x, nameof(UNet));
        ArgumentNullException.ThrowIfNull(t);
        if (t.Rank != 1 || t.Shape[0] != x.Shape[0]) throw new ArgumentException($"UNet: timesteps must be ({x.Shape[0]},), got ({string.Join(", ", t.Shape)})", nameof(t));
        var time = time2.Call(time1.Call(TimestepEmbedding.Sinusoidal(t, channels)).Silu());  // (N, 4c)
        if (classEmbedding != null)
        {
            labels ??= Tensor.Full([x.Shape[0]], NumClasses, DType.Int64);
            time = time + classEmbedding.Call(labels);
        }
        else if (labels != null) throw new ArgumentException("UNet: labels given to an unconditional U-Net (numClasses = 0)", nameof(labels));

        var h0 = down0.Call(input.Call(x), time);                                            // (N, c, S, S)
        var h1 = down1.Call(downsample0.Call(h0), time);                                     // (N, 2c, S/2, S/2)
        var h = middle1.Call(attention.Call(middle0.Call(downsample1.Call(h1), time)), time); // (N, 2c, S/4, S/4)
        h = upsample1.Call(F.Interpolate(h, scaleFactor: 2.0));
        h = up1.Call(Tensor.Cat([h, h1], 1), time);                                          // (N, 2c, S/2, S/2)
        h = upsample0.Call(F.Interpolate(h, scaleFactor: 2.0));
        h = up0.Call(Tensor.Cat([h, h0], 1), time);                                          // (N, c, S, S)
        return outConv.Call(outNorm.Call(h).Silu());
    }
}
