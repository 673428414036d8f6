using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Distributed;

/// <summary>
/// The <see cref="Trainer"/> over a <see cref="Pipeline"/>: every rank runs the same loop on the same batches (each
/// rank's loader must give every rank the same batches, e.g. a <see cref="DistributedSampler"/> with one replica), the
/// training step is <see cref="Pipeline.StepWithOutput"/> followed by the optimizer step, evaluation is
/// <see cref="Pipeline.ForwardAll"/>; the loss and metrics are those of the whole batch on every rank. Validation,
/// schedulers, clipping and callbacks work as usual; <see cref="Trainer.AutomaticOptimization"/> is off (the pipeline
/// runs its own backward passes), so <see cref="Trainer.AccumulateGradBatches"/> does not apply. At the end of
/// <c>Fit</c> the trained stages are gathered (<see cref="Pipeline.GatherModel"/>) so that the model given to the constructor,
/// the whole Sequential, holds every stage's weights on every rank.
/// </summary>
public sealed class PipelineTrainer : Trainer
{
    readonly Pipeline pipeline;
    readonly Func<Tensor, Tensor, Tensor> loss;

    /// <summary>
    /// Trains <paramref name="pipeline"/>, cut from <paramref name="model"/>, with <paramref name="optimizer"/> (over this
    /// rank's stage; parameters of other stages get no gradient and are skipped) on <paramref name="loss"/>.
    /// </summary>
    public PipelineTrainer(Pipeline pipeline, Module model, Optimizer optimizer, Func<Tensor, Tensor, Tensor> loss, IEnumerable<IMetric>? metrics = null, IProgressReporter? progress = null)
        : base(model, [optimizer], progress, metrics ?? [new Accuracy()])
    {
        ArgumentNullException.ThrowIfNull(pipeline); ArgumentNullException.ThrowIfNull(loss);
        this.pipeline = pipeline;
        this.loss = loss;
        AutomaticOptimization = false;
    }

    /// <summary>The pipeline being trained.</summary>
    public Pipeline Pipeline => pipeline;

    /// <summary>A callback that gathers the stages into the whole model at the end of training (add it to Fit's callbacks).</summary>
    public ICallback GatherAtEnd() => new GatherCallback(pipeline);

    /// <inheritdoc/>
    protected override Tensor? TrainingStep(StepContext context)
    {
        Optimizer.ZeroGrad();
        var (value, output) = pipeline.StepWithOutput(context.Input, context.Target, loss);
        context.UpdateMetrics(output, context.Target);
        context.Step(Optimizer);
        return Tensor.FromArray([value]);
    }

    /// <inheritdoc/>
    protected override Tensor? ValidationStep(StepContext context)
    {
        var output = pipeline.ForwardAll(context.Input);
        context.UpdateMetrics(output, context.Target);
        return loss(output, context.Target);
    }

    sealed class GatherCallback(Pipeline pipeline) : ICallback
    {
        public void OnTrainEnd(Trainer trainer) => pipeline.GatherModel();
    }
}
