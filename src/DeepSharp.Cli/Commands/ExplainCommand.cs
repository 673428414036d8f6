using System.Globalization;
using DeepSharp.Interpretability;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp explain MODEL IMAGE --method M [--layer NAME] --out x.png`: an attribution map of one prediction.</summary>
public static class ExplainCommand
{
    /// <summary>The --method names and the methods they run.</summary>
    public static readonly IReadOnlyDictionary<string, ExplainMethod> Methods = new Dictionary<string, ExplainMethod>
    {
        ["saliency"] = ExplainMethod.Saliency, ["inputxgradient"] = ExplainMethod.InputXGradient, ["smoothgrad"] = ExplainMethod.SmoothGrad,
        ["ig"] = ExplainMethod.IntegratedGradients, ["gradcam"] = ExplainMethod.GradCam, ["gradcam++"] = ExplainMethod.GradCamPlusPlus,
        ["occlusion"] = ExplainMethod.Occlusion,
    };

    const string Usage =
        "usage: deepsharp explain MODEL IMAGE --method saliency|inputxgradient|smoothgrad|ig|gradcam|gradcam++|occlusion [--layer NAME]\n" +
        "                         [--target CLASS] [--colormap viridis|jet] [--scale N] [--out explain.png] [--data DIR]\n" +
        "  Prints the top classes of IMAGE (test:N for the N-th test image, or a picture file) and writes the image, the heat map\n" +
        "  of the method's attribution for the predicted class (or --target) and their overlay side by side as PNG.\n" +
        "  --layer: the layer of gradcam/gradcam++ (default: the last Conv2d with a feature map larger than 1x1); a wrong name lists the model's layers.";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("explain", args, ["method", "layer", "target", "colormap", "scale", "out", "data"]);
        if (p.Help || p.Positionals.Count != 2)
        {
            if (!p.Help) throw new UsageException("deepsharp explain: give the model file and an image, e.g. 'deepsharp explain runs/cnn/model.safetensors test:12 --method gradcam'.");
            output.WriteLine(Usage);
            return 0;
        }
        var methodName = p.String("method", "saliency", [.. Methods.Keys]);
        var colorMap = p.String("colormap", "viridis", "viridis", "jet") == "jet" ? ColorMapKind.Jet : ColorMapKind.Viridis;
        var outPath = p.OptionalString("out") ?? "explain.png";
        var (model, data) = EvaluateCommand.LoadModel(p.Positionals[0]);
        var (x, classes, truth) = LoadImage(p.Positionals[1], data, p.OptionalString("data"), output);

        Tensor probabilities;
        using (Autograd.NoGrad()) probabilities = model.Call(x).Softmax(1);
        var probs = probabilities.ToArray<float>();
        var order = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).ToArray();
        foreach (var i in order.Take(3)) output.WriteLine($"{classes[i],-14} {probs[i].ToString("P1", CultureInfo.InvariantCulture)}");
        if (truth != null) output.WriteLine($"true class: {truth}");
        int target = p.Has("target") ? p.Int("target", 0, 0, classes.Length - 1) : order[0];

        Explanation explanation;
        try { explanation = Attribution.Explain(model, x, target, Methods[methodName], p.OptionalString("layer")); }
        catch (ArgumentException e) when (e.ParamName is "name" or "layerName" or "model") { throw new UsageException($"deepsharp explain: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}"); }
        var image = x.Select(0, 0);
        if (FolderImages.IsFolder(data.Name)) image = Unnormalise(image);
        int scale = p.Int("scale", Math.Max(1, 112 / Math.Max(1, x.Shape[2])), 1, 16);
        Heatmap.SavePng(Attribution.Picture(image, explanation.Heat, colorMap, scale), outPath);
        var what = explanation.Layer != null ? $" at layer {explanation.Layer}" : "";
        output.WriteLine($"{methodName}{what} for class {classes[target]}: wrote {outPath} (image | heat map | overlay)");
        if (explanation.Delta is { } delta) output.WriteLine($"convergence delta: {delta.ToString("G3", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>test:N (the N-th test image) or a picture file, as a (1, C, H, W) batch, with the class names and the true class if known.</summary>
    static (Tensor X, string[] Classes, string? Truth) LoadImage(string image, ImageDatasetInfo data, string? dataDir, TextWriter output)
    {
        if (!image.StartsWith("test:", StringComparison.Ordinal)) return (EvaluateCommand.ReadImage(image, data, output), data.Classes, null);
        if (!int.TryParse(image[5..], out int index) || index < 0) throw new UsageException($"deepsharp explain: '{image}' is not test:N with N a non-negative number.");
        var (test, classes, _) = ImageTraining.LoadSplit(data.Name, train: false, dataDir, imageSize: data.Size);
        if (index >= test.Count) throw new UsageException($"deepsharp explain: the test set has {test.Count} images; {index} is out of range.");
        var item = test.Get(index);
        return (item[0].Unsqueeze(0), classes, classes[(int)item[1].Item<long>()]);
    }

    /// <summary>Undoes the ImageNet normalisation of folder models so the picture shows the image as it was.</summary>
    static Tensor Unnormalise(Tensor image)
    {
        var mean = Tensor.FromArray(new[] { 0.485f, 0.456f, 0.406f }, 3, 1, 1);
        var std = Tensor.FromArray(new[] { 0.229f, 0.224f, 0.225f }, 3, 1, 1);
        return image.Shape[0] == 3 ? (image * std + mean).Clamp(0, 1) : image;
    }
}
