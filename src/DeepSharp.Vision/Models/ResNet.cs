using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>Which residual block a <see cref="ResNet"/> stacks.</summary>
public enum ResNetBlock
{
    /// <summary>Two 3×3 convolutions, expansion 1 (<see cref="BasicBlock"/>; ResNet-18/34).</summary>
    Basic,
    /// <summary>1×1 → 3×3 → 1×1 convolutions, expansion 4 (<see cref="Bottleneck"/>; ResNet-50/101/152, ResNeXt, Wide ResNet).</summary>
    Bottleneck,
}

/// <summary>
/// The residual block of ResNet-18/34 (torchvision.models.resnet.BasicBlock): conv3×3-BN-ReLU-conv3×3-BN, plus the input
/// (through <c>downsample</c> when the shape changes), then ReLU.
/// </summary>
public sealed class BasicBlock : Module<Tensor, Tensor>, IInferenceFusible
{
    /// <summary>Output channels per <c>planes</c> (BasicBlock.expansion = 1).</summary>
    public const int Expansion = 1;

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu = new();
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Sequential? downsample;

    /// <summary>The last batch norm of the residual branch, which zero_init_residual sets to zero.</summary>
    internal BatchNorm2d LastNorm => bn2;

    /// <summary>Builds the block (BasicBlock(inplanes, planes, stride, downsample)).</summary>
    public BasicBlock(int inPlanes, int planes, int stride = 1, Sequential? downsample = null)
    {
        conv1 = ResNet.Conv3x3(inPlanes, planes, stride);
        bn1 = new BatchNorm2d(planes);
        conv2 = ResNet.Conv3x3(planes, planes);
        bn2 = new BatchNorm2d(planes);
        this.downsample = downsample;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var identity = downsample?.Call(input) ?? input;
        var x = relu.Call(bn1.Call(conv1.Call(input)));
        x = bn2.Call(conv2.Call(x));
        return relu.Call(x.Add(identity));
    }

    /// <summary>conv1+bn1+ReLU and conv2+bn2+residual+ReLU as two fused convolutions (see <see cref="InferenceOptimizer"/>).</summary>
    public Module<Tensor, Tensor> FuseForInference() =>
        new FusedResidualBlock([InferenceOptimizer.FuseConv(conv1, bn1, relu)], InferenceOptimizer.FuseConv(conv2, bn2, relu),
            downsample == null ? null : InferenceOptimizer.RewriteSequence(downsample));
}

/// <summary>
/// The bottleneck block of ResNet-50/101/152 (torchvision.models.resnet.Bottleneck, "ResNet V1.5": the stride sits on
/// the 3×3 convolution): conv1×1-BN-ReLU-conv3×3-BN-ReLU-conv1×1-BN, plus the input (through <c>downsample</c>), then
/// ReLU. The inner width is planes·(baseWidth/64)·groups, which gives ResNeXt and Wide ResNet.
/// </summary>
public sealed class Bottleneck : Module<Tensor, Tensor>, IInferenceFusible
{
    /// <summary>Output channels per <c>planes</c> (Bottleneck.expansion = 4).</summary>
    public const int Expansion = 4;

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Conv2d conv3;
    readonly BatchNorm2d bn3;
    readonly ReLU relu = new();
    readonly Sequential? downsample;

    /// <summary>The last batch norm of the residual branch, which zero_init_residual sets to zero.</summary>
    internal BatchNorm2d LastNorm => bn3;

    /// <summary>Builds the block (Bottleneck(inplanes, planes, stride, downsample, groups, base_width)).</summary>
    public Bottleneck(int inPlanes, int planes, int stride = 1, Sequential? downsample = null, int groups = 1, int baseWidth = 64)
    {
        int width = (int)(planes * (baseWidth / 64.0)) * groups;
        conv1 = ResNet.Conv1x1(inPlanes, width);
        bn1 = new BatchNorm2d(width);
        conv2 = ResNet.Conv3x3(width, width, stride, groups);
        bn2 = new BatchNorm2d(width);
        conv3 = ResNet.Conv1x1(width, planes * Expansion);
        bn3 = new BatchNorm2d(planes * Expansion);
        this.downsample = downsample;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var identity = downsample?.Call(input) ?? input;
        var x = relu.Call(bn1.Call(conv1.Call(input)));
        x = relu.Call(bn2.Call(conv2.Call(x)));
        x = bn3.Call(conv3.Call(x));
        return relu.Call(x.Add(identity));
    }

