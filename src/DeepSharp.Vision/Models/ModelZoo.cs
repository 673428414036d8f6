using DeepSharp.IO;
using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>One entry of the <see cref="ModelZoo"/>.</summary>
/// <param name="Name">The registry name, torchvision's builder name where there is one ("resnet18", "vgg16_bn").</param>
/// <param name="Family">The architecture family ("ResNet", "VGG", ...).</param>
/// <param name="Description">A one-line description.</param>
/// <param name="MinInputSize">The smallest height and width the model accepts.</param>
/// <param name="DefaultInputSize">The image size the model was designed for (224 for the ImageNet models).</param>
/// <param name="Factory">Builds the model from (numClasses, inChannels).</param>
public sealed record ModelInfo(string Name, string Family, string Description, int MinInputSize, int DefaultInputSize,
    Func<int, int, Module<Tensor, Tensor>> Factory)
{
    /// <summary>True when the model accepts only <see cref="DefaultInputSize"/> (a Vision Transformer's position embedding has a fixed length).</summary>
    public bool FixedInputSize { get; init; }

    /// <summary>
    /// Null when the model accepts <paramref name="height"/>×<paramref name="width"/> images, otherwise a sentence saying
    /// what it needs ("alexnet needs images of at least 63×63 pixels; got 28×28").
    /// </summary>
    public string? CheckInputSize(int height, int width) =>
        FixedInputSize
            ? height == DefaultInputSize && width == DefaultInputSize ? null
                : $"{Name} needs images of exactly {DefaultInputSize}×{DefaultInputSize} pixels; got {height}×{width}"
            : height >= MinInputSize && width >= MinInputSize ? null
                : $"{Name} needs images of at least {MinInputSize}×{MinInputSize} pixels; got {height}×{width}";
}

/// <summary>
/// The model registry (torchvision.models.get_model / list_models): builds a zoo model by its torchvision name,
/// <c>ModelZoo.Create("resnet18", numClasses: 10, inChannels: 1)</c>. Names are case-insensitive; "-" may stand for "_".
/// </summary>
public static class ModelZoo
{
    static readonly ModelInfo[] entries =
    [
        new("lenet5", "LeNet", "LeNet-5 for 28×28 images (conv 6-16, 120-84 classifier)", 28, 28, (c, i) => new LeNet5(c, i)) { FixedInputSize = true },
        new("fashion_cnn", "FashionCnn", "the Fashion-MNIST benchmark CNN for 28×28 images", 28, 28, (c, i) => new FashionCnn(c, i)) { FixedInputSize = true },
        new("alexnet", "AlexNet", "AlexNet, 5 conv + 3 linear layers", 63, 224, (c, i) => new AlexNet(c, i)),
        new("vgg11", "VGG", "VGG-11 (configuration A)", 32, 224, (c, i) => VGG.Vgg11(c, i)),
        new("vgg11_bn", "VGG", "VGG-11 with batch norm", 32, 224, (c, i) => VGG.Vgg11Bn(c, i)),
        new("vgg13", "VGG", "VGG-13 (configuration B)", 32, 224, (c, i) => VGG.Vgg13(c, i)),
        new("vgg13_bn", "VGG", "VGG-13 with batch norm", 32, 224, (c, i) => VGG.Vgg13Bn(c, i)),
        new("vgg16", "VGG", "VGG-16 (configuration D)", 32, 224, (c, i) => VGG.Vgg16(c, i)),
        new("vgg16_bn", "VGG", "VGG-16 with batch norm", 32, 224, (c, i) => VGG.Vgg16Bn(c, i)),
        new("vgg19", "VGG", "VGG-19 (configuration E)", 32, 224, (c, i) => VGG.Vgg19(c, i)),
        new("vgg19_bn", "VGG", "VGG-19 with batch norm", 32, 224, (c, i) => VGG.Vgg19Bn(c, i)),
        new("googlenet", "GoogLeNet", "GoogLeNet (Inception v1) with batch norm and two auxiliary classifiers", 15, 224, (c, i) => new GoogLeNet(c, i)),
        new("resnet18", "ResNet", "ResNet-18, basic blocks [2, 2, 2, 2]", 1, 224, (c, i) => ResNet.ResNet18(c, i)),
        new("resnet34", "ResNet", "ResNet-34, basic blocks [3, 4, 6, 3]", 1, 224, (c, i) => ResNet.ResNet34(c, i)),
        new("resnet50", "ResNet", "ResNet-50, bottlenecks [3, 4, 6, 3]", 1, 224, (c, i) => ResNet.ResNet50(c, i)),
        new("resnet101", "ResNet", "ResNet-101, bottlenecks [3, 4, 23, 3]", 1, 224, (c, i) => ResNet.ResNet101(c, i)),
        new("resnet152", "ResNet", "ResNet-152, bottlenecks [3, 8, 36, 3]", 1, 224, (c, i) => ResNet.ResNet152(c, i)),
        new("resnext50_32x4d", "ResNet", "ResNeXt-50 32×4d", 1, 224, (c, i) => ResNet.ResNeXt50_32x4d(c, i)),
        new("resnext101_32x8d", "ResNet", "ResNeXt-101 32×8d", 1, 224, (c, i) => ResNet.ResNeXt101_32x8d(c, i)),
        new("resnext101_64x4d", "ResNet", "ResNeXt-101 64×4d", 1, 224, (c, i) => ResNet.ResNeXt101_64x4d(c, i)),
        new("wide_resnet50_2", "ResNet", "Wide ResNet-50-2", 1, 224, (c, i) => ResNet.WideResNet50_2(c, i)),
        new("wide_resnet101_2", "ResNet", "Wide ResNet-101-2", 1, 224, (c, i) => ResNet.WideResNet101_2(c, i)),
        new("mobilenet_v2", "MobileNetV2", "MobileNetV2, width 1.0", 1, 224, (c, i) => new MobileNetV2(c, i)),
        new("vit_b_16", "VisionTransformer", "ViT-B/16: 16×16 patches, 12 layers, 12 heads, width 768", 224, 224, (c, i) => VisionTransformer.ViT_B_16(c, i)) { FixedInputSize = true },
        new("vit_b_32", "VisionTransformer", "ViT-B/32: 32×32 patches, 12 layers, 12 heads, width 768", 224, 224, (c, i) => VisionTransformer.ViT_B_32(c, i)) { FixedInputSize = true },
        new("vit_l_16", "VisionTransformer", "ViT-L/16: 16×16 patches, 24 layers, 16 heads, width 1024", 224, 224, (c, i) => VisionTransformer.ViT_L_16(c, i)) { FixedInputSize = true },
        new("vit_l_32", "VisionTransformer", "ViT-L/32: 32×32 patches, 24 layers, 16 heads, width 1024", 224, 224, (c, i) => VisionTransformer.ViT_L_32(c, i)) { FixedInputSize = true },
        new("vit_h_14", "VisionTransformer", "ViT-H/14: 14×14 patches, 32 layers, 16 heads, width 1280", 224, 224, (c, i) => VisionTransformer.ViT_H_14(c, i)) { FixedInputSize = true },
    ];

