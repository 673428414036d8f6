using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// AlexNet (torchvision.models.AlexNet; Krizhevsky et al. 2012, in the one-GPU variant of "One weird trick", arXiv:1404.5997).
/// Five convolutions with max pooling, adaptive average pooling to 6×6, then a 9216-4096-4096-classes classifier with dropout.
/// State-dict keys and shapes match torchvision ("features.0.weight" … "classifier.6.bias"); every layer keeps PyTorch's
/// default initialisation, as torchvision does. Inputs must be at least 63×63.
/// </summary>
public sealed class AlexNet : Module<Tensor, Tensor>, IClassifierModel
{
    readonly Sequential features;
    readonly AdaptiveAvgPool2d avgpool = new(6);
    readonly Sequential classifier;

    /// <summary>Builds the network (torchvision.models.alexnet(num_classes=, dropout=)), for <paramref name="inChannels"/>-channel images.</summary>
    public AlexNet(int numClasses = 1000, int inChannels = 3, double dropout = 0.5)
    {
        ZooChecks.Classes(numClasses, inChannels, nameof(AlexNet));
        features = new Sequential(
            new Conv2d(inChannels, 64, 11, stride: 4, padding: 2), new ReLU(), new MaxPool2d(3, stride: 2),
            new Conv2d(64, 192, 5, padding: 2), new ReLU(), new MaxPool2d(3, stride: 2),
            new Conv2d(192, 384, 3, padding: 1), new ReLU(),
            new Conv2d(384, 256, 3, padding: 1), new ReLU(),
            new Conv2d(256, 256, 3, padding: 1), new ReLU(), new MaxPool2d(3, stride: 2));
        classifier = new Sequential(
            new Dropout(dropout), new Linear(256 * 6 * 6, 4096), new ReLU(),
            new Dropout(dropout), new Linear(4096, 4096), new ReLU(),
            new Linear(4096, numClasses));
    }

    /// <inheritdoc/>
    public int NumClasses => ((Linear)classifier[6]).OutFeatures;

    /// <summary>The classifier's last layer, "classifier.6".</summary>
    public Module Head => classifier[6];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames { get; } = ["classifier.6"];

    /// <summary>Replaces "classifier.6" by a new Linear(4096, <paramref name="numClasses"/>) with PyTorch's default initialisation.</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, 1, nameof(AlexNet));
        classifier[6] = new Linear(4096, numClasses);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ZooChecks.Image(input, 63, nameof(AlexNet), ((Conv2d)features[0]).InChannels);
        var x = features.Call(input);        // (N, 256, h, w)
        x = avgpool.Call(x).Flatten(1);      // (N, 9216)
        return classifier.Call(x);           // (N, classes)
    }
}
