using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Onnx;
using DeepSharp.Vision.Datasets;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// The model files `evaluate` and `predict` take: a run of `deepsharp train` (model.safetensors with its metadata), an ONNX
/// file (run by <see cref="OnnxModel"/>; `deepsharp export` records the dataset in its metadata, otherwise --dataset names
/// it) or a PyTorch state dict (.pth / .pt, read by <see cref="TorchFile"/>; it holds only weights, so --model names the
/// architecture and --dataset the data).
/// </summary>
public static class ModelFiles
{
    /// <summary>The options these files may need, for the commands' parsers.</summary>
    public static readonly string[] Options = ["model", "dataset"];

    /// <summary>Loads the classifier at <paramref name="path"/> in eval mode with the dataset it classifies.</summary>
    public static (Module<Tensor, Tensor> Model, ImageDatasetInfo Data) Load(string path, string command, string? modelName, string? datasetName)
    {
        if (Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return EvaluateCommand.LoadModel(path, command);
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return LoadOnnx(path, command, datasetName);
        if (StateDictFile.DetectFormat(path).StartsWith("pytorch", StringComparison.Ordinal)) return LoadTorch(path, command, modelName, datasetName);
        return EvaluateCommand.LoadModel(path, command);
    }

    static (Module<Tensor, Tensor>, ImageDatasetInfo) LoadOnnx(string path, string command, string? datasetName)
    {
        OnnxModel model;
        try { model = OnnxModel.Load(path); }
        catch (NotSupportedException e) { throw new InvalidDataException(e.Message, e); }   // exit 1 naming the op
        var dataset = datasetName ?? model.Metadata.GetValueOrDefault("deepsharp.dataset")
            ?? throw new UsageException($"deepsharp {command}: {path} does not say which dataset it classifies; add --dataset fashion-mnist (or cifar10, mnist, a folder ...)");
        var data = FolderImages.IsFolder(dataset) ? FolderImages.FromMetadata(dataset, model.Metadata) : ImageTraining.DatasetInfo(dataset);
        return (model, data);
    }

    static (Module<Tensor, Tensor>, ImageDatasetInfo) LoadTorch(string path, string command, string? modelName, string? datasetName)
    {
        if (modelName is null)
            throw new UsageException($"deepsharp {command}: {path} is a PyTorch state dict and holds only weights; name the architecture with --model (e.g. --model cnn) and the data with --dataset");
        var data = ImageTraining.DatasetInfo(datasetName ?? "fashion-mnist");
        var model = ImageTraining.CreateModel(modelName, data);
        model.LoadStateDict(StateDictFile.Load(path));
        model.Eval();
        return (model, data);
    }
}
