using System.Globalization;
using DeepSharp.IO;
using DeepSharp.Optim;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Training;

// Save and resume: everything a run needs to continue bit for bit, in one checkpoint file.
public partial class Trainer
{
    const string ExtraOptimizerPrefix = "optimizers.";

    /// <summary>
    /// Saves, atomically, what the run needs to continue exactly as if uninterrupted (Lightning's checkpoint): the model,
    /// every optimizer, the scheduler, epoch and step, the global random state, and the loop's own position: where the
    /// data pass stands with the random states it started from (the loader's generator too), the batches done in an
    /// unfinished epoch and its running loss, and the training time. It can be called at any time between optimizer
    /// steps, e.g. from <see cref="Callbacks.ICallback.OnBatchEnd"/>, or after <c>Fit</c> returns.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (accumulated > 0)
            throw new InvalidOperationException($"Trainer.SaveCheckpoint: {accumulated} of {accumulateGradBatches} micro-batches of gradients are pending; " +
                                                "save between optimizer steps (when GlobalStep changes)");
        var optimizerState = Optimizer.StateDict();
        var tensors = new Dictionary<string, Tensor>(optimizerState.Tensors);
        var scalars = new Dictionary<string, double>(optimizerState.Scalars);
        for (int i = 1; i < optimizers.Length; i++)
        {
            var extra = optimizers[i].StateDict();
            foreach (var (key, value) in extra.Tensors) tensors[$"{ExtraOptimizerPrefix}{i}.{key}"] = value;
            foreach (var (key, value) in extra.Scalars) scalars[$"{ExtraOptimizerPrefix}{i}.{key}"] = value;
        }
        new Checkpoint
        {
            Model = Model.StateDict(), OptimizerState = tensors, OptimizerScalars = scalars,
            SchedulerState = Scheduler?.StateDict() ?? new(), Epoch = Epoch, Step = GlobalStep,
            RngState = DeepSharp.Random.GetState(), TrainerState = LoopState(),
        }.Save(path);
    }

    /// <summary>
    /// Restores everything <see cref="SaveCheckpoint"/> wrote, so that the following <c>Fit</c> (with the same data,
    /// model and settings, in this process or a new one) continues the run: mid-epoch too, with the same batches, and
    /// bitwise the same weights as an uninterrupted run (same seed, same thread count).
    /// </summary>
    public void LoadCheckpoint(string path)
    {
        var ckpt = Checkpoint.Load(path);
        Model.LoadStateDict(ckpt.Model);
        for (int i = 0; i < optimizers.Length; i++) optimizers[i].LoadStateDict(OptimizerPart(ckpt, i));
        if (Scheduler != null && ckpt.SchedulerState.Count > 0) Scheduler.LoadStateDict(ckpt.SchedulerState);
        Epoch = (int)ckpt.Epoch;
        GlobalStep = ckpt.Step;
        RestoreLoopState(ckpt.TrainerState);
        if (ckpt.RngState != null) ckpt.RestoreRngState();
    }

    static OptimizerState OptimizerPart(Checkpoint ckpt, int index)
    {
        string prefix = $"{ExtraOptimizerPrefix}{index}.";
        bool Mine(string key) => index == 0 ? !key.StartsWith(ExtraOptimizerPrefix, StringComparison.Ordinal) : key.StartsWith(prefix, StringComparison.Ordinal);
        string Strip(string key) => index == 0 ? key : key[prefix.Length..];
        var part = new OptimizerState
        {
            Tensors = ckpt.OptimizerState.Where(kv => Mine(kv.Key)).ToDictionary(kv => Strip(kv.Key), kv => kv.Value),
            Scalars = ckpt.OptimizerScalars.Where(kv => Mine(kv.Key)).ToDictionary(kv => Strip(kv.Key), kv => kv.Value),
        };
        if (index > 0 && part.Scalars.Count == 0)
            throw new InvalidDataException($"Trainer.LoadCheckpoint: the checkpoint holds no state for optimizer {index} (it was saved by a trainer with fewer optimizers)");
        return part;
    }

    Dictionary<string, string> LoopState()
    {
        var state = (stream?.Snapshot() ?? resumePosition ?? StreamPosition.Start).ToState();
        state["batch_in_epoch"] = Text(batchInEpoch);
        state["seconds"] = Text(TrainingSeconds);
        state["skipped"] = Text(SkippedBatches);
        if (batchInEpoch > 0)
        {
            state["loss.sum"] = Text(epochLoss.State.Sum); state["loss.count"] = Text(epochLoss.State.Count);
            foreach (var (name, mean) in epochLogged) { state[$"logged.{name}.sum"] = Text(mean.State.Sum); state[$"logged.{name}.count"] = Text(mean.State.Count); }
        }
        return state;
    }

    void RestoreLoopState(IReadOnlyDictionary<string, string> state)
    {
        stream?.Dispose();
        stream = null;
        resumePosition = StreamPosition.FromState(state);
        accumulated = 0;
        trainingClock.Reset();
        batchInEpoch = (int)Number(state, "batch_in_epoch");
        secondsBefore = Number(state, "seconds");
        SkippedBatches = (long)Number(state, "skipped");
        epochLoss.Reset();
        epochLogged.Clear();
        if (batchInEpoch == 0) return;
        epochLoss.State = (Number(state, "loss.sum"), (long)Number(state, "loss.count"));
        foreach (var key in state.Keys.Where(k => k.StartsWith("logged.", StringComparison.Ordinal) && k.EndsWith(".sum", StringComparison.Ordinal)))
        {
            string name = key["logged.".Length..^".sum".Length];
            epochLogged[name] = new MeanValue(name) { State = (Number(state, key), (long)Number(state, $"logged.{name}.count")) };
        }
    }

    static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    static double Number(IReadOnlyDictionary<string, string> state, string key) =>
        !state.TryGetValue(key, out var text) ? 0
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value
        : throw new InvalidDataException($"Trainer.LoadCheckpoint: trainer state \"{key}\" is \"{text}\", not a number");
}
