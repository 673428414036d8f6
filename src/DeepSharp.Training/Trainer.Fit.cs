using System.Diagnostics;
using DeepSharp.Optim;
using DeepSharp.Training.Callbacks;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Training;

// The loop: epochs of batches under a budget, validation, logs and callbacks.
public partial class Trainer
{
    BatchStream? stream;                 // the training data in use, with its position
    StreamPosition? resumePosition;      // from a checkpoint, for the next stream
    int batchInEpoch;                    // batches done in the current epoch (kept when an epoch is cut short)
    double secondsBefore;                // training time of earlier Fit calls (or of the run a checkpoint was taken from)
    readonly Stopwatch trainingClock = new();
    readonly MeanValue epochLoss = new();
    readonly Dictionary<string, MeanValue> epochLogged = new();
    readonly Dictionary<string, double> running = new(), batchLogs = new();

    /// <summary>The budget of the current (or last) <c>Fit</c>, or null before the first.</summary>
    public TrainingBudget? Budget { get; private set; }

    /// <summary>Seconds spent training (validation excluded), over every <c>Fit</c> and across a resume.</summary>
    public double TrainingSeconds => secondsBefore + trainingClock.Elapsed.TotalSeconds;

    /// <summary>
    /// The fraction (0 to 1) of <see cref="Budget"/> used: the largest of steps / MaxSteps, epochs / MaxEpochs (counting
    /// the batches of the current epoch when its length is known) and seconds / MaxSeconds; 0 before a budget is set.
    /// <see cref="ProgressLR"/> schedules follow it (<c>ProgressLR.WarmupCosine(optimizer, () => trainer.BudgetUsed)</c>),
    /// so they span the budget in force; with steps and epochs only it is exactly reproducible.
    /// </summary>
    public double BudgetUsed => Budget?.Used(GlobalStep, EpochsDone, TrainingSeconds) ?? 0;

    double EpochsDone => Epoch + (EpochLength is > 0 and var n ? Math.Min(1.0, (double)batchInEpoch / n) : 0);

    int EpochLength => batchesPerEpoch ?? stream?.PassLength ?? 0;

    double CurrentLearningRate => Optimizer.ParamGroups[0].Lr;

    bool StepsOrTimeSpent => Budget is { } b && (b.MaxSteps is long s && GlobalStep >= s || b.MaxSeconds is double t && TrainingSeconds >= t);

    /// <summary>
    /// Trains until epoch <paramref name="epochs"/> (counting from the start of the run, so a resumed trainer goes on to
    /// the same end): <c>Fit(train, validation, TrainingBudget.Epochs(epochs), callbacks)</c>.
    /// </summary>
    public List<Dictionary<string, double>> Fit(IEnumerable<Tensor[]> train, IEnumerable<Tensor[]>? validation = null, int epochs = 1,
        IEnumerable<ICallback>? callbacks = null) => Fit(train, validation, TrainingBudget.Epochs(epochs), callbacks);

    /// <summary>
    /// Trains on <paramref name="train"/> (batches of tensors, (input, target) for the default step, e.g. a
    /// <c>DataLoader</c>) until <paramref name="budget"/> is spent or a callback sets <see cref="StopTraining"/>, validating on
    /// <paramref name="validation"/> after each epoch. Limits count from the start of the run (Lightning's max_steps), so a
    /// resumed trainer stops where the uninterrupted run would have. An epoch cut short by the budget or a stop is still
    /// reported (logs, validation, callbacks) but not completed: <see cref="Epoch"/> and per-epoch schedulers do not advance
    /// and a later <c>Fit</c> on the same data (or a resumed one) continues it. Returns <see cref="History"/>.
    /// </summary>
    public List<Dictionary<string, double>> Fit(IEnumerable<Tensor[]> train, IEnumerable<Tensor[]>? validation, TrainingBudget budget,
        IEnumerable<ICallback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(train); ArgumentNullException.ThrowIfNull(budget);
        budget.Validate();
        Budget = budget;
        var cbs = callbacks?.ToList() ?? [];
        StopTraining = false;
        if (stream == null || !ReferenceEquals(stream.Source, train))
        {
            stream?.Dispose();
            stream = new BatchStream(train, resumePosition ?? StreamPosition.Start);
            resumePosition = null;
        }
        if (Scheduler is ProgressLR schedule) schedule.Refresh();   // the budget may have changed since its last step
        foreach (var cb in cbs) cb.OnTrainBegin(this);
        while (!StopTraining && !(budget.MaxEpochs is int e && Epoch >= e) && !StepsOrTimeSpent)
            if (!RunEpoch(validation, cbs)) break;
        foreach (var cb in cbs) cb.OnTrainEnd(this);
        return History;
    }

