// What a Fashion-MNIST CNN looks at. A FashionCnn trains briefly with the Trainer; then every attribution method of
// DeepSharp.Interpretability explains a few test images (saliency, SmoothGrad, Integrated Gradients with its convergence
// delta, Grad-CAM and Grad-CAM++ on the last convolution, occlusion), the first layer's filters and one activation-
// maximisation picture per class are drawn, and the Adebayo et al. sanity check randomises the weights layer by layer
// from the top and reports how far the saliency map moves (Spearman's ρ with the trained model's map).
// Run: dotnet run -c Release --project examples/Explain [-- --train-images 12000 --images 4 --out explain-out]
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.Interpretability;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Metrics;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

var options = ExplainExample.Options.Parse(args);
ExplainExample.Run(options, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class ExplainExample
{
    /// <summary>Sizes of the run; the defaults are the run recorded in docs/interpretability.md.</summary>
    public sealed record Options
    {
        public int TrainImages { get; init; } = 12000;
        public int Epochs { get; init; } = 1;
        public int TestImages { get; init; } = 2000;
        public int Images { get; init; } = 4;              // test images explained, one row each
        public int VisualizationSteps { get; init; } = 64; // activation-maximisation steps per class
        public string Out { get; init; } = "explain-out";
        public int Seed { get; init; } = 0;
        public string? DataDir { get; init; }

        /// <summary>Reads "--train-images 1000 --out dir ..." (every property, dashed; examples/Shared/ExampleOptions.cs).</summary>
        public static Options Parse(string[] args) => ExampleOptions.Parse<Options>(args, "examples/Explain", new Dictionary<string, string> { ["--data"] = "DataDir" });
    }

    /// <summary>What the run measured and wrote.</summary>
    public sealed record Result(double TestAccuracy, double[] IntegratedGradientsDeltas, IReadOnlyList<(string Layer, double Correlation)> Sanity, string[] Files);

    static readonly ExplainMethod[] Columns =
        [ExplainMethod.Saliency, ExplainMethod.SmoothGrad, ExplainMethod.IntegratedGradients, ExplainMethod.GradCam, ExplainMethod.GradCamPlusPlus, ExplainMethod.Occlusion];

    public static Result Run(Options o, TextWriter log)
    {
        DeepSharp.Random.Seed(o.Seed);
        Directory.CreateDirectory(o.Out);
        var train = MnistDataset.Load(MnistDataset.FashionMnist, train: true, o.DataDir).Take(o.TrainImages);
        var test = MnistDataset.Load(MnistDataset.FashionMnist, train: false, o.DataDir).Take(o.TestImages);
        var model = new FashionCnn();
        var trainer = new Trainer(model, new Adam(model.Parameters(), lr: 1e-3), F.CrossEntropy, [new Accuracy()]);
        trainer.Fit(new DataLoader(new TensorDataset(train.Images, train.Labels), 128, shuffle: true), epochs: o.Epochs);
        double accuracy = trainer.Evaluate(new DataLoader(new TensorDataset(test.Images, test.Labels), 500))["acc"];
        model.Eval();
        log.WriteLine($"FashionCnn on {train.Count} images, {o.Epochs} epoch(s): test accuracy {accuracy:F4} on {test.Count} images");

        // one row per image: the image, then each method's overlay (for the predicted class)
        var rows = new List<Tensor>();
        var deltas = new List<double>();
        for (int i = 0; i < o.Images; i++)
        {
            var x = test.Images.Narrow(0, i, 1);
            int predicted;
            using (Autograd.NoGrad()) predicted = (int)model.Call(x).ArgMax(1).Item<long>();
            var pictures = new List<Tensor> { x.Select(0, 0).Expand(3, 28, 28) };
            foreach (var method in Columns)
            {
                var e = Attribution.Explain(model, x, predicted, method);
                pictures.Add(Heatmap.Overlay(x.Select(0, 0), e.Heat, ColorMapKind.Jet));
                if (e.Delta is { } d) deltas.Add(d);
            }
            rows.Add(Heatmap.Panel(pictures, scale: 3, padding: 3));
            log.WriteLine($"image {i}: {MnistDataset.FashionClasses[(int)test.Labels[i].Item<long>()]}, predicted {MnistDataset.FashionClasses[predicted]}, IG delta {deltas[^1]:E2}");
        }
        var methods = Path.Combine(o.Out, "methods.png");
        Heatmap.SavePng(Tensor.Cat(rows.SelectMany((r, k) => k == 0 ? new[] { r } : [Tensor.Ones(3, 3, r.Shape[2]), r]).ToArray(), 1), methods);
        log.WriteLine($"wrote {methods}: columns image | {string.Join(" | ", Columns)}");

        var filters = Path.Combine(o.Out, "filters.png");
        Heatmap.SavePng(Heatmap.Panel([FeatureVisualization.FilterGrid(model, nrow: 8)], scale: 6), filters);
        var classes = Enumerable.Range(0, 10).Select(c => Heatmap.Panel([Normalise(FeatureVisualization.Class(model, c, [1, 1, 28, 28],
            new FeatureVisualizationOptions(Steps: o.VisualizationSteps, Seed: o.Seed)))], scale: 3)).ToArray();
        var visualisation = Path.Combine(o.Out, "classes.png");
        Heatmap.SavePng(Heatmap.Panel(classes, padding: 3), visualisation);
        log.WriteLine($"wrote {filters} (first-layer filters) and {visualisation} (activation maximisation of each class)");

        // sanity check: randomise from the top and watch the saliency map of image 0 decorrelate
        var trained = model.StateDict().ToDictionary(p => p.Key, p => p.Value.Clone());
        var x0 = test.Images.Narrow(0, 0, 1);
        int label0 = (int)test.Labels[0].Item<long>();
        var sanity = SanityChecks.CascadingRandomization(model, ["classifier.4", "classifier.1", "features.9", "features.6", "features.3", "features.0"],
            () => Attribution.Saliency(model, x0, label0), new Generator(o.Seed));
        model.LoadStateDict(trained);
        log.WriteLine("sanity check (cascading randomisation, Spearman ρ of |saliency| with the trained model's): " +
            string.Join(", ", sanity.Select(s => $"{s.Layer} {s.Correlation:F2}")));
        return new Result(accuracy, [.. deltas], sanity, [methods, filters, visualisation]);
    }

    static Tensor Normalise(Tensor image)
    {
        var x = image.Select(0, 0);
        float min = x.Min().Item<float>(), max = x.Max().Item<float>();
        return (x - min) / Math.Max(1e-8, max - min);
    }
}
