using System.Globalization;
using System.Numerics.Tensors;
using DeepSharp.Optim;

namespace DeepSharp.Training;

// One batch: the step (default or custom), the divergence check, backward, accumulation, clipping, the optimizer step.
public partial class Trainer
{
    readonly StepContext context;
    int accumulated;                     // micro-batches back-propagated since the last optimizer step

    /// <summary>
    /// Computes the loss of the batch in <paramref name="context"/> (Lightning's training_step; override it as Keras's
    /// train_step is overridden). The default is the delegate given to the constructor, or loss(model(input), target)
    /// with the metrics fed the model's output. With automatic optimization return the loss (null skips the batch) and
    /// the trainer back-propagates it and steps; with manual optimization call <see cref="StepContext.Backward"/> and
    /// <see cref="StepContext.Step"/> here and return a loss to log, or null.
    /// </summary>
    protected virtual Tensor? TrainingStep(StepContext context)
    {
        if (customStep != null) return customStep(context);
        var output = Forward(context.Input);
        var target = context.Target;
        var loss = lossFunction!(output, target);
        context.UpdateMetrics(output, target);
        return loss;
    }

    /// <summary>
    /// Computes the loss of a validation batch in eval mode without gradients (Lightning's validation_step). The default
    /// is <see cref="TrainingStep"/> (whose context then says IsTraining false); with manual optimization there is no
    /// default, since that step trains: override this to validate.
    /// </summary>
    protected virtual Tensor? ValidationStep(StepContext context) => AutomaticOptimization ? TrainingStep(context)
        : throw new InvalidOperationException("Trainer.Evaluate: with manual optimization the training step updates the weights itself, so it cannot " +
                                              "score validation data; override ValidationStep, or pass no validation data");

    /// <summary>
    /// One training batch outside <c>Fit</c> (input <paramref name="x"/>, target <paramref name="y"/>): the step, then the
    /// optimizer step (once <see cref="AccumulateGradBatches"/> micro-batches have accumulated). Returns the loss, or NaN
    /// when the batch was skipped. Steps after the first run inside a <see cref="TensorScope"/>.
    /// </summary>
    public double TrainStep(Tensor x, Tensor y)
    {
        var (taken, loss) = RunBatch([x, y]);
        return taken ? loss : double.NaN;
    }

    /// <summary>One micro-batch; Taken is false when it was skipped, Loss is NaN when the step returned none.</summary>
    (bool Taken, double Loss) RunBatch(Tensor[] batch)
    {
        // The first step creates gradients and optimizer state normally; later ones recycle their temporaries.
        using var scope = GlobalStep == 0 ? null : TensorScope.Begin();
        context.Begin(batch, evaluating: false);
        if (!AutomaticOptimization) return RunManualBatch();
        if (accumulated == 0)
            foreach (var o in optimizers) o.ZeroGrad(setToNone: GlobalStep == 0);
        var loss = TrainingStep(context);
        if (loss is null) return (false, double.NaN);                  // as Lightning: no loss, no step for this batch
        double value = CheckScalar(loss).Item();
        if (!double.IsFinite(value)) { Diverged("loss", value); return (false, value); }
        (accumulateGradBatches == 1 ? loss : loss / accumulateGradBatches).Backward();
        context.Commit(metrics, epochLogged, context.BatchSize);
        if (++accumulated == accumulateGradBatches) OptimizerStep();
        return (true, value);
    }

    (bool Taken, double Loss) RunManualBatch()
    {
        var loss = TrainingStep(context);
        if (context.Skipped) return (false, double.NaN);
        double value = loss is null ? double.NaN : CheckScalar(loss).Item();
        context.Commit(metrics, epochLogged, context.BatchSize);
        GlobalStep++;
        if (Scheduler != null && StepSchedulerPerBatch) Scheduler.Step();
        return (true, value);
    }

    /// <summary>Clips the accumulated gradients of every optimizer's parameters, checks their norm and steps them all.</summary>
    void OptimizerStep()
    {
        accumulated = 0;
        var parameters = optimizers.Length == 1 ? optimizers[0].Parameters() : optimizers.SelectMany(o => o.Parameters());
        if (Clip(parameters) is double norm && !double.IsFinite(norm)) { Diverged("gradient norm", norm); return; }
        foreach (var o in optimizers) o.Step();
        GlobalStep++;
        if (Scheduler != null && StepSchedulerPerBatch) Scheduler.Step();
    }

    /// <summary>The optimizer step of a window of fewer than <see cref="AccumulateGradBatches"/> micro-batches (end of an epoch).</summary>
    void FlushAccumulation()
    {
        using var scope = TensorScope.Begin();
        OptimizerStep();
    }

    /// <summary>
    /// Clips gradients by value then by norm as configured; returns the norm before clipping. Without norm clipping the
    /// gradients are only checked (before any clipping by value, which would hide an infinity): NaN or +∞ when one is not
    /// finite (so is their norm), else null; a pass of <c>MaxMagnitude</c> over each gradient, no norm computed.
    /// </summary>
    double? Clip(IEnumerable<Tensor> parameters)
    {
        double? nonFinite = ClipGradNorm == null ? NonFiniteGradient(parameters) : null;
        if (nonFinite != null) return nonFinite;
        if (ClipGradValue is double value) GradClip.ClipGradValue(parameters, value);
        return ClipGradNorm is double maxNorm ? GradClip.ClipGradNorm(parameters, maxNorm) : null;
    }

    /// <summary>NaN when a gradient holds a NaN, +∞ when one holds an infinity, null when every gradient is finite.</summary>
    static double? NonFiniteGradient(IEnumerable<Tensor> parameters)
    {
        foreach (var p in parameters)
        {
            if (p.Grad is not { IsFloatingPoint: true } g) continue;
            if (g.NumEl == 0) continue;
            var work = g.Contiguous();
            double largest = work.DType == DType.Float64 ? TensorPrimitives.MaxMagnitude(work.AsReadOnlySpan<double>())
                : TensorPrimitives.MaxMagnitude(work.AsReadOnlySpan<float>());   // NaN when any element is NaN
            if (!double.IsFinite(largest)) return Math.Abs(largest);
        }
        return null;
    }

    internal bool CheckedBackward(Tensor loss)
    {
        double value = CheckScalar(loss).Item();
        if (!double.IsFinite(value)) { Diverged("loss", value); return false; }
        loss.Backward();
        return true;
    }

    internal void ClippedStep(Optimizer optimizer)
    {
        if (Clip(optimizer.Parameters()) is double norm && !double.IsFinite(norm)) { Diverged("gradient norm", norm); return; }
        optimizer.Step();
    }

    /// <summary>A NaN or infinite loss or gradient norm, found before the optimizer step: throw, or skip the batch.</summary>
    void Diverged(string what, double value)
    {
        string text = value.ToString(CultureInfo.InvariantCulture);
        string where = $"step {GlobalStep + 1} (epoch {Epoch + 1}, batch {Math.Max(1, batchInEpoch)})";
        if (OnNonFiniteLoss == NonFiniteLossAction.SkipBatch)
        {
            SkippedBatches++;
            context.MarkSkipped();
            Progress.Message($"skipped a batch: the {what} is {text} at {where}");
            return;
        }
        throw new TrainingDivergedException($"Trainer: the {what} is {text} at {where}; the optimizer step was not taken, so the weights are " +
            $"those after step {GlobalStep}. Lower the learning rate, clip gradients (ClipGradNorm) or check the data; " +
            "OnNonFiniteLoss = NonFiniteLossAction.SkipBatch skips such batches instead", GlobalStep, value);
    }
}
