namespace DeepSharp.Training.Metrics;

/// <summary>
/// A streaming metric (torchmetrics.Metric / keras.metrics.Metric): <see cref="Update"/> per batch, <see cref="Compute"/>
/// at the end of an epoch, <see cref="Reset"/> between epochs.
/// </summary>
public interface IMetric
{
    /// <summary>Short name used in logs and the progress display, e.g. "acc".</summary>
    string Name { get; }
    /// <summary>Forgets everything seen so far.</summary>
    void Reset();
    /// <summary>Accumulates one batch of model outputs and targets.</summary>
    void Update(Tensor output, Tensor target);
    /// <summary>The metric over everything seen since the last reset.</summary>
    double Compute();
}

internal static class MetricInput
{
    /// <summary>Predicted class per row: argmax of (N, C) scores, or threshold 0.5 of probabilities (N) / logits when asked.</summary>
    public static long[] PredictedClasses(Tensor output, string metric)
    {
        var o = output.Detach();
        if (o.Rank == 2 && o.Shape[1] > 1)
        {
            var scores = o.To(DType.Float64).Contiguous();
            var s = scores.AsReadOnlySpan<double>();
            int n = o.Shape[0], c = o.Shape[1];
            var result = new long[n];
            for (int i = 0; i < n; i++)
            {
                var row = s.Slice(i * c, c);
                int best = 0;
                for (int j = 1; j < c; j++) if (row[j] > row[best]) best = j;
                result[i] = best;
            }
            return result;
        }
        if (o.Rank == 1 || (o.Rank == 2 && o.Shape[1] == 1))
        {
            var p = o.To(DType.Float64).Contiguous().AsReadOnlySpan<double>();
            var result = new long[p.Length];
            for (int i = 0; i < p.Length; i++) result[i] = o.IsFloatingPoint ? (p[i] >= 0.5 ? 1 : 0) : (long)p[i];
            return result;
        }
        throw new ArgumentException($"{metric}: expects scores (N, C), probabilities (N) or class indices (N); got shape ({string.Join(", ", output.Shape)})");
    }

    public static long[] Targets(Tensor target, int n, string metric)
    {
        var t = target.Detach();
        if (t.NumEl != n) throw new ArgumentException($"{metric}: {t.NumEl} targets for {n} predictions (target shape ({string.Join(", ", target.Shape)}))");
        return t.To(DType.Int64).Contiguous().ToArray<long>();
    }
}

/// <summary>Fraction of correct top-1 predictions (torchmetrics.Accuracy, keras "accuracy").</summary>
public sealed class Accuracy : IMetric
{
    long correct, total;
    /// <inheritdoc/>
    public string Name => "acc";
    /// <inheritdoc/>
    public void Reset() { correct = 0; total = 0; }
    /// <inheritdoc/>
    public void Update(Tensor output, Tensor target)
    {
        var pred = MetricInput.PredictedClasses(output, "Accuracy");
        var t = MetricInput.Targets(target, pred.Length, "Accuracy");
        for (int i = 0; i < pred.Length; i++) if (pred[i] == t[i]) correct++;
        total += pred.Length;
    }
    /// <inheritdoc/>
    public double Compute() => total == 0 ? 0 : (double)correct / total;
}

/// <summary>Fraction of examples whose target is among the k highest scores (torchmetrics.Accuracy(top_k=k)).</summary>
public sealed class TopKAccuracy(int k) : IMetric
{
    long correct, total;
    /// <inheritdoc/>
    public string Name => $"top{k}";
    /// <inheritdoc/>
    public void Reset() { correct = 0; total = 0; }
    /// <inheritdoc/>
    public void Update(Tensor output, Tensor target)
    {
        if (output.Rank != 2) throw new ArgumentException($"TopKAccuracy: expects scores (N, C), got shape ({string.Join(", ", output.Shape)})");
        int n = output.Shape[0], c = output.Shape[1];
        if (k < 1 || k > c) throw new ArgumentException($"TopKAccuracy: k = {k} must be in [1, {c}]");
        var s = output.Detach().To(DType.Float64).Contiguous().AsReadOnlySpan<double>();
        var t = MetricInput.Targets(target, n, "TopKAccuracy");
        for (int i = 0; i < n; i++)
        {
            var row = s.Slice(i * c, c);
            double targetScore = row[(int)t[i]];
            int better = 0;
            for (int j = 0; j < c; j++) if (row[j] > targetScore || (row[j] == targetScore && j < t[i])) better++;
            if (better < k) correct++;
        }
        total += n;
    }
    /// <inheritdoc/>
    public double Compute() => total == 0 ? 0 : (double)correct / total;
}

