using DeepSharp.NN;

namespace DeepSharp.Generative.Autoencoders;

/// <summary>
/// Anomaly detection with an autoencoder trained on normal data only: an image's anomaly score is its reconstruction
/// error (mean squared error over its pixels); the held-out class should score higher, and the ROC-AUC of the scores
/// (normal = 0, anomaly = 1) says how well the error separates them.
/// </summary>
public static class AnomalyDetection
{
    /// <summary>Per-image mean squared reconstruction error (N,) of <paramref name="images"/> (N, C, H, W), in batches, without gradients, in eval mode.</summary>
    public static double[] ReconstructionScores(Module<Tensor, Tensor> autoencoder, Tensor images, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(autoencoder); ArgumentNullException.ThrowIfNull(images);
        if (images.Rank < 2) throw new ArgumentException($"ReconstructionScores: images must be (N, ...), got ({string.Join(", ", images.Shape)})", nameof(images));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"ReconstructionScores: batch size must be positive, got {batchSize}");
        bool wasTraining = autoencoder.IsTraining;
        autoencoder.Eval();
        var scores = new List<double>(images.Shape[0]);
        using (Autograd.NoGrad())
            for (int start = 0; start < images.Shape[0]; start += batchSize)
            {
                var batch = images.Narrow(0, start, Math.Min(batchSize, images.Shape[0] - start));
                var error = (autoencoder.Call(batch) - batch).Square().Flatten(1).Mean(1);
                scores.AddRange(error.To(DType.Float64).ToArray<double>());
            }
        autoencoder.Train(wasTraining);
        return scores.ToArray();
    }

    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> for binary <paramref name="labels"/> (true = positive), the
    /// Mann–Whitney statistic with tied scores counted as half (sklearn.metrics.roc_auc_score). 1 = every positive scores
    /// above every negative, 0.5 = chance.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(scores); ArgumentNullException.ThrowIfNull(labels);
        if (scores.Count != labels.Count) throw new ArgumentException($"RocAuc: {scores.Count} scores but {labels.Count} labels", nameof(labels));
        int positives = labels.Count(l => l), negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) throw new ArgumentException($"RocAuc: needs both classes, got {positives} positive and {negatives} negative labels", nameof(labels));
        if (scores.Any(double.IsNaN)) throw new ArgumentException("RocAuc: a score is NaN", nameof(scores));
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double positiveRankSum = 0;
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            double averageRank = (i + j) / 2.0 + 1;            // 1-based ranks, ties share their average
            for (int k = i; k <= j; k++) if (labels[order[k]]) positiveRankSum += averageRank;
            i = j + 1;
        }
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }
}
