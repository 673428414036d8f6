using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>
/// The model-randomisation test of "Sanity checks for saliency maps" (Adebayo et al. 2018): an attribution that
/// explains the model must change when the model's weights are replaced by random ones. Compare the maps before and
/// after with <see cref="RankCorrelation"/> (Spearman's ρ of the absolute values, as the paper does).
/// </summary>
public static class SanityChecks
{
    /// <summary>
    /// Replaces every parameter of the layer called <paramref name="layerName"/> (and its sub-layers) by Gaussian noise of
    /// the same standard deviation as its current values (1e-2 where they are constant), in place, so the scale of the
    /// activations stays but what the layer learnt is gone (the paper's re-initialisation). Use "" for the whole model.
    /// </summary>
    public static void RandomizeLayer(Module model, string layerName, Generator? generator = null)
    {
        var layer = layerName.Length == 0 ? model : Layers.Find(model, layerName);
        using var _ = Autograd.NoGrad();
        foreach (var p in layer.Parameters())
        {
            double std = p.NumEl > 1 ? p.To(DType.Float64).Std().Item<double>() : 0;
            if (!(std > 0)) std = 1e-2;
            p.CopyFrom(Tensor.Randn([.. p.Shape], p.DType, generator: generator) * std);
        }
    }

    /// <summary>
    /// Cascading randomisation: randomises <paramref name="layerNamesFromTop"/> one after another, from the output towards the
    /// input, and returns after each step the rank correlation of <paramref name="attribute"/>'s map with the map of the
    /// intact model (the paper's Figure 2 curve). The model is changed in place; reload its weights afterwards.
    /// </summary>
    public static IReadOnlyList<(string Layer, double Correlation)> CascadingRandomization(Module model, IReadOnlyList<string> layerNamesFromTop,
        Func<Tensor> attribute, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        var original = attribute();
        var result = new List<(string, double)>();
        foreach (var name in layerNamesFromTop)
        {
            RandomizeLayer(model, name, generator);
            result.Add((name, RankCorrelation(original.Abs(), attribute().Abs())));
        }
        return result;
    }

    /// <summary>Spearman's rank correlation of two tensors of the same number of elements (ties share their mean rank; scipy.stats.spearmanr).</summary>
    public static double RankCorrelation(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.NumEl != b.NumEl || a.NumEl < 2)
            throw new ArgumentException($"RankCorrelation: needs two tensors of the same size (≥ 2 elements), got ({string.Join(", ", a.Shape)}) and ({string.Join(", ", b.Shape)})", nameof(b));
        var ra = Ranks(a.Detach().To(DType.Float64).Contiguous().ToArray<double>());
        var rb = Ranks(b.Detach().To(DType.Float64).Contiguous().ToArray<double>());
        double ma = ra.Average(), mb = rb.Average(), cov = 0, va = 0, vb = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            cov += (ra[i] - ma) * (rb[i] - mb);
            va += (ra[i] - ma) * (ra[i] - ma);
            vb += (rb[i] - mb) * (rb[i] - mb);
        }
        return va == 0 || vb == 0 ? 0 : cov / Math.Sqrt(va * vb);
    }

    static double[] Ranks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }
}
