using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Metrics;

namespace DeepSharp.Graphs;

/// <summary>Trains a <see cref="GraphClassifier"/> on mini-batches of graphs with the <see cref="Trainer"/> (a custom step).</summary>
public static class GraphClassification
{
    /// <summary>A batch as the Trainer's tensor array: [x, edgeIndex, batch, y].</summary>
    public static Tensor[] ToTensors(GraphBatch b) => [b.X, b.EdgeIndex, b.Batch, b.Y ?? throw new ArgumentException("GraphClassification: graphs need labels")];

    static GraphBatch FromTensors(Tensor[] t) => new()
    {
        X = t[0], EdgeIndex = t[1], Batch = t[2], Y = t[3], NumGraphs = t[3].Shape[0], Ptr = [],
    };

    /// <summary>Trains for <paramref name="epochs"/> epochs (Adam, lr 0.01, batch 32) and returns the test accuracy.</summary>
    public static double Run(IReadOnlyList<GraphData> train, IReadOnlyList<GraphData> test, bool useEdges, int epochs, int seed = 0, int hidden = 32, IProgressReporter? progress = null)
    {
        DeepSharp.Random.Seed(seed);
        int classes = (int)train.Max(g => g.Y!.Max().Item<long>()) + 1;
        var model = new GraphClassifier(train[0].NumFeatures, hidden, classes, useEdges: useEdges);
        var trainer = new Trainer(model, new Adam(model.Parameters(), lr: 0.01), ctx =>
        {
            var logits = model.Call(FromTensors(ctx.Batch));
            ctx.UpdateMetrics(logits, ctx.Batch[3]);
            return NN.F.CrossEntropy(logits, ctx.Batch[3]);
        }, metrics: [new Accuracy()], progress: progress);
        var trainBatches = new GraphLoader(train, 32, shuffle: true, seed: seed).Select(ToTensors);
        trainer.Fit(trainBatches, null, epochs);
        return trainer.Evaluate(new GraphLoader(test, 64).Select(ToTensors).ToArray())["acc"];
    }
}
