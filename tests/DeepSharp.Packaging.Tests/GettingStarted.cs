namespace DeepSharp.Packaging.Tests;

/// <summary>The Program.cs of docs/getting-started.md (keep the two the same): a console program on the packages.</summary>
static class GettingStarted
{
    public const string Program = """
        using DeepSharp;
        using DeepSharp.Data;
        using DeepSharp.IO;
        using DeepSharp.NN;
        using DeepSharp.Optim;
        using DeepSharp.Training;
        using DeepSharp.Training.Metrics;

        DeepSharp.Random.Seed(0);
        // 1024 points in the square [-1, 1]²; class 1 inside the circle of radius 0.7, class 0 outside
        var x = Tensor.Rand(1024, 2) * 2 - 1;
        var y = ((x * x).Sum(1) < 0.49).Long();
        var loader = new DataLoader(new TensorDataset(x, y), batchSize: 64, shuffle: true);

        var model = new Net();
        var trainer = new Trainer(model, new Adam(model.Parameters(), lr: 0.01), F.CrossEntropy, metrics: [new Accuracy()]);
        trainer.Fit(loader, null, epochs: 40);
        var result = trainer.Evaluate(loader);
        Console.WriteLine($"accuracy: {result["acc"]:F3}");
        SafeTensors.Save("circle.safetensors", model.StateDict());
        Console.WriteLine($"saved circle.safetensors: {string.Join(", ", model.StateDict().Keys)}");

        sealed class Net : Module<Tensor, Tensor>
        {
            readonly Linear fc1 = new(2, 32);
            readonly Linear fc2 = new(32, 2);
            public override Tensor Forward(Tensor x) => fc2.Call(F.Relu(fc1.Call(x)));
        }
        """;
}
