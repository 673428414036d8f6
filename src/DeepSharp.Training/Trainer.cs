using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training.Callbacks;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Training;

/// <summary>What the trainer does when a batch's loss (or the gradient norm) is NaN or infinite.</summary>
public enum NonFiniteLossAction
{
    /// <summary>Throw a <see cref="TrainingDivergedException"/> before the optimizer step, so the weights stay finite (the default).</summary>
    Throw,
    /// <summary>Skip the batch: no backward pass and no optimizer step for it; <see cref="Trainer.SkippedBatches"/> counts them.</summary>
    SkipBatch,
}

/// <summary>The loss or the gradient norm became NaN or infinite; thrown before the optimizer step, so the weights are those of <see cref="Step"/>.</summary>
public sealed class TrainingDivergedException(string message, long step, double value) : InvalidOperationException(message)
{
    /// <summary>The optimizer steps completed: the weights are those after this step.</summary>
    public long Step { get; } = step;
    /// <summary>The non-finite value (NaN, +∞ or −∞).</summary>
    public double Value { get; } = value;
}

/// <summary>
/// The training loop, the only one (Keras's Model.fit / Lightning's Trainer): <see cref="Fit(IEnumerable{Tensor[]}, IEnumerable{Tensor[]}?, TrainingBudget, IEnumerable{ICallback}?)"/>
/// trains under a budget of steps, epochs or seconds with validation, metrics, callbacks, LR schedulers (per batch or
/// per epoch), gradient accumulation and clipping, a divergence check before each optimizer step, and checkpoints that
/// resume bit for bit; <see cref="Evaluate"/> and <see cref="Predict"/> run the model without gradients. The step is
/// loss(model(x), y) by default, or a custom one (a delegate or an override of <see cref="TrainingStep"/>) for models
/// whose loss is not, with one optimizer or several. Each steady-state step runs inside a <see cref="TensorScope"/>, so
/// its temporaries are recycled and a step allocates next to nothing. Files: Trainer.Fit.cs (the loop and the budget),
/// Trainer.Step.cs (one batch), Trainer.Checkpoint.cs (save and resume).
/// </summary>
public partial class Trainer
{
    readonly Func<Tensor, Tensor>? forward;            // the default step's model call: the one place the trainer calls the model
    readonly Func<Tensor, Tensor, Tensor>? lossFunction;
    readonly Func<StepContext, Tensor?>? customStep;
    readonly List<IMetric> metrics;
    readonly Optimizer[] optimizers;

    /// <summary>Creates a trainer for <paramref name="model"/> optimised by <paramref name="optimizer"/> on <paramref name="loss"/>(model(input), target).</summary>
    public Trainer(Module<Tensor, Tensor> model, Optimizer optimizer, Func<Tensor, Tensor, Tensor> loss, IEnumerable<IMetric>? metrics = null, IProgressReporter? progress = null)
        : this(model, [optimizer], progress, metrics ?? [new Accuracy()])
    {
        ArgumentNullException.ThrowIfNull(loss);
        lossFunction = loss;
        forward = model.Call;
    }

    /// <summary>
    /// Creates a trainer whose step is <paramref name="step"/> (Lightning's training_step): it gets the batch in a
    /// <see cref="StepContext"/> and returns the loss; the trainer does the backward pass, clipping and optimizer step
    /// (or, with <see cref="AutomaticOptimization"/> off, the step does them itself). Returning null skips the batch.
    /// </summary>
    public Trainer(Module model, Optimizer optimizer, Func<StepContext, Tensor?> step, IEnumerable<IMetric>? metrics = null, IProgressReporter? progress = null)
        : this(model, [optimizer], step, metrics, progress) { }

