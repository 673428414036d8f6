using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Dashboard;

/// <summary>
/// Publishes a training run to a <see cref="DashboardHub"/> (Keras's TensorBoard callback): the loss and metrics of the
/// batches (averaged between two publications, at most every <see cref="BatchInterval"/>), the learning rate, the
/// throughput, the time spent and the time left of the budget, each layer's gradient norm, and after each epoch its logs
/// (validation included) and, with a <see cref="ClassifierProbe"/>, a confusion matrix and sample predictions.
/// It reads the trainer and never changes it: a run with the dashboard trains the same weights as one without.
/// </summary>
public sealed class DashboardCallback(DashboardHub hub, ClassifierProbe? probe = null) : ICallback
{
    readonly Stopwatch sincePublished = new();
    readonly Stopwatch sinceGradients = new();
    readonly Dictionary<string, (double Sum, int Count)> pending = new();

    /// <summary>The hub the events go to.</summary>
    public DashboardHub Hub { get; } = hub ?? throw new ArgumentNullException(nameof(hub));
    /// <summary>Least time between two "batch" events (default 0.25 s): the values of the batches between are averaged.</summary>
    public TimeSpan BatchInterval { get; init; } = TimeSpan.FromSeconds(0.25);
    /// <summary>Least time between two "grads" events (default 1 s); computing the norms reads every gradient once.</summary>
    public TimeSpan GradientInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>At most this many layers get a gradient-norm curve (default 32), the first ones in the model's order.</summary>
    public int MaxLayers { get; init; } = 32;

    int epoch;

    /// <inheritdoc/>
    public void OnTrainBegin(Trainer trainer) { sincePublished.Restart(); sinceGradients.Restart(); }

    /// <inheritdoc/>
    public void OnEpochBegin(Trainer trainer, int epoch) => this.epoch = epoch;

    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
    {
        foreach (var (key, value) in logs)
            if (double.IsFinite(value))
                pending[key] = pending.TryGetValue(key, out var p) ? (p.Sum + value, p.Count + 1) : (value, 1);
        if (sinceGradients.Elapsed >= GradientInterval) { PublishGradients(trainer); sinceGradients.Restart(); }
        if (sincePublished.Elapsed >= BatchInterval) PublishBatch(trainer);
    }

    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (pending.Count > 0) PublishBatch(trainer);
        Hub.Publish("epoch", w =>
        {
            w.WriteNumber("step", trainer.GlobalStep); w.WriteNumber("epoch", epoch);
            WriteLogs(w, "logs", logs.Select(kv => (kv.Key, kv.Value)));
        });
        if (probe == null) return;
        try { probe.Publish(Hub, trainer.GlobalStep, epoch); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Hub.PublishNote($"the classifier probe failed at epoch {epoch}: {e.Message}");   // the dashboard never stops a run
        }
    }

    void PublishBatch(Trainer trainer)
    {
        double used = trainer.BudgetUsed, seconds = trainer.TrainingSeconds;
        double? left = used > 0 && used <= 1 ? seconds * (1 - used) / used : null;
        var means = pending.Select(kv => (kv.Key, kv.Value.Sum / kv.Value.Count)).ToList();
        pending.Clear();
        sincePublished.Restart();
        Hub.Publish("batch", w =>
        {
            w.WriteNumber("step", trainer.GlobalStep); w.WriteNumber("epoch", epoch);
            DashboardHub.WriteNumber(w, "seconds", seconds);
            DashboardHub.WriteNumber(w, "left", left);
            DashboardHub.WriteNumber(w, "used", used);
            WriteLogs(w, "logs", means);
        });
    }

    void PublishGradients(Trainer trainer)
    {
        // one norm per layer: the parameters "conv1.weight" and "conv1.bias" make the layer "conv1" (sqrt of their squares' sum)
        var layers = new List<(string Name, double SumOfSquares)>();
        foreach (var (name, parameter) in trainer.Model.NamedParameters())
        {
            if (parameter.Grad is not { IsFloatingPoint: true } grad || grad.NumEl == 0) continue;
            int dot = name.LastIndexOf('.');
            var layer = dot > 0 ? name[..dot] : name;
            double squares = SumOfSquares(grad);
            if (layers.Count > 0 && layers[^1].Name == layer) layers[^1] = (layer, layers[^1].SumOfSquares + squares);
            else if (layers.Count < MaxLayers) layers.Add((layer, squares));
        }
        if (layers.Count == 0) return;
        Hub.Publish("grads", w =>
        {
            w.WriteNumber("step", trainer.GlobalStep);
            WriteLogs(w, "norms", layers.Select(l => (l.Name, Math.Sqrt(l.SumOfSquares))));
        });
    }

    static double SumOfSquares(Tensor grad)
    {
        var values = grad.DType is DType.Float32 or DType.Float64 ? grad.Contiguous() : grad.Float().Contiguous();
        if (values.DType == DType.Float64) return TensorPrimitives.SumOfSquares(values.AsReadOnlySpan<double>());
        float norm = TensorPrimitives.Norm(values.AsReadOnlySpan<float>());   // scaled inside, so no float overflow of the squares
        return (double)norm * norm;
    }

    static void WriteLogs(Utf8JsonWriter w, string name, IEnumerable<(string Key, double Value)> values)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in values) DashboardHub.WriteNumber(w, key, value);
        w.WriteEndObject();
    }
}
