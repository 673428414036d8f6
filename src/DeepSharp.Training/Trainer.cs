using System.Diagnostics;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training.Callbacks;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Training;

/// <summary>
/// The training loop (Keras's Model.fit / Lightning's Trainer): <see cref="Fit"/> trains for a number of epochs with
/// validation, metrics, callbacks and a progress display; <see cref="Evaluate"/> and <see cref="Predict"/> run the model
/// without gradients. Each steady-state step runs inside a <see cref="TensorScope"/>, so its temporaries are recycled and
/// a step allocates next to nothing.
/// </summary>
public sealed class Trainer
{
    readonly Func<Tensor, Tensor, Tensor> lossFunction;
    readonly List<IMetric> metrics;

    /// <summary>Creates a trainer for <paramref name="model"/> optimised by <paramref name="optimizer"/> on <paramref name="loss"/>(output, target).</summary>
    public Trainer(Module<Tensor, Tensor> model, Optimizer optimizer, Func<Tensor, Tensor, Tensor> loss, IEnumerable<IMetric>? metrics = null, IProgressReporter? progress = null)
    {
        Model = model; Optimizer = optimizer; lossFunction = loss;
        this.metrics = metrics?.ToList() ?? [new Accuracy()];
        Progress = progress ?? Training.Progress.ForConsole();
    }

    /// <summary>The model being trained.</summary>
    public Module<Tensor, Tensor> Model { get; }
    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>An LR scheduler stepped after every batch (OneCycleLR, warm-up) or every epoch (StepLR ...), see <see cref="StepSchedulerPerBatch"/>.</summary>
    public LRScheduler? Scheduler { get; set; }
    /// <summary>Step <see cref="Scheduler"/> after each batch (true) or each epoch (false, the default).</summary>
    public bool StepSchedulerPerBatch { get; set; }
    /// <summary>When set, gradients are scaled so that their global L2 norm is at most this value before each optimizer
    /// step (torch.nn.utils.clip_grad_norm_; Lightning's gradient_clip_val). Null (the default) leaves them alone.</summary>
    public double? ClipGradNorm { get; set; }
    /// <summary>Where progress goes.</summary>
    public IProgressReporter Progress { get; set; }
    /// <summary>The metrics computed on training and validation data.</summary>
    public IReadOnlyList<IMetric> Metrics => metrics;
    /// <summary>The last completed epoch (1-based; 0 before training).</summary>
    public int Epoch { get; private set; }
    /// <summary>Optimizer steps taken so far.</summary>
    public long GlobalStep { get; private set; }
    /// <summary>Set by a callback (early stopping) to end <see cref="Fit"/> after the current epoch.</summary>
    public bool StopTraining { get; set; }
    /// <summary>Per-epoch logs of the last <see cref="Fit"/>: "loss", "acc", "val_loss", "val_acc", "lr", ...</summary>
    public List<Dictionary<string, double>> History { get; } = new();

