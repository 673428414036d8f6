using System.Globalization;
using DeepSharp.Data;
using DeepSharp.Robustness;
using DeepSharp.Vision.Datasets;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp attack MODEL --method fgsm|pgd|pgd-l2 --eps X`: robust accuracy on the test set and a picture of examples.</summary>
public static class AttackCommand
{
    const string Usage = """
        usage: deepsharp attack MODEL [--method fgsm|pgd|pgd-l2] [--eps X] [--steps N] [--limit N] [--out FILE.png]
                                      [--batch-size N] [--seed N] [--data DIR] [--threads N]
          Attacks a model saved by 'deepsharp train' on its test set (images in [0, 1]) and prints the clean and the robust
          accuracy (the fraction still classified correctly). fgsm: one signed-gradient step of size eps; pgd: L-inf PGD
          with a random start, --steps steps of 2.5*eps/steps (Madry et al.); pgd-l2: the same under an L2 budget.
          Defaults: pgd, eps 0.1, 20 steps, the first 1000 test images (--limit 0: all), seed 0. Writes FILE.png (default:
          attack_METHOD.png beside the model): 8 test images, their adversarial versions, and the perturbations
          (grey: unchanged, white +eps, black -eps).
        """;

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("attack", args, ["method", "eps", "steps", "limit", "out", "batch-size", "seed", "data", "threads"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count != 1) throw new UsageException("deepsharp attack: give the model file, e.g. 'deepsharp attack runs/cnn/model.safetensors --method pgd --eps 0.1'.");
        var method = p.String("method", "pgd", Attacks.Methods);
        double eps = p.Double("eps", 0.1, 0);
        int steps = p.Int("steps", 20, 1, 100_000);
        int limit = p.Int("limit", 1000, 0);
        int batchSize = p.Int("batch-size", 250, 1, 65_536);
        Kernels.KernelThreadPool.SetThreadCount(p.Int("threads", Environment.ProcessorCount, 1, 1024));
        var modelPath = p.Positionals[0];
        var (model, data) = EvaluateCommand.LoadModel(modelPath);
        if (FolderImages.IsFolder(data.Name))
            throw new UsageException("deepsharp attack: attacks work in [0, 1] pixel space, and a folder model normalises its inputs in the data pipeline; attack a Fashion-MNIST, MNIST or CIFAR model.");
        var (test, classes, _) = ImageTraining.LoadSplit(data.Name, train: false, p.OptionalString("data"), imageSize: data.Size);
        var attack = Attacks.Create(method, model, eps, steps, new Generator(p.Int("seed", 0, 0)));
        var loader = new DataLoader(test, batchSize);
        output.WriteLine($"{attack} on {(limit > 0 ? Math.Min(limit, test.Count) : test.Count)} {data.Name} test images");

        var clean = RobustEvaluation.Accuracy(model, loader, null, limit);
        Tensor? shownClean = null, shownAdversarial = null, shownLabels = null;
        var robust = RobustEvaluation.Accuracy(model, loader, attack, limit, (x, adversarial, y) =>
        {
            if (shownClean is not null) return;
            int n = Math.Min(8, x.Shape[0]);
            (shownClean, shownAdversarial, shownLabels) = TensorScope.Suspend(() =>         // kept past the batch's scope
                (x.Narrow(0, 0, n).Clone(), adversarial.Narrow(0, 0, n).Clone(), y.Narrow(0, 0, n).Clone()));
        });
        output.WriteLine($"clean accuracy: {clean.Accuracy.ToString("F4", CultureInfo.InvariantCulture)}");
        output.WriteLine($"robust accuracy: {robust.Accuracy.ToString("F4", CultureInfo.InvariantCulture)} ({method}, eps {eps.ToString(CultureInfo.InvariantCulture)})");

        var outPath = p.OptionalString("out") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, $"attack_{method}.png");
        AdversarialPanel.Save(outPath, shownClean!, shownAdversarial!, method == "pgd-l2" ? Math.Min(eps, 0.5) : eps);
        var before = RobustEvaluation.Predict(model, shownClean!).ToArray<long>();
        var after = RobustEvaluation.Predict(model, shownAdversarial!).ToArray<long>();
        var truth = shownLabels!.ToArray<long>();
        output.WriteLine($"wrote {outPath}: rows clean / adversarial / perturbation; per column true -> clean prediction -> adversarial prediction:");
        for (int i = 0; i < truth.Length; i++) output.WriteLine($"  {i + 1}. {classes[truth[i]]} -> {classes[before[i]]} -> {classes[after[i]]}");
        return 0;
    }
}