/// <summary>
/// Confusion matrix over <c>numClasses</c> classes, rows = true class, columns = predicted class
/// (torchmetrics.ConfusionMatrix / sklearn.metrics.confusion_matrix); also per-class precision, recall and F1.
/// </summary>
public sealed class ConfusionMatrix(int numClasses) : IMetric
{
    readonly long[,] counts = new long[numClasses, numClasses];
    /// <summary>Number of classes.</summary>
    public int NumClasses => numClasses;
    /// <inheritdoc/>
    public string Name => "macro_f1";
    /// <inheritdoc/>
    public void Reset() => System.Array.Clear(counts);
    /// <inheritdoc/>
    public void Update(Tensor output, Tensor target)
    {
        var pred = MetricInput.PredictedClasses(output, "ConfusionMatrix");
        var t = MetricInput.Targets(target, pred.Length, "ConfusionMatrix");
        for (int i = 0; i < pred.Length; i++)
        {
            if (t[i] < 0 || t[i] >= numClasses || pred[i] < 0 || pred[i] >= numClasses)
                throw new ArgumentException($"ConfusionMatrix: class {Math.Max(t[i], pred[i])} is out of range for {numClasses} classes");
            counts[t[i], pred[i]]++;
        }
    }
    /// <summary>A copy of the counts: [true class, predicted class].</summary>
    public long[,] Counts => (long[,])counts.Clone();
    /// <summary>Precision of one class: TP / (TP + FP); 0 when nothing was predicted as it.</summary>
    public double Precision(int cls) { long tp = counts[cls, cls], col = 0; for (int i = 0; i < numClasses; i++) col += counts[i, cls]; return col == 0 ? 0 : (double)tp / col; }
    /// <summary>Recall of one class: TP / (TP + FN); 0 when the class never occurred.</summary>
    public double Recall(int cls) { long tp = counts[cls, cls], row = 0; for (int j = 0; j < numClasses; j++) row += counts[cls, j]; return row == 0 ? 0 : (double)tp / row; }
    /// <summary>F1 of one class: harmonic mean of precision and recall.</summary>
    public double F1(int cls) { double p = Precision(cls), r = Recall(cls); return p + r == 0 ? 0 : 2 * p * r / (p + r); }
    /// <summary>Unweighted mean of the per-class F1 scores (average="macro").</summary>
    public double Compute() { double s = 0; for (int c = 0; c < numClasses; c++) s += F1(c); return s / numClasses; }
    /// <summary>A plain-text table of the matrix and per-class precision/recall/F1, with optional class names.</summary>
    public string Report(IReadOnlyList<string>? classNames = null)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"class",-14}{"precision",10}{"recall",10}{"f1",10}");
        for (int c = 0; c < numClasses; c++)
            sb.AppendLine($"{(classNames?[c] ?? c.ToString()),-14}{Precision(c),10:F4}{Recall(c),10:F4}{F1(c),10:F4}");
        sb.AppendLine($"{"macro avg",-14}{Enumerable.Range(0, numClasses).Average(Precision),10:F4}{Enumerable.Range(0, numClasses).Average(Recall),10:F4}{Compute(),10:F4}");
        return sb.ToString();
    }
}

/// <summary>Base for regression metrics over flattened outputs and targets of the same size.</summary>
public abstract class RegressionMetric : IMetric
{
    /// <summary>Count, Σe, Σ|e|, Σe², Σy, Σy² accumulated so far (e = output - target).</summary>
    protected long N; protected double SumAbs, SumSq, SumY, SumY2;
    /// <inheritdoc/>
    public abstract string Name { get; }
    /// <inheritdoc/>
    public void Reset() { N = 0; SumAbs = SumSq = SumY = SumY2 = 0; }
    /// <inheritdoc/>
    public void Update(Tensor output, Tensor target)
    {
        if (output.NumEl != target.NumEl)
            throw new ArgumentException($"{GetType().Name}: output of shape ({string.Join(", ", output.Shape)}) and target of shape ({string.Join(", ", target.Shape)}) differ in size");
        var o = output.Detach().To(DType.Float64).Contiguous().AsReadOnlySpan<double>();
        var t = target.Detach().To(DType.Float64).Contiguous().AsReadOnlySpan<double>();
        for (int i = 0; i < o.Length; i++)
        {
            double e = o[i] - t[i];
            SumAbs += Math.Abs(e); SumSq += e * e; SumY += t[i]; SumY2 += t[i] * t[i];
        }
        N += o.Length;
    }
    /// <inheritdoc/>
    public abstract double Compute();
}

/// <summary>Mean absolute error (torchmetrics.MeanAbsoluteError).</summary>
public sealed class MeanAbsoluteError : RegressionMetric
{
    /// <inheritdoc/>
    public override string Name => "mae";
    /// <inheritdoc/>
    public override double Compute() => N == 0 ? 0 : SumAbs / N;
}

/// <summary>Root of the mean squared error (torchmetrics.MeanSquaredError(squared=False)).</summary>
public sealed class RootMeanSquaredError : RegressionMetric
{
    /// <inheritdoc/>
    public override string Name => "rmse";
    /// <inheritdoc/>
    public override double Compute() => N == 0 ? 0 : Math.Sqrt(SumSq / N);
}

/// <summary>Coefficient of determination 1 - SS_res / SS_tot (torchmetrics.R2Score).</summary>
public sealed class R2Score : RegressionMetric
{
    /// <inheritdoc/>
    public override string Name => "r2";
    /// <inheritdoc/>
    public override double Compute()
    {
        if (N < 2) return 0;
        double ssTot = SumY2 - SumY * SumY / N;
        return ssTot == 0 ? 0 : 1 - SumSq / ssTot;
    }
}

/// <summary>Running mean of a scalar such as the loss, weighted by batch size.</summary>
public sealed class MeanValue(string name = "loss")
{
    double sum; long count;
    /// <summary>Name shown in logs.</summary>
    public string Name => name;
    /// <summary>Adds a value observed over <paramref name="weight"/> examples.</summary>
    public void Add(double value, long weight = 1) { sum += value * weight; count += weight; }
    /// <summary>Forgets all values.</summary>
    public void Reset() { sum = 0; count = 0; }
    /// <summary>The weighted mean so far.</summary>
    public double Compute() => count == 0 ? double.NaN : sum / count;
    /// <summary>The weighted sum and total weight, for a checkpoint of an unfinished epoch.</summary>
    internal (double Sum, long Count) State { get => (sum, count); set => (sum, count) = value; }
}