    /// <summary>
    /// Trains until epoch <paramref name="epochs"/> (continuing from <see cref="Epoch"/> after a resumed checkpoint).
    /// Batches are (input, target) tensor pairs, e.g. from a <c>DataLoader</c>.
    /// </summary>
    public List<Dictionary<string, double>> Fit(IEnumerable<Tensor[]> train, IEnumerable<Tensor[]>? validation = null, int epochs = 1,
        IEnumerable<ICallback>? callbacks = null)
    {
        var cbs = callbacks?.ToList() ?? [];
        StopTraining = false;
        foreach (var cb in cbs) cb.OnTrainBegin(this);
        int batchesPerEpoch = train is System.Collections.ICollection c ? c.Count : train is Data.DataLoader dl ? dl.Count : 0;
        var lossMean = new MeanValue();
        while (Epoch < epochs && !StopTraining)
        {
            int epoch = Epoch + 1;
            foreach (var cb in cbs) cb.OnEpochBegin(this, epoch);
            Model.Train();
            lossMean.Reset();
            foreach (var m in metrics) m.Reset();
            Progress.EpochStarted(epoch, epochs, batchesPerEpoch);
            var clock = Stopwatch.StartNew();
            long examples = 0;
            int batch = 0;
            var running = new Dictionary<string, double>();
            foreach (var pair in train)
            {
                var (x, y) = Unpack(pair);
                double lossValue = TrainStep(x, y);
                lossMean.Add(lossValue, x.Shape[0]);
                examples += x.Shape[0];
                batch++;
                if (Scheduler != null && StepSchedulerPerBatch) Scheduler.Step();
                running["loss"] = lossMean.Compute();
                foreach (var m in metrics) running[m.Name] = m.Compute();
                Progress.BatchFinished(batch, running, examples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
                foreach (var cb in cbs) cb.OnBatchEnd(this, batch, lossValue);
            }
            var logs = new Dictionary<string, double> { ["loss"] = lossMean.Compute() };
            foreach (var m in metrics) logs[m.Name] = m.Compute();
            if (validation != null)
                foreach (var (k, v) in Evaluate(validation)) logs["val_" + k] = v;
            logs["lr"] = Optimizer.ParamGroups[0].Lr;
            if (Scheduler != null && !StepSchedulerPerBatch) Scheduler.Step();
            Epoch = epoch;
            History.Add(logs);
            Progress.EpochFinished(epoch, logs, clock.Elapsed);
            foreach (var cb in cbs) cb.OnEpochEnd(this, epoch, logs);
        }
        foreach (var cb in cbs) cb.OnTrainEnd(this);
        return History;
    }

    static (Tensor X, Tensor Y) Unpack(Tensor[] batch) => batch.Length >= 2 ? (batch[0], batch[1])
        : throw new ArgumentException($"Trainer: each batch must hold (input, target) tensors, got {batch.Length} tensor(s)");

    /// <summary>One optimisation step on a batch; returns the loss. Steps after the first run inside a <see cref="TensorScope"/>.</summary>
    public double TrainStep(Tensor x, Tensor y)
    {
        // The first step creates gradients and optimizer state normally; later ones recycle their temporaries.
        using var scope = GlobalStep == 0 ? null : TensorScope.Begin();
        Optimizer.ZeroGrad(setToNone: GlobalStep == 0);
        var output = Model.Call(x);
        var loss = lossFunction(output, y);
        if (loss.NumEl != 1) throw new InvalidOperationException($"Trainer: the loss must be a scalar, got shape ({string.Join(", ", loss.Shape)}); use a mean or sum reduction");
        loss.Backward();
        if (ClipGradNorm is double maxNorm) GradClip.ClipGradNorm(Optimizer.Parameters(), maxNorm);
        Optimizer.Step();
        GlobalStep++;
        double value = loss.Item();
        if (double.IsNaN(value)) throw new InvalidOperationException($"Trainer: the loss became NaN at step {GlobalStep}; lower the learning rate or check the data");
        foreach (var m in metrics) m.Update(output, y);
        return value;
    }

    /// <summary>Loss and metrics over <paramref name="data"/> in eval mode without gradients (Keras's evaluate).</summary>
    public Dictionary<string, double> Evaluate(IEnumerable<Tensor[]> data)
    {
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        var lossMean = new MeanValue();
        var evalMetrics = metrics.Select(m => m).ToList();
        foreach (var m in evalMetrics) m.Reset();
        using (Autograd.NoGrad())
            foreach (var pair in data)
            {
                var (x, y) = Unpack(pair);
                using var scope = TensorScope.Begin();
                var output = Model.Call(x);
                lossMean.Add(lossFunction(output, y).Item(), x.Shape[0]);
                foreach (var m in evalMetrics) m.Update(output, y);
            }
        Model.Train(wasTraining);
        var result = new Dictionary<string, double> { ["loss"] = lossMean.Compute() };
        foreach (var m in evalMetrics) result[m.Name] = m.Compute();
        return result;
    }

    /// <summary>Model outputs for every batch's input, concatenated along dim 0 (Keras's predict).</summary>
    public Tensor Predict(IEnumerable<Tensor[]> data)
    {
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        var outputs = new List<Tensor>();
        using (Autograd.NoGrad())
            foreach (var batch in data) outputs.Add(Model.Call(batch[0]));
        Model.Train(wasTraining);
        return Tensor.Cat(outputs.ToArray(), 0);
    }

    /// <summary>Saves model, optimizer, scheduler, epoch, step and RNG state in one file, atomically.</summary>
    public void SaveCheckpoint(string path)
    {
        var optimizerState = Optimizer.StateDict();
        Checkpoint.Save(path, Model.StateDict(), optimizerState.Tensors, optimizerState.Scalars, Scheduler?.StateDict(), Epoch, GlobalStep);
    }

    /// <summary>Restores everything <see cref="SaveCheckpoint"/> wrote, so a following <see cref="Fit"/> continues the same run.</summary>
    public void LoadCheckpoint(string path)
    {
        var ckpt = Checkpoint.Load(path);
        Model.LoadStateDict(ckpt.Model);
        Optimizer.LoadStateDict(new OptimizerState { Tensors = ckpt.OptimizerState, Scalars = ckpt.OptimizerScalars });
        if (Scheduler != null && ckpt.SchedulerState.Count > 0) Scheduler.LoadStateDict(ckpt.SchedulerState);
        Epoch = (int)ckpt.Epoch; GlobalStep = ckpt.Step;
        ckpt.RestoreRngState();
    }
}
