using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// The inverted residual block of MobileNetV2 (torchvision.models.mobilenetv2.InvertedResidual): a 1×1 expansion to
/// inp·t channels (skipped when t = 1), a 3×3 depthwise convolution, each with batch norm and ReLU6, then a linear 1×1
/// projection with batch norm; the input is added back when the stride is 1 and the channels match.
/// </summary>
public sealed class InvertedResidual : Module<Tensor, Tensor>, IInferenceFusible
{
    readonly Sequential conv;

    /// <summary>Whether the block adds its input to its output (use_res_connect).</summary>
    public bool UseResConnect { get; }

    /// <summary>Builds the block (InvertedResidual(inp, oup, stride, expand_ratio)); stride must be 1 or 2.</summary>
    public InvertedResidual(int inp, int oup, int stride, int expandRatio)
    {
        if (stride is not (1 or 2)) throw new ArgumentException($"InvertedResidual: stride must be 1 or 2, got {stride}", nameof(stride));
        if (expandRatio <= 0) throw new ArgumentOutOfRangeException(nameof(expandRatio), $"InvertedResidual: expandRatio must be positive, got {expandRatio}");
        int hidden = inp * expandRatio;
        UseResConnect = stride == 1 && inp == oup;
        conv = new Sequential();
        if (expandRatio != 1) conv.Add(new Conv2dNormActivation(inp, hidden, kernelSize: 1, activation: () => new ReLU6()));
        conv.Add(new Conv2dNormActivation(hidden, hidden, stride: stride, groups: hidden, activation: () => new ReLU6()));
        conv.Add(new Conv2d(hidden, oup, 1, bias: false));
        conv.Add(new BatchNorm2d(oup));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => UseResConnect ? input.Add(conv.Call(input)) : conv.Call(input);

    /// <summary>
    /// The expansion and depthwise stages as fused convolutions (BN folded, ReLU6 in the epilogue), the projection with its
    /// BN folded and the input added in its epilogue (see <see cref="InferenceOptimizer"/>).
    /// </summary>
    public Module<Tensor, Tensor> FuseForInference()
    {
        var stages = new List<FusedConv2d>();
        for (int i = 0; i < conv.Count - 2; i++) stages.Add((FusedConv2d)InferenceOptimizer.Rewrite(conv[i]));
        var last = InferenceOptimizer.FuseConv((Conv2d)conv[conv.Count - 2], (BatchNorm2d)conv[conv.Count - 1], null);
        return UseResConnect ? new FusedResidualBlock(stages, last, null) : new Sequential([.. stages, last]);
    }
}

/// <summary>
/// MobileNetV2 (torchvision.models.MobileNetV2; Sandler et al. 2018): a stride-2 3×3 stem, 17 inverted residual blocks,
/// a 1×1 convolution to 1280 channels, global average pooling, dropout and a linear classifier. <c>widthMult</c> scales
/// every channel count (rounded to a multiple of <c>roundNearest</c> as torchvision's _make_divisible does; the last
/// 1280 only grows). State-dict keys and shapes match torchvision ("features.1.conv.0.0.weight", "classifier.1.bias");
/// initialisation too: convolutions kaiming_normal_(mode="fan_out") with zero bias, batch norm weight 1 and bias 0,
/// linear N(0, 0.01²) with zero bias.
/// </summary>
public sealed class MobileNetV2 : Module<Tensor, Tensor>, IClassifierModel, IInferenceFusible
{
    /// <summary>(expansion t, channels c, repeats n, first stride s) per stage, as in the paper and torchvision.</summary>
    static readonly int[][] settings =
    [
        [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
    ];

    readonly Sequential features;
    readonly Sequential classifier;

    /// <summary>Channels of the last feature map, fed to the classifier (last_channel).</summary>
    public int LastChannel { get; }
    /// <summary>Input channels of the stem convolution.</summary>
    public int InChannels { get; }

    /// <summary>Builds the network (torchvision.models.mobilenet_v2(num_classes=, width_mult=, round_nearest=, dropout=)).</summary>
    public MobileNetV2(int numClasses = 1000, int inChannels = 3, double widthMult = 1.0, int roundNearest = 8, double dropout = 0.2)
    {
        ZooChecks.Classes(numClasses, inChannels, nameof(MobileNetV2));
        if (!(widthMult > 0)) throw new ArgumentOutOfRangeException(nameof(widthMult), $"MobileNetV2: widthMult must be positive, got {widthMult}");
        if (roundNearest <= 0) throw new ArgumentOutOfRangeException(nameof(roundNearest), $"MobileNetV2: roundNearest must be positive, got {roundNearest}");
        InChannels = inChannels;
        int inputChannel = MakeDivisible(32 * widthMult, roundNearest);
        LastChannel = MakeDivisible(1280 * Math.Max(1.0, widthMult), roundNearest);
        features = new Sequential(new Conv2dNormActivation(inChannels, inputChannel, stride: 2, activation: () => new ReLU6()));
        foreach (var s in settings)
        {
            int outputChannel = MakeDivisible(s[1] * widthMult, roundNearest);
            for (int i = 0; i < s[2]; i++)
            {
                features.Add(new InvertedResidual(inputChannel, outputChannel, i == 0 ? s[3] : 1, s[0]));
                inputChannel = outputChannel;
            }
        }
        features.Add(new Conv2dNormActivation(inputChannel, LastChannel, kernelSize: 1, activation: () => new ReLU6()));
        classifier = new Sequential(new Dropout(dropout), new Linear(LastChannel, numClasses));

        ZooInit.KaimingFanOutConvNormalLinear(this);
    }

    /// <inheritdoc/>
    public int NumClasses => ((Linear)classifier[1]).OutFeatures;

    /// <summary>The classifier's linear layer, "classifier.1".</summary>
    public Module Head => classifier[1];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames { get; } = ["classifier.1"];

    /// <summary>Replaces "classifier.1" by a new Linear(last_channel, <paramref name="numClasses"/>), N(0, 0.01²) with zero bias as torchvision.</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, InChannels, nameof(MobileNetV2));
        var head = new Linear(LastChannel, numClasses);
        Init.Normal(head.Weight, 0, 0.01); Init.Zeros(head.Bias!);
        classifier[1] = head;
    }

    /// <summary>
    /// Rounds <paramref name="v"/> to the nearest multiple of <paramref name="divisor"/> (at least the divisor), going up a
    /// step when rounding lost more than 10% (torchvision.models._utils._make_divisible).
    /// </summary>
    public static int MakeDivisible(double v, int divisor)
    {
        int rounded = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * v ? rounded + divisor : rounded;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ZooChecks.Image(input, 1, nameof(MobileNetV2), InChannels);
        var x = features.Call(input);                          // (N, last_channel, H/32, W/32)
        x = F.AdaptiveAvgPool2d(x, 1).Flatten(1);              // (N, last_channel)
        return classifier.Call(x);                             // (N, classes)
    }

    /// <summary>Every block folded and fused (see <see cref="InferenceOptimizer"/>), then pooling and the prepacked classifier.</summary>
    public Module<Tensor, Tensor> FuseForInference() =>
        new FusedClassifier(new Sequential(InferenceOptimizer.RewriteSequence(features), new AdaptiveAvgPool2d(1), new Flatten(),
            InferenceOptimizer.RewriteSequence(classifier)), nameof(MobileNetV2), InChannels);
}
