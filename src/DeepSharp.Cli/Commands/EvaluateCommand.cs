using System.Globalization;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Training;
using DeepSharp.Vision.Datasets;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp evaluate MODEL` and `deepsharp predict MODEL IMAGE`.</summary>
public static class EvaluateCommand
{
    /// <summary>
    /// Loads an image classifier saved by `deepsharp train` (the file or its run folder), rebuilding the architecture named
    /// in its metadata. A language model is refused with the command that fits it.
    /// </summary>
    public static (Module<Tensor, Tensor> Model, ImageDatasetInfo Data) LoadModel(string path, string command = "evaluate")
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "model.safetensors");
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path} (train one with 'deepsharp train --out DIR')", path);
        ModelKinds.RequireImageClassifier(path, command);
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        if (!metadata.TryGetValue("deepsharp.model", out var name))
            throw new InvalidDataException($"{path} has no 'deepsharp.model' metadata; it was not written by 'deepsharp train'");
        var datasetName = metadata.GetValueOrDefault("deepsharp.dataset", "fashion-mnist");
        var data = FolderImages.IsFolder(datasetName) ? FolderImages.FromMetadata(datasetName, metadata) : ImageTraining.DatasetInfo(datasetName);
        var model = ImageTraining.CreateModel(name, data);
        if (metadata.GetValueOrDefault("deepsharp.shrunk") == "true") Compression.Pruning.FilterPruning.ShrinkTo(model, tensors);   // deepsharp prune --structured, distill
        model.LoadStateDict(tensors);
        model.Eval();
        return (model, data);
    }

    /// <summary>`deepsharp evaluate MODEL [--data DIR]`: test loss and accuracy.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("evaluate", args, ["data", "threads", "test-limit", .. ModelFiles.Options], ["no-verify"]);
        if (p.Help || p.Positionals.Count != 1)
        {
            if (!p.Help) throw new UsageException("deepsharp evaluate: give the model file, e.g. 'deepsharp evaluate runs/cnn/model.safetensors'.");
            output.WriteLine("usage: deepsharp evaluate MODEL [--data DIR] [--no-verify] [--threads N] [--test-limit N] [--model NAME] [--dataset NAME]\n  Reports the test loss, accuracy and per-class precision/recall/F1 of a model saved by 'deepsharp train' (.safetensors),\n  exported to ONNX (.onnx; --dataset if its metadata lacks it) or saved as a PyTorch state dict (.pth/.pt; --model and --dataset).\n  A quantized file (deepsharp quantize) gets test accuracy, file size and batch-64 latency. --test-limit N uses the first N test images.");
            return 0;
        }
        Kernels.KernelThreadPool.SetThreadCount(p.Int("threads", Environment.ProcessorCount, 1, 1024));
        int testLimit = p.Has("test-limit") ? p.Int("test-limit", 0, 1) : 0;
        if (QuantizeCommand.IsQuantizedFile(p.Positionals[0])) return QuantizeCommand.Evaluate(p.Positionals[0], p.OptionalString("data"), !p.Flag("no-verify"), output, testLimit);
        var (model, data) = ModelFiles.Load(p.Positionals[0], "evaluate", p.OptionalString("model"), p.OptionalString("dataset"));
        var (test, classes, _) = ImageTraining.LoadSplit(data.Name, train: false, p.OptionalString("data"), limit: testLimit, imageSize: data.Size, verify: !p.Flag("no-verify"));
        var confusion = new Training.Metrics.ConfusionMatrix(classes.Length);
        var trainer = new Trainer(model, new Optim.SGD(model.Parameters(), 0.0), F.CrossEntropy, [new Training.Metrics.Accuracy(), confusion]);
        var result = trainer.Evaluate(new DataLoader(test, 1000));
        output.Write(confusion.Report(classes));
        output.WriteLine($"test images: {test.Count}");
        output.WriteLine($"test loss: {result["loss"].ToString("F4", CultureInfo.InvariantCulture)}");
        output.WriteLine($"test accuracy: {result["acc"].ToString("F4", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>
    /// `deepsharp predict MODEL IMAGE`: IMAGE is a picture file (JPEG, PNG, BMP, GIF, PPM/PGM) or test:N for the N-th test
    /// image. A picture of another size than the model's is resized (shorter side) and centre-cropped to it.
    /// </summary>
    public static int Predict(string[] args, TextWriter output)
    {
        var p = new ArgParser("predict", args, ["data", .. ModelFiles.Options], ["no-verify"]);
        if (p.Help || p.Positionals.Count != 2)
        {
            if (!p.Help) throw new UsageException("deepsharp predict: give the model file and an image, e.g. 'deepsharp predict runs/cnn/model.safetensors photo.jpg' or test:0.");
            output.WriteLine("usage: deepsharp predict MODEL IMAGE [--data DIR] [--no-verify]\n  IMAGE: a JPEG, PNG, BMP, GIF, PPM or PGM file (resized and centre-cropped to the model's size), or test:N for the N-th image of the test set.");
            return 0;
        }
        var (model, data) = ModelFiles.Load(p.Positionals[0], "predict", p.OptionalString("model"), p.OptionalString("dataset"));
        var image = p.Positionals[1];
        var classes = data.Classes;
        Tensor x;
        string? truth = null;
        if (image.StartsWith("test:"))
        {
            if (!int.TryParse(image[5..], out int index) || index < 0) throw new UsageException($"deepsharp predict: '{image}' is not test:N with N a non-negative number.");
            var (test, testClasses, _) = ImageTraining.LoadSplit(data.Name, train: false, p.OptionalString("data"), imageSize: data.Size, verify: !p.Flag("no-verify"));
            if (index >= test.Count) throw new UsageException($"deepsharp predict: the test set has {test.Count} images; {index} is out of range.");
            var item = test.Get(index);
            x = item[0].Unsqueeze(0);
            classes = testClasses;
            truth = classes[(int)item[1].Item<long>()];
        }
        else x = ReadImage(image, data, output);
        Tensor probabilities;
        using (Autograd.NoGrad()) probabilities = model.Call(x).Softmax(1);
        var probs = probabilities.ToArray<float>();
        var order = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).ToArray();
        foreach (var i in order.Take(3)) output.WriteLine($"{classes[i],-14} {probs[i].ToString("P1", CultureInfo.InvariantCulture)}");
        if (truth != null) output.WriteLine($"true class: {truth}");
        output.WriteLine($"prediction: {classes[order[0]]}");
        return 0;
    }

    /// <summary>
    /// A picture file as a (1, C, H, W) batch for a model of <paramref name="data"/>'s image shape: grey or RGB as the
    /// model takes, resized (shorter side) and centre-cropped when its size differs; a folder model's evaluation transform
    /// (resize, centre crop, ImageNet normalisation) is applied as in training.
    /// </summary>
    internal static Tensor ReadImage(string path, ImageDatasetInfo data, TextWriter output)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        var image = Vision.Imaging.Image.Load(path);
        if (FolderImages.IsFolder(data.Name))
            return FolderImages.Transform(data.Size, train: false).Apply(image.ToRgb().ToTensor(), new Generator(0)).Unsqueeze(0);
        var x = (data.Channels == 3 ? image.ToRgb() : image.ToGrayscale()).ToTensor();
        if (image.Height != data.Size || image.Width != data.Size)
        {
            output.WriteLine($"resized {path} from {image.Width}x{image.Height} to {data.Size}x{data.Size} (shorter side, then centre crop)");
            x = Vision.Transforms.TF.CenterCrop(Vision.Transforms.TF.Resize(x, data.Size), new NN.Size2(data.Size, data.Size));
        }
        return x.Unsqueeze(0);
    }
}
