using DeepSharp.Data;
using DeepSharp.NN;

namespace DeepSharp.Dashboard;

/// <summary>
/// Held-out images a classifier is run on after each epoch, for the dashboard: the confusion matrix over all of them and
/// the first <see cref="SampleCount"/> with their predicted class and its probability (torchmetrics' ConfusionMatrix and
/// TensorBoard's image-with-prediction plots). The model runs in eval mode without gradients and is put back as it was.
/// </summary>
public sealed class ClassifierProbe
{
    readonly Module<Tensor, Tensor> model;
    readonly Tensor images, labels;   // (N, C, H, W) float, (N) int64

    /// <summary>Probes <paramref name="model"/> on <paramref name="images"/> (N, C, H, W) with their <paramref name="labels"/> (N).</summary>
    public ClassifierProbe(Module<Tensor, Tensor> model, Tensor images, Tensor labels, IReadOnlyList<string> classes, int sampleCount = 16, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(images); ArgumentNullException.ThrowIfNull(labels); ArgumentNullException.ThrowIfNull(classes);
        if (images.Dim != 4 || labels.Dim != 1 || images.Shape[0] != labels.Shape[0] || images.Shape[0] == 0)
            throw new ArgumentException($"ClassifierProbe: images must be (N, C, H, W) and labels (N) with N > 0, got ({string.Join(", ", images.Shape)}) and ({string.Join(", ", labels.Shape)})", nameof(images));
        if (images.Shape[1] is not (1 or 3))
            throw new ArgumentException($"ClassifierProbe: images must have 1 or 3 channels, got ({string.Join(", ", images.Shape)})", nameof(images));
        if (classes.Count < 2) throw new ArgumentException($"ClassifierProbe: give at least two class names (got {classes.Count})", nameof(classes));
        this.model = model; this.images = images; this.labels = labels;
        Classes = classes; SampleCount = Math.Clamp(sampleCount, 0, (int)images.Shape[0]);
        BatchSize = batchSize >= 1 ? batchSize : throw new ArgumentOutOfRangeException(nameof(batchSize), $"ClassifierProbe: batchSize must be at least 1, got {batchSize}");
    }

    /// <summary>
    /// A probe on the first <paramref name="maxCount"/> items of <paramref name="data"/> (each an (image (C, H, W), label) pair,
    /// e.g. the validation split of a classifier).
    /// </summary>
    public static ClassifierProbe FromDataset(Module<Tensor, Tensor> model, IDataset<Tensor[]> data, IReadOnlyList<string> classes, int maxCount = 1000, int sampleCount = 16)
    {
        ArgumentNullException.ThrowIfNull(data);
        int n = Math.Min(maxCount, data.Count);
        if (n < 1) throw new ArgumentException("ClassifierProbe.FromDataset: the dataset is empty", nameof(data));
        var items = Enumerable.Range(0, n).Select(data.Get).ToList();
        return new ClassifierProbe(model, Tensor.Stack(items.Select(i => i[0]).ToArray(), 0), Tensor.Stack(items.Select(i => i[1].Reshape(1)).ToArray(), 0).Reshape(-1),
                                   classes, sampleCount);
    }

    /// <summary>The class names, in label order.</summary>
    public IReadOnlyList<string> Classes { get; }
    /// <summary>How many images are shown with their prediction.</summary>
    public int SampleCount { get; }
    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; }

    /// <summary>Runs the model and returns the predicted class and its probability for every image.</summary>
    public (long[] Predicted, float[] Probability) Predict()
    {
        bool wasTraining = model.IsTraining;
        model.Eval();
        var predicted = new List<long>(); var probability = new List<float>();
        try
        {
            using (Autograd.NoGrad())
                for (int start = 0; start < images.Shape[0]; start += BatchSize)
                {
                    int count = (int)Math.Min(BatchSize, images.Shape[0] - start);
                    var logits = model.Call(images.Narrow(0, start, count));
                    if (logits.Dim != 2 || logits.Shape[1] != Classes.Count)
                        throw new InvalidOperationException($"ClassifierProbe: the model gave ({string.Join(", ", logits.Shape)}) for {count} images, expected ({count}, {Classes.Count}) logits");
                    var probabilities = logits.Float().Softmax(1);
                    var best = probabilities.ArgMax(1);
                    predicted.AddRange(best.ToArray<long>());
                    var p = probabilities.Contiguous().ToArray<float>();
                    var b = best.ToArray<long>();
                    for (int i = 0; i < count; i++) probability.Add(p[i * Classes.Count + b[i]]);
                }
        }
        finally { model.Train(wasTraining); }
        return (predicted.ToArray(), probability.ToArray());
    }

    /// <summary>The confusion matrix [true class, predicted class] of <paramref name="predicted"/>.</summary>
    public long[,] Confusion(long[] predicted)
    {
        var truth = labels.ToArray<long>();
        var matrix = new long[Classes.Count, Classes.Count];
        for (int i = 0; i < predicted.Length; i++)
            if (truth[i] >= 0 && truth[i] < Classes.Count) matrix[truth[i], predicted[i]]++;
        return matrix;
    }

    /// <summary>Runs the probe and publishes a "confusion" and a "samples" event at <paramref name="step"/>.</summary>
    public void Publish(DashboardHub hub, long step, int epoch)
    {
        var (predicted, probability) = Predict();
        var matrix = Confusion(predicted);
        var truth = labels.ToArray<long>();
        hub.Publish("confusion", w =>
        {
            w.WriteNumber("step", step); w.WriteNumber("epoch", epoch);
            w.WriteStartArray("classes"); foreach (var c in Classes) w.WriteStringValue(c); w.WriteEndArray();
            w.WriteStartArray("matrix");
            for (int t = 0; t < Classes.Count; t++)
            {
                w.WriteStartArray();
                for (int p = 0; p < Classes.Count; p++) w.WriteNumberValue(matrix[t, p]);
                w.WriteEndArray();
            }
            w.WriteEndArray();
        });
        hub.Publish("samples", w =>
        {
            w.WriteNumber("step", step); w.WriteNumber("epoch", epoch);
            w.WriteStartArray("items");
            for (int i = 0; i < SampleCount; i++)
            {
                var (pixels, height, width, channels) = ImagePixels.ToBytes(images.Select(0, i));
                w.WriteStartObject();
                w.WriteNumber("width", width); w.WriteNumber("height", height); w.WriteNumber("channels", channels);
                w.WriteBase64String("pixels", pixels);
                w.WriteString("label", Classes[(int)truth[i]]);
                w.WriteString("predicted", Classes[(int)predicted[i]]);
                w.WriteNumber("probability", Math.Round(probability[i], 4));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }
}
