// Adversarial robustness on Fashion-MNIST. The Fashion CNN is trained three ways under the same budget: standard
// training, PGD adversarial training (Madry et al.) and TRADES, each as a custom step of the one Trainer. Each model is
// then attacked with FGSM and with PGD at ε = 0.05, 0.1, 0.2 (pixels in [0, 1]), and the accuracies are printed side by
// side as a Markdown table; a PNG shows test images, their PGD versions against the standard model and the perturbation.
// Run: dotnet run -c Release --project examples/AdversarialFashion [-- --train-images 10000 --epochs 2 --train-steps 5 --out runs/adv ...]
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Robustness;
using DeepSharp.Training;
using DeepSharp.Training.Metrics;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

var options = AdversarialFashionExample.Options.Parse(args);
DeepSharp.Kernels.KernelThreadPool.SetThreadCount(options.Threads);
AdversarialFashionExample.Run(options, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class AdversarialFashionExample
{
    /// <summary>Sizes of the run; the defaults are the recorded run (docs/robustness.md).</summary>
    public sealed record Options
    {
        public int TrainImages { get; init; } = 3000;     // first images of the training split
        public int Epochs { get; init; } = 1;
        public double Epsilon { get; init; } = 0.1;       // the training budget of PGD and TRADES
        public int TrainSteps { get; init; } = 3;         // PGD steps while training (step 2.5·ε/steps)
        public double Beta { get; init; } = 6.0;          // TRADES's trade-off
        public int TestImages { get; init; } = 300; 
        public int AttackSteps { get; init; } = 10;       // PGD steps of the evaluation
        public string[] Methods { get; init; } = ["standard", "pgd", "trades"];
        public int BatchSize { get; init; } = 128;
        public int Seed { get; init; } = 0;
        public int Threads { get; init; } = Environment.ProcessorCount;
        public string Out { get; init; } = "runs/adversarial";

        /// <summary>Reads "--train-images 1000 --out dir ..." (every property, dashed; examples/Shared/ExampleOptions.cs).</summary>
        public static Options Parse(string[] args) => ExampleOptions.Parse<Options>(args, "examples/AdversarialFashion");
    }

    /// <summary>One trained model's results: accuracy against PGD along the ε list, and against FGSM at the training ε.</summary>
    public sealed record Result(string Method, IReadOnlyList<RobustAccuracy> Pgd, double Fgsm, double TrainingSeconds);

    /// <summary>Trains each method's model, attacks it, prints the table and writes the picture; returns the results.</summary>
    public static IReadOnlyList<Result> Run(Options o, TextWriter log)
    {
        var train = MnistDataset.LoadFashion(train: true).Take(o.TrainImages);
        var test = MnistDataset.LoadFashion(train: false).Take(o.TestImages);
        var trainSet = new TensorDataset(train.Images, train.Labels);
        var testLoader = new DataLoader(new TensorDataset(test.Images, test.Labels), 250);
        log.WriteLine($"Fashion CNN, {o.TrainImages} training images, {o.Epochs} epochs; training ε {o.Epsilon} ({o.TrainSteps} PGD steps); " +
                      $"evaluation on {o.TestImages} test images, PGD-{o.AttackSteps}");
        Directory.CreateDirectory(o.Out);
        var results = new List<Result>();
        foreach (var method in o.Methods)
        {
            DeepSharp.Random.Seed(o.Seed);
            var model = new FashionCnn();
            var optimizer = new Adam(model.Parameters(), 1e-3);
            var trainer = method switch
            {
                "standard" => new Trainer(model, optimizer, F.CrossEntropy, progress: new PlainProgress(TextWriter.Null)),
                "pgd" => new Trainer(model, optimizer, AdversarialTraining.PgdStep(model, o.Epsilon, o.TrainSteps), [new Accuracy()], new PlainProgress(TextWriter.Null)),
                "trades" => new Trainer(model, optimizer, AdversarialTraining.TradesStep(model, o.Epsilon, o.Beta, o.TrainSteps), [new Accuracy()], new PlainProgress(TextWriter.Null)),
                _ => throw new ArgumentException($"unknown method {method}: standard, pgd or trades"),
            };
            var started = DateTime.UtcNow;
            trainer.Fit(new DataLoader(trainSet, o.BatchSize, shuffle: true), epochs: o.Epochs);
            double seconds = (DateTime.UtcNow - started).TotalSeconds;
            model.Eval();
            var curve = RobustEvaluation.AccuracyVsEpsilon(model, testLoader, RobustEvaluation.FashionMnistEpsilons,
                eps => new Pgd(model, eps, Pgd.DefaultAlpha(eps, o.AttackSteps), o.AttackSteps) { Generator = new Generator(o.Seed) });
            double fgsm = RobustEvaluation.Accuracy(model, testLoader, new Fgsm(model, o.Epsilon)).Accuracy;
            results.Add(new Result(method, curve, fgsm, seconds));
            log.WriteLine($"{method}: trained in {seconds:F0}s; clean {curve[0].Accuracy:P1}, FGSM ε {o.Epsilon} {fgsm:P1}, " +
                          string.Join(", ", curve.Skip(1).Select(c => $"PGD ε {c.Epsilon} {c.Accuracy:P1}")));
            if (method == o.Methods[0]) SavePicture(model, test.Images, test.Labels, o, log);
        }
        log.WriteLine();
        log.Write(RobustEvaluation.Table(results.Select(r => (r.Method, r.Pgd)).ToList()));
        log.WriteLine($"| FGSM {o.Epsilon} |" + string.Concat(results.Select(r => $" {r.Fgsm:P1} |")));
        return results;
    }

    static void SavePicture(Module<Tensor, Tensor> model, Tensor images, Tensor labels, Options o, TextWriter log)
    {
        var x = images.Narrow(0, 0, Math.Min(8, images.Shape[0]));
        var adversarial = new Pgd(model, o.Epsilon, Pgd.DefaultAlpha(o.Epsilon, o.AttackSteps), o.AttackSteps) { Generator = new Generator(o.Seed) }
            .Perturb(x, labels.Narrow(0, 0, x.Shape[0]));
        var path = Path.Combine(o.Out, "pgd_examples.png");
        AdversarialPanel.Save(path, x, adversarial, o.Epsilon);
        log.WriteLine($"wrote {path}");
    }
}
