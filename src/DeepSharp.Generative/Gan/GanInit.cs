using DeepSharp.NN;

namespace DeepSharp.Generative.Gan;

/// <summary>Initialisation and shape plans shared by the GAN networks.</summary>
public static class GanInit
{
    /// <summary>
    /// The DCGAN initialisation (PyTorch's DCGAN example, weights_init): every convolution and transposed convolution
    /// weight ~ N(0, 0.02), every batch-norm weight ~ N(1, 0.02) and bias 0. Other layers keep PyTorch's defaults.
    /// </summary>
    public static void Dcgan(Module model, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var _ = Autograd.NoGrad();
        foreach (var module in model.Modules())
            switch (module)
            {
                case ConvBase conv:
                    Init.Normal(conv.Weight, 0, 0.02, generator);
                    if (conv.Bias != null) Init.Zeros(conv.Bias);
                    break;
                case BatchNormBase { Weight: not null } norm:
                    Init.Normal(norm.Weight, 1, 0.02, generator);
                    Init.Zeros(norm.Bias!);
                    break;
            }
    }

    /// <summary>The side after the first transposed convolution and how many times it doubles: 28 → (7, 2), 32 → (4, 3), 64 → (4, 4).</summary>
    internal static (int Start, int Doublings) Plan(int size)
    {
        int start = size, doublings = 0;
        while (start % 2 == 0 && start > 4) { start /= 2; doublings++; }
        if (doublings < 2) throw new ArgumentException($"GAN: the image side must halve at least twice down to 4–7 pixels (28, 32, 64), got {size}", nameof(size));
        return (start, doublings);
    }

    internal static void CheckLabels(Tensor? labels, int batch, int numClasses, string owner)
    {
        if (labels == null) throw new ArgumentException($"{owner}: conditioned on {numClasses} classes, so labels are required", nameof(labels));
        if (labels.Rank != 1 || labels.Shape[0] != batch)
            throw new ArgumentException($"{owner}: labels must be ({batch},), got ({string.Join(", ", labels.Shape)})", nameof(labels));
        if (labels.DType != DType.Int64) throw new ArgumentException($"{owner}: labels must be int64, got {labels.DType}", nameof(labels));
        if (labels.NumEl > 0)
        {
            long min = labels.Min().Item<long>(), max = labels.Max().Item<long>();
            if (min < 0 || max >= numClasses) throw new ArgumentException($"{owner}: labels must be in [0, {numClasses}), got {min}..{max}", nameof(labels));
        }
    }
}
