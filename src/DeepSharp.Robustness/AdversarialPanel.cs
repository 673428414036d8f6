namespace DeepSharp.Robustness;

/// <summary>
/// Pictures of adversarial examples: a PNG with one column per example and three rows, the clean image, the adversarial
/// image, and the perturbation x' − x mapped to grey levels (mid-grey = unchanged, white = +ε, black = −ε), each pixel
/// enlarged for viewing.
/// </summary>
public static class AdversarialPanel
{
    /// <summary>
    /// Writes the panel of the first <paramref name="columns"/> examples of <paramref name="clean"/> and
    /// <paramref name="adversarial"/> (N, C, H, W) in [0, 1] to <paramref name="path"/> (.png; torchvision.utils.save_image
    /// of the three rows); the perturbation is shown at ±<paramref name="epsilon"/> full scale (for L2 attacks, give the
    /// largest per-pixel change you want to see). Returns the (C, H', W') image written.
    /// </summary>
    public static Tensor Save(string path, Tensor clean, Tensor adversarial, double epsilon, int columns = 8, int scale = 3)
    {
        ArgumentNullException.ThrowIfNull(path); ArgumentNullException.ThrowIfNull(clean); ArgumentNullException.ThrowIfNull(adversarial);
        if (clean.Rank != 4 || !clean.Shape.SequenceEqual(adversarial.Shape))
            throw new ArgumentException($"AdversarialPanel: clean and adversarial must be (N, C, H, W) of one shape, got {AttackChecks.Format(clean)} and {AttackChecks.Format(adversarial)}", nameof(adversarial));
        if (!(epsilon > 0)) throw new ArgumentException($"AdversarialPanel: epsilon must be positive, got {epsilon}", nameof(epsilon));
        if (columns < 1 || scale < 1) throw new ArgumentException($"AdversarialPanel: columns and scale must be at least 1, got {columns} and {scale}");
        int n = Math.Min(columns, clean.Shape[0]);
        var x = clean.Narrow(0, 0, n).To(DType.Float32);
        var adv = adversarial.Narrow(0, 0, n).To(DType.Float32);
        var perturbation = ((adv - x) * (0.5 / epsilon) + 0.5).Clamp(0, 1);
        var rows = Tensor.Cat([Enlarge(x, scale), Enlarge(adv, scale), Enlarge(perturbation, scale)], 0);
        var grid = Vision.Utils.MakeGrid(rows, nrow: n, padding: 2, padValue: 1f);
        Vision.Imaging.Image.FromTensor(grid).Save(path);
        return grid;
    }

    /// <summary>Nearest-neighbour enlargement by an integer factor: (N, C, H, W) → (N, C, H·s, W·s).</summary>
    static Tensor Enlarge(Tensor images, int scale)
    {
        if (scale == 1) return images;
        int n = images.Shape[0], c = images.Shape[1], h = images.Shape[2], w = images.Shape[3];
        return images.Reshape(n, c, h, 1, w, 1).Expand(n, c, h, scale, w, scale).Contiguous().Reshape(n, c, h * scale, w * scale);
    }
}
