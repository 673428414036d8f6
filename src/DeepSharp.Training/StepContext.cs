using DeepSharp.Optim;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Training;

/// <summary>
/// What a custom training step gets (the batch of Lightning's training_step(batch, batch_idx), with what self.log and
/// self.manual_backward do there): the batch, a place to log values, the metrics to update and, with manual optimization,
/// the backward pass and optimizer steps that go through the trainer's divergence check and clipping. The trainer
/// (<see cref="Trainer"/>: its model, optimizers, <see cref="Trainer.GlobalStep"/>, epoch) is at hand. One context is
/// reused for every batch.
/// </summary>
public sealed class StepContext
{
    readonly Trainer trainer;
    readonly Dictionary<string, double> logged = new();
    readonly List<(Tensor Output, Tensor Target)> metricInputs = new();

    internal StepContext(Trainer trainer) => this.trainer = trainer;

    /// <summary>The trainer running the step (its model, optimizers, step and epoch counters).</summary>
    public Trainer Trainer => trainer;

    /// <summary>The batch: the tensors one item of the training data holds, e.g. (input, target).</summary>
    public Tensor[] Batch { get; private set; } = [];

    /// <summary>The batch's first tensor.</summary>
    public Tensor Input => Batch.Length >= 1 ? Batch[0] : throw new InvalidOperationException("Trainer: the batch holds no tensor");

    /// <summary>The batch's second tensor (the target of (input, target) batches).</summary>
    public Tensor Target => Batch.Length >= 2 ? Batch[1]
        : throw new ArgumentException($"Trainer: each batch must hold (input, target) tensors, got {Batch.Length} tensor(s)");

    /// <summary>Examples in the batch (the first tensor's first dimension): the weight of its loss in the epoch mean.</summary>
    public long BatchSize => Batch.Length > 0 && Batch[0].Rank > 0 ? Batch[0].Shape[0] : 1;

    /// <summary>False while <see cref="Trainer.Evaluate"/> runs the step (eval mode, no gradients): do not train then.</summary>
    public bool IsTraining { get; private set; }

    /// <summary>True once the batch was skipped for a non-finite loss; later <see cref="Backward"/> and <see cref="Step"/> calls do nothing.</summary>
    public bool Skipped { get; private set; }

    /// <summary>The values logged by this step so far.</summary>
    public IReadOnlyDictionary<string, double> Logged => logged;

    /// <summary>
    /// Logs a value of this batch (Lightning's self.log): it is averaged over the epoch (weighted by batch size) into the
    /// epoch's logs and <see cref="Trainer.History"/> (as "val_<paramref name="name"/>" in validation), shown in the
    /// progress display and passed to <see cref="Callbacks.ICallback.OnBatchEnd"/>.
    /// </summary>
    public void Log(string name, double value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name is "loss" or "lr") throw new ArgumentException($"StepContext.Log: \"{name}\" is logged by the trainer; choose another name", nameof(name));
        logged[name] = value;
    }

    /// <summary>Logs a one-element tensor's value (<see cref="Log(string, double)"/>).</summary>
    public void Log(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Log(name, value.Item());
    }

    /// <summary>Feeds the trainer's metrics with this batch's <paramref name="output"/> and <paramref name="target"/> (once the batch is kept).</summary>
    public void UpdateMetrics(Tensor output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(output); ArgumentNullException.ThrowIfNull(target);
        metricInputs.Add((output, target));
    }

    /// <summary>
    /// Manual optimization: checks that <paramref name="loss"/> is a finite scalar, then back-propagates it (Lightning's
    /// manual_backward). A NaN or infinite loss throws <see cref="TrainingDivergedException"/>, or with
    /// <see cref="NonFiniteLossAction.SkipBatch"/> marks the batch <see cref="Skipped"/> and returns false.
    /// </summary>
    public bool Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        RequireTraining(nameof(Backward));
        if (Skipped) return false;
        return trainer.CheckedBackward(loss);
    }

    /// <summary>
    /// Manual optimization: clips <paramref name="optimizer"/>'s gradients as the trainer is configured to
    /// (<see cref="Trainer.ClipGradValue"/>, <see cref="Trainer.ClipGradNorm"/>) and takes its step; does nothing once the
    /// batch is <see cref="Skipped"/>. Zeroing the gradients is the step's own business (<c>optimizer.ZeroGrad()</c>).
    /// </summary>
    public void Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireTraining(nameof(Step));
        if (!Skipped) trainer.ClippedStep(optimizer);
    }

    void RequireTraining(string member)
    {
        if (!IsTraining) throw new InvalidOperationException($"StepContext.{member}: not allowed while the trainer evaluates (check context.IsTraining)");
        if (trainer.AutomaticOptimization)
            throw new InvalidOperationException($"StepContext.{member}: the trainer runs backward and the optimizer steps itself; set AutomaticOptimization = false to take them in the step");
    }

    internal void Begin(Tensor[] batch, bool evaluating)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Batch = batch;
        IsTraining = !evaluating;
        Skipped = false;
        logged.Clear();
        metricInputs.Clear();
    }

    internal void MarkSkipped() => Skipped = true;

    /// <summary>The batch is kept: its metric inputs and logged values go into the epoch's figures.</summary>
    internal void Commit(List<IMetric> metrics, Dictionary<string, MeanValue> means, long weight)
    {
        foreach (var (output, target) in metricInputs)
            foreach (var m in metrics) m.Update(output, target);
        metricInputs.Clear();
        foreach (var (name, value) in logged)
        {
            if (!means.TryGetValue(name, out var mean)) means[name] = mean = new MeanValue(name);
            mean.Add(value, weight);
        }
    }
}
