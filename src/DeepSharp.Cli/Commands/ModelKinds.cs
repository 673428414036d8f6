using DeepSharp.IO;
using DeepSharp.Text.Models;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// Which kind of model a saved file holds (an image classifier or a language model, from its "deepsharp.model"
/// metadata), so a command given the other kind names it and the command that fits instead of failing on a detail.
/// </summary>
public static class ModelKinds
{
    /// <summary>The "deepsharp.model" value of a safetensors file (read from its header only), or null.</summary>
    public static string? KindOf(string path) =>
        SafeTensors.ReadHeader(path).Metadata.TryGetValue(LanguageModel.KindKey, out var kind) ? kind : null;

    /// <summary>True for the kinds of <see cref="LanguageModel"/> (gpt, lstm).</summary>
    public static bool IsLanguageModel(string? kind) => kind is Gpt.KindName or LstmLanguageModel.KindName;

    /// <summary>`evaluate` and `predict` take image classifiers: a language model gets a usage error naming `generate`.</summary>
    public static void RequireImageClassifier(string path, string command)
    {
        var kind = KindOf(path);
        if (IsLanguageModel(kind))
            throw new UsageException($"deepsharp {command}: {path} is a language model ({kind}); '{command}' takes image classifiers. " +
                                     $"Continue a prompt with it: deepsharp generate {path} --prompt \"...\"");
        if (GenerativeConfig.IsGenerative(kind))
            throw new UsageException($"deepsharp {command}: {path} is a generative model ({kind}); '{command}' takes image classifiers. " +
                                     $"Draw images from it: deepsharp sample {path} --count 64 --out grid.png");
    }

    /// <summary>`generate` takes language models: an image classifier gets a usage error naming `predict` and `evaluate`.</summary>
    public static void RequireLanguageModel(string path)
    {
        var header = SafeTensors.ReadHeader(path).Metadata;
        var kind = header.GetValueOrDefault(LanguageModel.KindKey);
        if (GenerativeConfig.IsGenerative(kind))
            throw new UsageException($"deepsharp generate: {path} is a generative image model ({kind}); 'generate' takes language models. " +
                                     $"Draw images from it: deepsharp sample {path} --count 64 --out grid.png");
        if (kind != null && !IsLanguageModel(kind))
        {
            var dataset = header.TryGetValue("deepsharp.dataset", out var d) ? $" trained on {d}" : "";
            throw new UsageException($"deepsharp generate: {path} is an image classifier ({kind}{dataset}); 'generate' takes language models. " +
                                     $"Classify an image with it: deepsharp predict {path} IMAGE, or score it: deepsharp evaluate {path}");
        }
    }
}
