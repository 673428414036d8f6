using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// VGG (torchvision.models.VGG; Simonyan &amp; Zisserman 2014): stacks of 3×3 convolutions (optionally each followed by batch
/// norm) separated by 2×2 max pooling, adaptive average pooling to 7×7, then a 25088-4096-4096-classes classifier with
/// dropout. Depth 11, 13, 16 or 19 picks torchvision's configuration "A", "B", "D" or "E". State-dict keys and shapes
/// match torchvision ("features.0.weight", "classifier.6.bias"). Initialisation as torchvision: convolutions
/// kaiming_normal_(mode="fan_out", nonlinearity="relu") with zero bias, batch norm weight 1 and bias 0, linear layers
/// N(0, 0.01²) with zero bias. Inputs must be at least 32×32 (five poolings).
/// </summary>
public sealed class VGG : Module<Tensor, Tensor>, IClassifierModel
{
    /// <summary>Channel counts per convolution, 0 marking a max pooling (torchvision's cfgs, "M" written as 0).</summary>
    static readonly Dictionary<int, int[]> configs = new()
    {
        [11] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [13] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [16] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        [19] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    };

    readonly Sequential features;
    readonly AdaptiveAvgPool2d avgpool = new(7);
    readonly Sequential classifier;
    readonly bool initialised;

    /// <summary>Number of weight layers: 11, 13, 16 or 19.</summary>
    public int Depth { get; }
    /// <summary>Whether each convolution is followed by batch norm (the "_bn" variants).</summary>
    public bool BatchNorm { get; }
    /// <summary>Input channels of the first convolution.</summary>
    public int InChannels { get; }

    /// <summary>
    /// Builds VGG-<paramref name="depth"/> (torchvision.models.vgg11 … vgg19_bn with num_classes=, dropout=). With
    /// <paramref name="initWeights"/> false the layers keep PyTorch's defaults (torchvision's init_weights=False).
    /// </summary>
    public VGG(int depth = 16, bool batchNorm = false, int numClasses = 1000, int inChannels = 3, double dropout = 0.5, bool initWeights = true)
    {
        initialised = initWeights;
        if (!configs.TryGetValue(depth, out var config))
            throw new ArgumentException($"VGG: depth must be 11, 13, 16 or 19, got {depth}", nameof(depth));
        ZooChecks.Classes(numClasses, inChannels, $"VGG{depth}");
        Depth = depth; BatchNorm = batchNorm; InChannels = inChannels;
        // torchvision's init overwrites every convolution and linear parameter, so with it the layers' default draws
        // (138 M uniforms for VGG-16) are skipped
        using (initWeights ? Init.SkipDefaultInit() : null)
        {
            features = MakeLayers(config, batchNorm, inChannels);
            classifier = new Sequential(
                new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(dropout),
                new Linear(4096, 4096), new ReLU(), new Dropout(dropout),
                new Linear(4096, numClasses));
        }
        if (initWeights) InitWeights();
    }

    static Sequential MakeLayers(int[] config, bool batchNorm, int inChannels)
    {
        var layers = new Sequential();
        int channels = inChannels;
        foreach (int v in config)
        {
            if (v == 0) { layers.Add(new MaxPool2d(2, stride: 2)); continue; }
            layers.Add(new Conv2d(channels, v, 3, padding: 1));
            if (batchNorm) layers.Add(new BatchNorm2d(v));
            layers.Add(new ReLU());
            channels = v;
        }
        return layers;
    }

    void InitWeights()
    {
        ZooInit.KaimingFanOutConvNormalLinear(this);
    }

    /// <inheritdoc/>
    public int NumClasses => ((Linear)classifier[6]).OutFeatures;

    /// <summary>The classifier's last layer, "classifier.6".</summary>
    public Module Head => classifier[6];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames { get; } = ["classifier.6"];

    /// <summary>
    /// Replaces "classifier.6" by a new Linear(4096, <paramref name="numClasses"/>), N(0, 0.01²) with zero bias as torchvision
    /// initialises it (PyTorch's Linear default when the model was built with initWeights: false).
    /// </summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, InChannels, $"VGG{Depth}");
        var head = new Linear(4096, numClasses);
        if (initialised) { Init.Normal(head.Weight, 0, 0.01); Init.Zeros(head.Bias!); }
        classifier[6] = head;
    }

    /// <summary>VGG-11, configuration "A" (torchvision.models.vgg11).</summary>
    public static VGG Vgg11(int numClasses = 1000, int inChannels = 3) => new(11, false, numClasses, inChannels);
    /// <summary>VGG-11 with batch norm (torchvision.models.vgg11_bn).</summary>
    public static VGG Vgg11Bn(int numClasses = 1000, int inChannels = 3) => new(11, true, numClasses, inChannels);
    /// <summary>VGG-13, configuration "B" (torchvision.models.vgg13).</summary>
    public static VGG Vgg13(int numClasses = 1000, int inChannels = 3) => new(13, false, numClasses, inChannels);
    /// <summary>VGG-13 with batch norm (torchvision.models.vgg13_bn).</summary>
    public static VGG Vgg13Bn(int numClasses = 1000, int inChannels = 3) => new(13, true, numClasses, inChannels);
    /// <summary>VGG-16, configuration "D" (torchvision.models.vgg16).</summary>
    public static VGG Vgg16(int numClasses = 1000, int inChannels = 3) => new(16, false, numClasses, inChannels);
    /// <summary>VGG-16 with batch norm (torchvision.models.vgg16_bn).</summary>
    public static VGG Vgg16Bn(int numClasses = 1000, int inChannels = 3) => new(16, true, numClasses, inChannels);
    /// <summary>VGG-19, configuration "E" (torchvision.models.vgg19).</summary>
    public static VGG Vgg19(int numClasses = 1000, int inChannels = 3) => new(19, false, numClasses, inChannels);
    /// <summary>VGG-19 with batch norm (torchvision.models.vgg19_bn).</summary>
    public static VGG Vgg19Bn(int numClasses = 1000, int inChannels = 3) => new(19, true, numClasses, inChannels);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ZooChecks.Image(input, 32, $"VGG{Depth}", InChannels);
        var x = features.Call(input);        // (N, 512, H/32, W/32)
        x = avgpool.Call(x).Flatten(1);      // (N, 25088)
        return classifier.Call(x);           // (N, classes)
    }
}