    static readonly Dictionary<string, ModelInfo> byName = entries.ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Every registered name, in registry order (torchvision.models.list_models).</summary>
    public static IReadOnlyList<string> Names { get; } = entries.Select(e => e.Name).ToArray();

    /// <summary>Every registry entry, in registry order.</summary>
    public static IReadOnlyList<ModelInfo> Models => entries;

    /// <summary>True when <paramref name="name"/> is registered.</summary>
    public static bool Contains(string name) => TryGetInfo(name, out _);

    /// <summary>Looks up an entry by name (case-insensitive, "-" accepted for "_").</summary>
    public static bool TryGetInfo(string name, out ModelInfo info)
    {
        ArgumentNullException.ThrowIfNull(name);
        return byName.TryGetValue(name.Trim().Replace('-', '_'), out info!);
    }

    /// <summary>The entry for <paramref name="name"/>; throws an ArgumentException listing the names when unknown.</summary>
    public static ModelInfo GetInfo(string name) =>
        TryGetInfo(name, out var info) ? info
            : throw new ArgumentException($"ModelZoo: unknown model \"{name}\"; known models: {string.Join(", ", Names)}", nameof(name));

    /// <summary>
    /// Builds the model <paramref name="name"/> for <paramref name="numClasses"/> classes and
    /// <paramref name="inChannels"/>-channel images, freshly initialised as torchvision initialises it
    /// (torchvision.models.get_model(name, num_classes=)).
    /// </summary>
    public static Module<Tensor, Tensor> Create(string name, int numClasses = 1000, int inChannels = 3) => GetInfo(name).Factory(numClasses, inChannels);

    /// <summary>
    /// Loads a state dict into <paramref name="model"/> (torch.nn.Module.load_state_dict(torch.load(path))) from a safetensors
    /// file or a PyTorch checkpoint (<see cref="StateDictFile"/>): torchvision's downloaded .pth weights load directly. As
    /// BatchNorm's loader does in PyTorch, a <c>num_batches_tracked</c> buffer missing from an old checkpoint is taken as 0.
    /// With <paramref name="strict"/> every key and shape must match; otherwise the missing and unexpected keys are returned.
    /// </summary>
    public static LoadStateDictResult LoadWeights(Module model, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        return model.LoadStateDict(WithBatchCounters(model, StateDictFile.Load(path)), strict);
    }

    /// <summary>Adds a zero num_batches_tracked for every BatchNorm whose running_mean the checkpoint has but whose counter it lacks.</summary>
    internal static Dictionary<string, Tensor> WithBatchCounters(Module model, Dictionary<string, Tensor> stateDict)
    {
        const string counter = "num_batches_tracked";
        foreach (var (key, value) in model.StateDict())
            if (key.EndsWith(counter, StringComparison.Ordinal) && !stateDict.ContainsKey(key)
                && stateDict.ContainsKey(key[..^counter.Length] + "running_mean"))
                stateDict[key] = Tensor.Zeros([.. value.Shape], value.DType);
        return stateDict;
    }
}