    /// <summary>The three conv+bn(+ReLU) stages as fused convolutions, the residual and last ReLU in the third's epilogue.</summary>
    public Module<Tensor, Tensor> FuseForInference() =>
        new FusedResidualBlock([InferenceOptimizer.FuseConv(conv1, bn1, relu), InferenceOptimizer.FuseConv(conv2, bn2, relu)],
            InferenceOptimizer.FuseConv(conv3, bn3, relu), downsample == null ? null : InferenceOptimizer.RewriteSequence(downsample));
}

/// <summary>
/// ResNet (torchvision.models.ResNet; He et al. 2015): a 7×7 stride-2 stem with max pooling, four stages of residual
/// blocks at 64/128/256/512 planes (stages 2–4 halve the resolution), global average pooling and a linear classifier.
/// State-dict keys and shapes match torchvision ("layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "fc.bias").
/// Initialisation as torchvision: convolutions kaiming_normal_(mode="fan_out", nonlinearity="relu"), batch norm weight 1
/// and bias 0, the classifier PyTorch's Linear default; <c>zeroInitResidual</c> zeroes the last batch norm weight of
/// every block so each block starts as the identity.
/// <para>
/// Two options beyond torchvision, for small images such as 28×28 or 32×32 (both off by default, which gives torchvision's
/// model): <c>smallInputStem</c> replaces the 7×7 stride-2 stem and its max pooling by a 3×3 stride-1 convolution (the
/// CIFAR ResNets of He et al.), so stage 1 runs at full resolution; <c>baseChannels</c> scales every width (64 → e.g. 16:
/// stages of 16/32/64/128 planes). Keys stay the same; shapes follow the widths.
/// </para>
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>, IClassifierModel, IInferenceFusible
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu = new();
    readonly MaxPool2d maxpool = new(3, stride: 2, padding: 1);
    readonly Sequential layer1, layer2, layer3, layer4;
    readonly AdaptiveAvgPool2d avgpool = new(1);
    Linear fc;

    int inPlanes;

    /// <summary>The residual block kind.</summary>
    public ResNetBlock Block { get; }
    /// <summary>Input channels of the stem convolution.</summary>
    public int InChannels { get; }
    /// <summary>Planes of the first stage (64 in torchvision); stages have 1, 2, 4 and 8 times as many.</summary>
    public int BaseChannels { get; }
    /// <summary>Whether the stem is a 3×3 stride-1 convolution without max pooling (for small images) instead of 7×7 stride 2 + pooling.</summary>
    public bool SmallInputStem { get; }
    /// <inheritdoc/>
    public int NumClasses => fc.OutFeatures;

    /// <summary>
    /// Builds a ResNet of <paramref name="layers"/>[i] blocks per stage (torchvision.models.ResNet(block, layers,
    /// num_classes, zero_init_residual, groups, width_per_group)). <paramref name="groups"/> and
    /// <paramref name="widthPerGroup"/> other than 1 and 64 need bottleneck blocks (ResNeXt, Wide ResNet).
    /// <paramref name="baseChannels"/> (64) and <paramref name="smallInputStem"/> (false) are DeepSharp options for small
    /// images; their defaults give torchvision's architecture.
    /// </summary>
    public ResNet(ResNetBlock block, int[] layers, int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false,
        int groups = 1, int widthPerGroup = 64, int baseChannels = 64, bool smallInputStem = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Length != 4 || layers.Any(n => n <= 0))
            throw new ArgumentException($"ResNet: layers must be four positive block counts, got [{string.Join(", ", layers)}]", nameof(layers));
        if (block == ResNetBlock.Basic && (groups != 1 || widthPerGroup != 64))
            throw new ArgumentException($"ResNet: BasicBlock only supports groups=1 and widthPerGroup=64, got {groups} and {widthPerGroup}", nameof(groups));
        if (groups <= 0 || widthPerGroup <= 0)
            throw new ArgumentOutOfRangeException(nameof(groups), $"ResNet: groups ({groups}) and widthPerGroup ({widthPerGroup}) must be positive");
        if (baseChannels <= 0) throw new ArgumentOutOfRangeException(nameof(baseChannels), $"ResNet: baseChannels must be positive, got {baseChannels}");
        ZooChecks.Classes(numClasses, inChannels, "ResNet");
        Block = block; InChannels = inChannels; BaseChannels = baseChannels; SmallInputStem = smallInputStem;
        inPlanes = baseChannels;
        conv1 = smallInputStem
            ? new Conv2d(inChannels, baseChannels, 3, stride: 1, padding: 1, bias: false)
            : new Conv2d(inChannels, baseChannels, 7, stride: 2, padding: 3, bias: false);
        bn1 = new BatchNorm2d(baseChannels);
        layer1 = MakeLayer(block, baseChannels, layers[0], 1, groups, widthPerGroup);
        layer2 = MakeLayer(block, 2 * baseChannels, layers[1], 2, groups, widthPerGroup);
        layer3 = MakeLayer(block, 4 * baseChannels, layers[2], 2, groups, widthPerGroup);
        layer4 = MakeLayer(block, 8 * baseChannels, layers[3], 2, groups, widthPerGroup);
        fc = new Linear(8 * baseChannels * Expansion(block), numClasses);

        foreach (var m in Modules())
        {
            if (m is Conv2d conv) Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.ReLU);
            else if (m is BatchNorm2d bn) { Init.Ones(bn.Weight!); Init.Zeros(bn.Bias!); }
        }
        if (zeroInitResidual)
            foreach (var m in Modules())
            {
                if (m is BasicBlock basic) Init.Zeros(basic.LastNorm.Weight!);
                else if (m is Bottleneck bottleneck) Init.Zeros(bottleneck.LastNorm.Weight!);
            }
    }

    /// <summary>The classifier "fc".</summary>
    public Module Head => fc;

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames { get; } = ["fc"];

    /// <summary>Replaces "fc" by a new Linear for <paramref name="numClasses"/> classes with PyTorch's default initialisation (model.fc = nn.Linear(...)).</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, InChannels, "ResNet");
        fc = new Linear(fc.InFeatures, numClasses);
    }

    /// <summary>
    /// ResNet-18 for small images such as 28×28 or 32×32 (a DeepSharp variant, not in torchvision): basic blocks
    /// [2, 2, 2, 2], a 3×3 stride-1 stem without max pooling, stages of <paramref name="baseChannels"/>·(1, 2, 4, 8) planes.
    /// </summary>
    public static ResNet ResNet18Small(int numClasses = 10, int inChannels = 3, int baseChannels = 64, bool zeroInitResidual = false) =>
        new(ResNetBlock.Basic, [2, 2, 2, 2], numClasses, inChannels, zeroInitResidual, baseChannels: baseChannels, smallInputStem: true);

    static int Expansion(ResNetBlock block) => block == ResNetBlock.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;

    Sequential MakeLayer(ResNetBlock block, int planes, int blocks, int stride, int groups, int baseWidth)
    {
        int outPlanes = planes * Expansion(block);
        Sequential? downsample = null;
        if (stride != 1 || inPlanes != outPlanes)
            downsample = new Sequential(Conv1x1(inPlanes, outPlanes, stride), new BatchNorm2d(outPlanes));
        var layer = new Sequential();
        for (int i = 0; i < blocks; i++)
        {
            layer.Add(block == ResNetBlock.Basic
                ? new BasicBlock(inPlanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null)
                : new Bottleneck(inPlanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, groups, baseWidth));
            inPlanes = outPlanes;
        }
        return layer;
    }

    /// <summary>3×3 convolution with padding 1 and no bias (torchvision's conv3x3).</summary>
    internal static Conv2d Conv3x3(int inPlanes, int outPlanes, int stride = 1, int groups = 1) =>
        new(inPlanes, outPlanes, 3, stride: stride, padding: 1, groups: groups, bias: false);

    /// <summary>1×1 convolution with no bias (torchvision's conv1x1).</summary>
    internal static Conv2d Conv1x1(int inPlanes, int outPlanes, int stride = 1) => new(inPlanes, outPlanes, 1, stride: stride, bias: false);

    /// <summary>ResNet-18: basic blocks [2, 2, 2, 2] (torchvision.models.resnet18).</summary>
    public static ResNet ResNet18(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Basic, [2, 2, 2, 2], numClasses, inChannels, zeroInitResidual);
    /// <summary>ResNet-34: basic blocks [3, 4, 6, 3] (torchvision.models.resnet34).</summary>
    public static ResNet ResNet34(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Basic, [3, 4, 6, 3], numClasses, inChannels, zeroInitResidual);
    /// <summary>ResNet-50: bottlenecks [3, 4, 6, 3] (torchvision.models.resnet50).</summary>
    public static ResNet ResNet50(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, zeroInitResidual);
    /// <summary>ResNet-101: bottlenecks [3, 4, 23, 3] (torchvision.models.resnet101).</summary>
    public static ResNet ResNet101(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 23, 3], numClasses, inChannels, zeroInitResidual);
    /// <summary>ResNet-152: bottlenecks [3, 8, 36, 3] (torchvision.models.resnet152).</summary>
    public static ResNet ResNet152(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 8, 36, 3], numClasses, inChannels, zeroInitResidual);
    /// <summary>ResNeXt-50 32×4d: bottlenecks [3, 4, 6, 3], 32 groups of width 4 (torchvision.models.resnext50_32x4d).</summary>
    public static ResNet ResNeXt50_32x4d(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, zeroInitResidual, groups: 32, widthPerGroup: 4);
    /// <summary>ResNeXt-101 32×8d (torchvision.models.resnext101_32x8d).</summary>
    public static ResNet ResNeXt101_32x8d(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 23, 3], numClasses, inChannels, zeroInitResidual, groups: 32, widthPerGroup: 8);
    /// <summary>ResNeXt-101 64×4d (torchvision.models.resnext101_64x4d).</summary>
    public static ResNet ResNeXt101_64x4d(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 23, 3], numClasses, inChannels, zeroInitResidual, groups: 64, widthPerGroup: 4);
    /// <summary>Wide ResNet-50-2: bottlenecks twice as wide inside (torchvision.models.wide_resnet50_2).</summary>
    public static ResNet WideResNet50_2(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, zeroInitResidual, widthPerGroup: 128);
    /// <summary>Wide ResNet-101-2 (torchvision.models.wide_resnet101_2).</summary>
    public static ResNet WideResNet101_2(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlock.Bottleneck, [3, 4, 23, 3], numClasses, inChannels, zeroInitResidual, widthPerGroup: 128);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ZooChecks.Image(input, 1, "ResNet", InChannels);
        var x = relu.Call(bn1.Call(conv1.Call(input)));                  // (N, 64, H/2, W/2); small stem: (N, base, H, W)
        if (!SmallInputStem) x = maxpool.Call(x);                       // (N, 64, H/4, W/4)
        x = layer4.Call(layer3.Call(layer2.Call(layer1.Call(x))));      // (N, 512·expansion, H/32, W/32); small stem: H/8
        x = avgpool.Call(x).Flatten(1);                                 // (N, 8·base·expansion)
        return fc.Call(x);                                              // (N, classes)
    }

    /// <summary>
    /// The stem conv+bn1+ReLU as one fused convolution, every block folded (<see cref="BasicBlock.FuseForInference"/>), the
    /// classifier prepacked (see <see cref="InferenceOptimizer"/>).
    /// </summary>
    public Module<Tensor, Tensor> FuseForInference()
    {
        var stem = new List<Module<Tensor, Tensor>> { InferenceOptimizer.FuseConv(conv1, bn1, relu) };
        if (!SmallInputStem) stem.Add(maxpool);
        foreach (var layer in new[] { layer1, layer2, layer3, layer4 }) stem.Add(InferenceOptimizer.RewriteSequence(layer));
        stem.Add(avgpool);
        stem.Add(new Flatten());
        stem.Add(InferenceOptimizer.Rewrite(fc));
        return new FusedClassifier(new Sequential(stem.ToArray()), "ResNet", InChannels);
    }
}
