using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// A multilayer perceptron for flattened images: Flatten, then Linear-ReLU blocks, then a Linear classifier
/// (the benchmark's 784-512-256-10 by default).
/// </summary>
public sealed class Mlp : Module<Tensor, Tensor>, IClassifierModel
{
    readonly Flatten flatten = new();
    readonly Sequential layers = new();

    /// <summary>Builds inputs → hidden... → classes.</summary>
    public Mlp(int inputs = 784, int[]? hidden = null, int classes = 10, double dropout = 0)
    {
        int width = inputs;
        foreach (var h in hidden ?? [512, 256])
        {
            layers.Add(new Linear(width, h)); layers.Add(new ReLU());
            if (dropout > 0) layers.Add(new Dropout(dropout));
            width = h;
        }
        layers.Add(new Linear(width, classes));
    }

    /// <inheritdoc/>
    public int NumClasses => ((Linear)layers[-1]).OutFeatures;

    /// <summary>The last Linear layer.</summary>
    public Module Head => layers[-1];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames => ["layers." + layers.Names[^1]];

    /// <summary>Replaces the last Linear layer by a new one for <paramref name="numClasses"/> classes (PyTorch's default initialisation).</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, 1, nameof(Mlp));
        layers[-1] = new Linear(((Linear)layers[-1]).InFeatures, numClasses);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => layers.Call(flatten.Call(input));
}

/// <summary>LeNet-5 for 28×28 inputs (LeCun et al. 1998, with ReLU and max pooling): conv 6@5×5 pad 2, pool, conv 16@5×5, pool, 120-84-classes.</summary>
public sealed class LeNet5 : Module<Tensor, Tensor>, IClassifierModel
{
    readonly Sequential features, classifier;

    /// <summary>Builds LeNet-5 for <paramref name="inChannels"/> input channels.</summary>
    public LeNet5(int classes = 10, int inChannels = 1)
    {
        features = new Sequential(new Conv2d(inChannels, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2),
            new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2));
        classifier = new Sequential(new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, classes));
    }

    /// <inheritdoc/>
    public int NumClasses => ((Linear)classifier[-1]).OutFeatures;

    /// <summary>The last Linear layer.</summary>
    public Module Head => classifier[-1];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames => ["classifier." + classifier.Names[^1]];

    /// <summary>Replaces the last Linear layer by a new Linear(84, <paramref name="numClasses"/>) (PyTorch's default initialisation).</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, 1, nameof(LeNet5));
        classifier[-1] = new Linear(84, numClasses);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => classifier.Call(features.Call(input));
}

/// <summary>
/// The Fashion-MNIST CNN of the benchmark: two conv blocks of 32 then 64 channels (3×3, pad 1, batch norm on the first
/// conv of each block, ReLU, 2×2 max pooling), then 3136-256-classes with dropout 0.5.
/// </summary>
public sealed class FashionCnn : Module<Tensor, Tensor>, IClassifierModel
{
    readonly Sequential features, classifier;

    /// <summary>Builds the network for 28×28 inputs.</summary>
    public FashionCnn(int classes = 10, int inChannels = 1, double dropout = 0.5)
    {
        features = new Sequential(
            new Conv2d(inChannels, 32, 3, padding: 1), new BatchNorm2d(32), new ReLU(),
            new Conv2d(32, 32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1), new BatchNorm2d(64), new ReLU(),
            new Conv2d(64, 64, 3, padding: 1), new ReLU(), new MaxPool2d(2));
        classifier = new Sequential(new Flatten(), new Linear(3136, 256), new ReLU(), new Dropout(dropout), new Linear(256, classes));
    }

    /// <inheritdoc/>
    public int NumClasses => ((Linear)classifier[-1]).OutFeatures;

    /// <summary>The last Linear layer.</summary>
    public Module Head => classifier[-1];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames => ["classifier." + classifier.Names[^1]];

    /// <summary>Replaces the last Linear layer by a new Linear(256, <paramref name="numClasses"/>) (PyTorch's default initialisation).</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, 1, nameof(FashionCnn));
        classifier[-1] = new Linear(256, numClasses);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => classifier.Call(features.Call(input));
}
