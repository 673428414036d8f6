using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Generative.Metrics;

/// <summary>
/// FID (Fréchet Inception Distance, Heusel et al. 2017) on the features of a classifier trained with DeepSharp instead of
/// Inception-v3: images go through the classifier in eval mode and the output of one layer (for the
/// <see cref="FashionCnn"/>, "classifier.2": the ReLU after Linear(3136, 256), its 256-wide penultimate layer) is taken
/// by a forward hook; FID is the <see cref="FrechetDistance"/> between the Gaussians of real and generated features.
/// Scores are only comparable under the same classifier weights, so <see cref="Describe"/> names them.
/// </summary>
public sealed class FidScorer
{
    readonly Module<Tensor, Tensor> classifier;
    readonly Module layer;

    /// <summary>Scores with <paramref name="classifier"/>'s layer <paramref name="layerName"/> (a name of NamedModules()).</summary>
    public FidScorer(Module<Tensor, Tensor> classifier, string layerName = "classifier.2", string checkpoint = "(in memory)")
    {
        ArgumentNullException.ThrowIfNull(classifier); ArgumentException.ThrowIfNullOrEmpty(layerName);
        this.classifier = classifier;
        layer = classifier.NamedModules().FirstOrDefault(m => m.Name == layerName).Module
            ?? throw new ArgumentException($"FidScorer: the classifier has no layer \"{layerName}\"; its layers: {string.Join(", ", classifier.NamedModules().Select(m => m.Name).Where(n => n.Length > 0))}", nameof(layerName));
        LayerName = layerName; Checkpoint = checkpoint;
    }

    /// <summary>The layer whose output is the feature vector.</summary>
    public string LayerName { get; }
    /// <summary>Where the classifier's weights came from (printed with every score).</summary>
    public string Checkpoint { get; }

    /// <summary>"FashionCnn classifier.2 (256 features) from PATH": what an FID number was computed with.</summary>
    public string Describe(int? width = null) => $"{classifier.GetType().Name} {LayerName}{(width is int w ? $" ({w} features)" : "")} from {Checkpoint}";

    /// <summary>Features (N, D) of <paramref name="images"/> (N, C, H, W) in [0, 1], in batches, eval mode, no gradients.</summary>
    public Tensor Features(Tensor images, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank != 4) throw new ArgumentException($"FidScorer: images must be (N, C, H, W), got ({string.Join(", ", images.Shape)})", nameof(images));
        var (features, _) = Run(images, batchSize);
        return features;
    }

    /// <summary>Predicted classes (N,) of <paramref name="images"/>: for the class accuracy of conditional samples.</summary>
    public Tensor Predict(Tensor images, int batchSize = 500) => Run(images, batchSize).Logits.ArgMax(1);

    /// <summary>The fraction of <paramref name="images"/> the classifier puts in the class <paramref name="labels"/> asked for.</summary>
    public double ClassAccuracy(Tensor images, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var predicted = Predict(images);
        if (labels.NumEl != predicted.NumEl) throw new ArgumentException($"FidScorer.ClassAccuracy: {images.Shape[0]} images but {labels.NumEl} labels", nameof(labels));
        return predicted.Eq(labels.To(DType.Int64)).To(DType.Float64).Mean().Item();
    }

    /// <summary>Statistics of the features of <paramref name="images"/>.</summary>
    public FeatureStatistics Statistics(Tensor images) => FeatureStatistics.FromFeatures(Features(images));

    /// <summary>FID between two image sets (or precomputed <paramref name="reference"/> statistics and images).</summary>
    public double Score(FeatureStatistics reference, Tensor images) => FrechetDistance.Compute(reference, Statistics(images));

    /// <summary>FID between two image sets.</summary>
    public double Score(Tensor real, Tensor generated) => FrechetDistance.Compute(Statistics(real), Statistics(generated));

    (Tensor Features, Tensor Logits) Run(Tensor images, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"FidScorer: batch size must be positive, got {batchSize}");
        bool wasTraining = classifier.IsTraining;
        classifier.Eval();
        var features = new List<Tensor>(); var logits = new List<Tensor>();
        Tensor? captured = null;
        using var hook = layer.RegisterForwardHook((Module _, IReadOnlyList<object?> _, object? output) => { captured = (Tensor)output!; });
        using (Autograd.NoGrad())
            for (int start = 0; start < images.Shape[0]; start += batchSize)
            {
                var batch = images.Narrow(0, start, Math.Min(batchSize, images.Shape[0] - start));
                logits.Add(classifier.Call(batch));
                features.Add(captured!.Flatten(1).Clone());
            }
        classifier.Train(wasTraining);
        return (Tensor.Cat(features, 0), Tensor.Cat(logits, 0));
    }
}
