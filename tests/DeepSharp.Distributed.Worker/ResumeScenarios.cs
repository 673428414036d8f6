using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using static DeepSharp.Distributed.Worker.DdpScenarios;

namespace DeepSharp.Distributed.Worker;

/// <summary>
/// A checkpoint written by an N-rank run resumes on M ranks: args = save DIR (train epoch 1 on this world, rank 0 writes
/// DIR/ckpt-N.ckpt) or load DIR N (resume DIR/ckpt-N.ckpt on this world, train epoch 2, and compare with 2 uninterrupted
/// epochs in one process). The global batch is fixed, so the runs differ only in summation order.
/// </summary>
static class ResumeScenarios
{
    public static void Run(ProcessGroup g, string[] args)
    {
        string mode = args[0], dir = args[1];
        var data = DdpScenarios.Data();
        var model = BuildModel(mode == "save" ? 100 + g.Rank : 999);   // resuming: the weights must come from the checkpoint
        using var ddp = new DistributedDataParallel(model);
        var sampler = new DistributedSampler(Examples, seed: 3);
        var trainer = Trainer(ddp, sampler);
        var loader = new DataLoader(data, batchSize: GlobalBatch / g.WorldSize, sampler: sampler);
        if (mode == "save")
        {
            trainer.Fit(loader, null, TrainingBudget.Epochs(1), [new SetEpochCallback(sampler)]);
            if (g.IsMain) trainer.SaveCheckpoint(Path.Combine(dir, $"ckpt-{g.WorldSize}.ckpt"));
            g.Barrier();
            return;
        }
        trainer.LoadCheckpoint(Path.Combine(dir, $"ckpt-{args[2]}.ckpt"));
        Check.Equal(1, trainer.Epoch, "epoch after resuming");
        trainer.Fit(loader, null, TrainingBudget.Epochs(2), [new SetEpochCallback(sampler)]);

        var reference = BuildModel(100);
        var refSampler = new DistributedSampler(Examples, numReplicas: 1, rank: 0, seed: 3);
        Trainer(reference, refSampler).Fit(new DataLoader(data, batchSize: GlobalBatch, sampler: refSampler), null, TrainingBudget.Epochs(2), [new SetEpochCallback(refSampler)]);
        CompareParameters(reference, model, 5e-5, $"saved on {args[2]} ranks, resumed on {g.WorldSize}, vs one process");
    }

    static Trainer Trainer(Module<Tensor, Tensor> model, DistributedSampler sampler) =>
        new(model, new Adam(model.Parameters(), lr: 1e-2), F.CrossEntropy, metrics: []);
}
