// Train, export, deploy: a Fashion CNN trained briefly on Fashion-MNIST is exported to ONNX, run on the test images in
// ONNX Runtime (Microsoft.ML.OnnxRuntime, with no DeepSharp in the loop) and, imported back with OnnxModel.Load, in
// DeepSharp; the three agree on every prediction. `--bench` then times an imported ResNet-18 (torchvision layout) against
// ONNX Runtime on the same file, three alternating runs (docs/interop.md).
// Run: dotnet run -c Release --project examples/OnnxExport [-- --train-images 6000 --epochs 1 --out runs/onnx-export --bench true]
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Onnx;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;
using Microsoft.ML.OnnxRuntime;

var options = OnnxExportExample.Options.Parse(args);
OnnxExportExample.Run(options, Console.Out);
if (options.Bench) OnnxSpeed.Compare(Console.Out, options.BenchRuns, options.BenchBatch);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class OnnxExportExample
{
    /// <summary>Sizes of the run.</summary>
    public sealed record Options
    {
        public int TrainImages { get; init; } = 6000;
        public int Epochs { get; init; } = 1;
        public int TestImages { get; init; } = 2000;
        public int BatchSize { get; init; } = 128;
        public string Out { get; init; } = "runs/onnx-export";
        public bool Bench { get; init; }
        public int BenchRuns { get; init; } = 3;
        public int BenchBatch { get; init; } = 1;

        /// <summary>Reads "--train-images 1000 --out dir ..." (every property, dashed; examples/Shared/ExampleOptions.cs).</summary>
        public static Options Parse(string[] args) => ExampleOptions.Parse<Options>(args, "examples/OnnxExport");
    }

    /// <summary>Test accuracy in DeepSharp, in ONNX Runtime and in the re-imported model; how many predictions agree; largest logit difference.</summary>
    public sealed record Result(double DeepSharpAccuracy, double OrtAccuracy, double ImportedAccuracy, int Agreements, int Images, double MaxDifference, string OnnxPath);

    public static Result Run(Options o, TextWriter log)
    {
        DeepSharp.Random.Seed(0);
        var train = MnistDataset.LoadFashion(train: true).Take(o.TrainImages);
        var test = MnistDataset.LoadFashion(train: false).Take(o.TestImages);
        var model = new FashionCnn();
        var trainer = new Trainer(model, new Adam(model.Parameters(), 1e-3), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null));
        trainer.Fit(new DataLoader(new TensorDataset(train.Images, train.Labels), o.BatchSize, shuffle: true), epochs: o.Epochs);

        Directory.CreateDirectory(o.Out);
        var path = Path.Combine(o.Out, "fashion_cnn.onnx");
        model.ExportOnnx(path, Tensor.Zeros(1, 1, 28, 28));              // opset 17, dynamic batch
        log.WriteLine($"trained on {o.TrainImages} images for {o.Epochs} epoch(s); exported {path} ({new FileInfo(path).Length:N0} bytes)");

        model.Eval();
        var imported = OnnxModel.Load(path);
        using var session = new InferenceSession(path);
        var labels = test.Labels.ToArray<long>();
        int n = labels.Length, agree = 0;
        int[] correct = new int[3];
        double maxDiff = 0;
        for (int start = 0; start < n; start += 500)
        {
            var x = test.Images.Narrow(0, start, Math.Min(500, n - start));
            float[] ours, reimported, ort = RunOrt(session, x);
            using (Autograd.NoGrad()) { ours = model.Call(x).ToArray<float>(); reimported = imported.Call(x).ToArray<float>(); }
            for (int i = 0; i < x.Shape[0]; i++)
            {
                int[] predictions = [ArgMax(ours, i), ArgMax(ort, i), ArgMax(reimported, i)];
                for (int k = 0; k < 3; k++) if (predictions[k] == labels[start + i]) correct[k]++;
                if (predictions.Distinct().Count() == 1) agree++;
            }
            for (int i = 0; i < ours.Length; i++) maxDiff = Math.Max(maxDiff, Math.Max(Math.Abs(ours[i] - ort[i]), Math.Abs(ours[i] - reimported[i])));
        }
        var result = new Result(correct[0] / (double)n, correct[1] / (double)n, correct[2] / (double)n, agree, n, maxDiff, path);
        log.WriteLine($"test accuracy on {n} images: DeepSharp {result.DeepSharpAccuracy:P2}, ONNX Runtime {result.OrtAccuracy:P2}, " +
                      $"re-imported {result.ImportedAccuracy:P2}; all three agree on {agree} of {n}; largest logit difference {maxDiff:G3}");
        return result;
    }

    /// <summary>The model's output for <paramref name="x"/> (N, 1, 28, 28) from ONNX Runtime.</summary>
    public static float[] RunOrt(InferenceSession session, Tensor x)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(x.ToArray<float>(), x.Shape.Select(d => (long)d).ToArray());
        using var outputs = session.Run(new RunOptions(), new Dictionary<string, OrtValue> { ["input"] = input }, ["output"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    static int ArgMax(float[] logits, int row)
    {
        int best = 0;
        for (int c = 1; c < 10; c++) if (logits[row * 10 + c] > logits[row * 10 + best]) best = c;
        return best;
    }
}