    /// <summary>
    /// Creates a trainer with several optimizers and a custom <paramref name="step"/>: with <see cref="AutomaticOptimization"/>
    /// (the default) every optimizer steps after each backward pass; without it the step takes its own steps through
    /// <see cref="StepContext.Backward"/> and <see cref="StepContext.Step"/> (a GAN's alternating updates).
    /// </summary>
    public Trainer(Module model, IEnumerable<Optimizer> optimizers, Func<StepContext, Tensor?> step, IEnumerable<IMetric>? metrics = null, IProgressReporter? progress = null)
        : this(model, optimizers, progress, metrics ?? [])
    {
        ArgumentNullException.ThrowIfNull(step);
        customStep = step;
    }

    /// <summary>For a subclass that overrides <see cref="TrainingStep"/> (Keras's train_step override).</summary>
    protected Trainer(Module model, IEnumerable<Optimizer> optimizers, IProgressReporter? progress = null, IEnumerable<IMetric>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(optimizers);
        this.optimizers = optimizers.ToArray();
        if (this.optimizers.Length == 0 || this.optimizers.Any(o => o is null))
            throw new ArgumentException($"Trainer: give at least one optimizer and no null ones (got {this.optimizers.Length})", nameof(optimizers));
        Model = model;
        this.metrics = metrics?.ToList() ?? [];
        Progress = progress ?? Training.Progress.ForConsole();
        context = new StepContext(this);
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }
    /// <summary>The (first) optimizer.</summary>
    public Optimizer Optimizer => optimizers[0];
    /// <summary>Every optimizer, in the order given (Lightning's trainer.optimizers).</summary>
    public IReadOnlyList<Optimizer> Optimizers => optimizers;
    /// <summary>An LR scheduler stepped after every optimizer step (OneCycleLR, <see cref="ProgressLR"/>) or every epoch (StepLR ...), see <see cref="StepSchedulerPerBatch"/>.</summary>
    public LRScheduler? Scheduler { get; set; }
    /// <summary>Step <see cref="Scheduler"/> after each optimizer step (true) or each epoch (false, the default) (Lightning's interval "step"/"epoch").</summary>
    public bool StepSchedulerPerBatch { get; set; }
    /// <summary>When set, gradients are scaled so that their global L2 norm is at most this value before each optimizer
    /// step (torch.nn.utils.clip_grad_norm_; Lightning's gradient_clip_val). Null (the default) leaves them alone.</summary>
    public double? ClipGradNorm { get; set; }
    /// <summary>When set, every gradient element is clamped to [−value, value] before each optimizer step
    /// (torch.nn.utils.clip_grad_value_; Lightning's gradient_clip_algorithm="value"). Applied before <see cref="ClipGradNorm"/>.</summary>
    public double? ClipGradValue { get; set; }
    /// <summary>
    /// Micro-batches whose gradients are summed before one optimizer step (Lightning's accumulate_grad_batches; default 1):
    /// each micro-batch's loss is scaled by 1/K, so K batches of B act like one batch of K·B for a mean loss. An epoch's
    /// last, shorter window is stepped too. Budgets, schedulers and <see cref="GlobalStep"/> count optimizer steps.
    /// </summary>
    public int AccumulateGradBatches
    {
        get => accumulateGradBatches;
        set => accumulateGradBatches = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"Trainer.AccumulateGradBatches must be at least 1, got {value}");
    }
    int accumulateGradBatches = 1;
    /// <summary>
    /// Whether the trainer runs backward and the optimizer steps after the step returns the loss (true, the default), or the
    /// step does them itself through <see cref="StepContext.Backward"/> and <see cref="StepContext.Step"/> (Lightning's
    /// automatic_optimization = False, for GANs and other alternating updates; then <see cref="GlobalStep"/> counts batches).
    /// </summary>
    public bool AutomaticOptimization { get; set; } = true;
    /// <summary>What to do when a loss or gradient norm is NaN or ±∞; checked before the optimizer step (Keras's TerminateOnNaN).</summary>
    public NonFiniteLossAction OnNonFiniteLoss { get; set; }
    /// <summary>
    /// Batches per epoch, drawn from an endless stream of passes over the training data: an epoch ends after this many
    /// batches and the next one carries on where it stopped, starting a new pass when one runs out (Keras's steps_per_epoch
    /// over a repeated dataset). Null (the default): an epoch is one pass over the data.
    /// </summary>
    public int? BatchesPerEpoch
    {
        get => batchesPerEpoch;
        set => batchesPerEpoch = value is null or >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"Trainer.BatchesPerEpoch must be at least 1, got {value}");
    }
    int? batchesPerEpoch;
    /// <summary>Where progress goes.</summary>
    public IProgressReporter Progress { get; set; }
    /// <summary>The metrics computed on training and validation data.</summary>
    public IReadOnlyList<IMetric> Metrics => metrics;
    /// <summary>Completed epochs (0 before training; an epoch cut short by the budget or a stop is not complete).</summary>
    public int Epoch { get; private set; }
    /// <summary>Optimizer steps taken so far (batches, with manual optimization) (Lightning's global_step).</summary>
    public long GlobalStep { get; private set; }
    /// <summary>Batches skipped because their loss was not finite (<see cref="NonFiniteLossAction.SkipBatch"/>).</summary>
    public long SkippedBatches { get; private set; }
    /// <summary>Set by a callback to end <see cref="Fit(IEnumerable{Tensor[]}, IEnumerable{Tensor[]}?, TrainingBudget, IEnumerable{ICallback}?)"/>:
    /// after the current batch when set during a batch, after the epoch when set at its end (early stopping).</summary>
    public bool StopTraining { get; set; }
    /// <summary>Per-epoch logs: "loss", metrics, values the step logged, "val_…", and "lr" (the learning rate in force at the epoch's start).</summary>
    public List<Dictionary<string, double>> History { get; } = new();

    /// <summary>The predictions for one input batch: the default step's model call (kept in one place).</summary>
    Tensor Forward(Tensor input) => (forward ?? throw new InvalidOperationException(
        "Trainer: this trainer has a custom step, so it does not know how to call the model on an input; call the model yourself")).Invoke(input);

    /// <summary>Loss and metrics over <paramref name="data"/> in eval mode without gradients (Keras's evaluate), through <see cref="ValidationStep"/>.</summary>
    public Dictionary<string, double> Evaluate(IEnumerable<Tensor[]> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        var lossMean = new MeanValue();
        var logged = new Dictionary<string, MeanValue>();
        foreach (var m in metrics) m.Reset();
        try
        {
            using (Autograd.NoGrad())
                foreach (var batch in data)
                {
                    using var scope = TensorScope.Begin();
                    context.Begin(batch, evaluating: true);
                    var loss = ValidationStep(context);
                    long weight = context.BatchSize;
                    if (loss != null) lossMean.Add(CheckScalar(loss).Item(), weight);
                    context.Commit(metrics, logged, weight);
                }
        }
        finally { Model.Train(wasTraining); }
        var result = new Dictionary<string, double> { ["loss"] = lossMean.Compute() };
        foreach (var m in metrics) result[m.Name] = m.Compute();
        foreach (var (name, mean) in logged) result[name] = mean.Compute();
        return result;
    }

    /// <summary>Model outputs for every batch's input, concatenated along dim 0 (Keras's predict).</summary>
    public Tensor Predict(IEnumerable<Tensor[]> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        var outputs = new List<Tensor>();
        try
        {
            using (Autograd.NoGrad())
                foreach (var batch in data) outputs.Add(Forward(batch[0]));
        }
        finally { Model.Train(wasTraining); }
        return Tensor.Cat(outputs.ToArray(), 0);
    }

    static Tensor CheckScalar(Tensor loss) => loss.NumEl == 1 ? loss
        : throw new InvalidOperationException($"Trainer: the loss must be a scalar, got shape ({string.Join(", ", loss.Shape)}); use a mean or sum reduction");
}