    /// <summary>One epoch (or the rest of one); true when it completed, false when the budget or a stop cut it short.</summary>
    bool RunEpoch(IEnumerable<Tensor[]>? validation, List<ICallback> cbs)
    {
        int epoch = Epoch + 1;
        foreach (var cb in cbs) cb.OnEpochBegin(this, epoch);
        Model.Train();
        if (batchInEpoch == 0) { epochLoss.Reset(); epochLogged.Clear(); }
        foreach (var m in metrics) m.Reset();
        int length = EpochLength;
        Progress.EpochStarted(epoch, EstimatedEpochs(length), length);
        var clock = Stopwatch.StartNew();
        double? epochLr = null;
        bool complete = TrainBatches(cbs, clock, ref epochLr);

        var logs = new Dictionary<string, double> { ["loss"] = epochLoss.Compute() };
        foreach (var m in metrics) logs[m.Name] = m.Compute();
        foreach (var (name, mean) in epochLogged) logs[name] = mean.Compute();
        if (validation != null)
            foreach (var (k, v) in complete ? Evaluate(validation) : EvaluateKeepingRandomState(validation)) logs["val_" + k] = v;
        logs["lr"] = epochLr ?? CurrentLearningRate;
        if (complete)
        {
            if (Scheduler != null && !StepSchedulerPerBatch) Scheduler.Step();
            Epoch = epoch;
            batchInEpoch = 0;
        }
        History.Add(logs);
        Progress.EpochFinished(epoch, logs, clock.Elapsed);
        foreach (var cb in cbs) cb.OnEpochEnd(this, epoch, logs);
        return complete;
    }

    /// <summary>The batches of one epoch; true when the epoch's data ran out (complete), false when cut short.</summary>
    bool TrainBatches(List<ICallback> cbs, Stopwatch clock, ref double? epochLr)
    {
        long examples = 0;
        bool complete;
        trainingClock.Start();
        try
        {
            while (true)
            {
                if (StopTraining || accumulated == 0 && StepsOrTimeSpent) { complete = false; break; }
                if (batchesPerEpoch is int n && batchInEpoch >= n) { complete = true; break; }
                if (!stream!.TryNext(endless: batchesPerEpoch != null, out var batch)) { complete = true; break; }
                batchInEpoch++;
                double lr = CurrentLearningRate;
                epochLr ??= lr;
                foreach (var cb in cbs) cb.OnBatchBegin(this, batchInEpoch);
                var (taken, loss) = RunBatch(batch);
                long size = context.BatchSize;
                examples += size;
                if (taken && !double.IsNaN(loss)) epochLoss.Add(loss, size);
                ReportBatch(cbs, taken ? loss : double.NaN, lr, examples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
            }
            if (accumulated > 0) FlushAccumulation();   // the epoch's last, shorter window (or a stop inside a window)
        }
        finally { trainingClock.Stop(); }
        return complete;
    }

    void ReportBatch(List<ICallback> cbs, double loss, double lr, double examplesPerSecond)
    {
        running["loss"] = epochLoss.Compute();
        foreach (var m in metrics) running[m.Name] = m.Compute();
        foreach (var (name, mean) in epochLogged) running[name] = mean.Compute();
        Progress.BatchFinished(batchInEpoch, running, examplesPerSecond);
        if (cbs.Count == 0) return;
        batchLogs.Clear();
        batchLogs["loss"] = loss;
        foreach (var (name, value) in context.Logged) batchLogs[name] = value;
        foreach (var m in metrics) batchLogs[m.Name] = running[m.Name];
        batchLogs["lr"] = lr;
        batchLogs["examples_per_second"] = examplesPerSecond;
        foreach (var cb in cbs) cb.OnBatchEnd(this, batchInEpoch, batchLogs);
    }

    /// <summary>Validation of a cut-short epoch, leaving the global random state as it was, so that stopping (and resuming)
    /// mid-epoch draws nothing an uninterrupted run would not (a DataLoader draws a seed from it for every pass).</summary>
    Dictionary<string, double> EvaluateKeepingRandomState(IEnumerable<Tensor[]> validation)
    {
        var state = DeepSharp.Random.GetState();
        try { return Evaluate(validation); }
        finally { DeepSharp.Random.SetState(state); }
    }

    /// <summary>Epochs the run will take, for the progress display (0: unknown).</summary>
    int EstimatedEpochs(int epochLength)
    {
        if (Budget?.MaxEpochs is int e) return e;
        if (Budget?.MaxSteps is long s && epochLength > 0)
            return (int)Math.Min(int.MaxValue, Math.Ceiling((double)s * (AutomaticOptimization ? accumulateGradBatches : 1) / epochLength));
        return 0;
    }
}
