using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Graphs;

/// <summary>Settings of a full-batch node-classification run (the PyG examples' defaults: Adam lr 0.01, weight decay 5e-4).</summary>
public sealed record NodeTrainingOptions(int Epochs = 200, double LearningRate = 0.01, double WeightDecay = 5e-4, int Hidden = 64, int Seed = 0, int Patience = 50);

/// <summary>The result: the test accuracy of the weights with the best validation accuracy, and the per-epoch logs.</summary>
public sealed record NodeTrainingResult(double TestAccuracy, double BestValidationAccuracy, int Epochs, List<Dictionary<string, double>> History);

/// <summary>Trains a <see cref="NodeClassifier"/> with the <see cref="Trainer"/>: one batch of training nodes per epoch; with a validation mask, early stopping on val_acc restores the best epoch's weights.</summary>
public static class NodeClassification
{
    /// <summary>Node ids where <paramref name="mask"/> is true, as an int64 tensor.</summary>
    public static Tensor Ids(Tensor mask) => mask.Nonzero().Reshape(-1);

    /// <summary>Runs the training and evaluates on the test mask (weights of the best validation epoch).</summary>
    public static NodeTrainingResult Run(GraphData graph, NodeModelKind kind, NodeTrainingOptions options, IProgressReporter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Y == null || graph.TrainMask == null || graph.TestMask == null)
            throw new ArgumentException("NodeClassification: the graph needs labels and train/test masks", nameof(graph));
        DeepSharp.Random.Seed(options.Seed);
        int classes = (int)graph.Y.Max().Item<long>() + 1;
        var model = new NodeClassifier(graph, kind, classes, options.Hidden);
        var optimizer = new Adam(model.Parameters(), lr: options.LearningRate, weightDecay: options.WeightDecay);
        var trainer = new Trainer(model, optimizer, (logits, y) => NN.F.CrossEntropy(logits, y), progress: progress);
        Tensor[] Batch(Tensor mask) { var ids = Ids(mask); return [ids, graph.Y.IndexSelect(0, ids)]; }
        var train = new[] { Batch(graph.TrainMask) };
        // without a validation mask (karate: one label per faction) the last epoch's weights are tested
        var val = graph.ValMask == null ? null : new[] { Batch(graph.ValMask) };
        var history = trainer.Fit(train, val, options.Epochs,
            val == null ? [] : [new EarlyStopping("val_acc", options.Patience, MonitorMode.Max, restoreBestWeights: true)]);
        double test = trainer.Evaluate(new[] { Batch(graph.TestMask) })["acc"];
        return new NodeTrainingResult(test, val == null ? double.NaN : history.Max(h => h["val_acc"]), history.Count, history);
    }
}
