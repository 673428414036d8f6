using System.Globalization;
using DeepSharp.Audio;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp train --dataset spoken-digits --model kws`: synthesises (once) the espeak-ng spoken digits, trains the
/// keyword-spotting CNN on log-mel features in the <see cref="Trainer"/>, and ends with `test accuracy: X` on the
/// held-out voices. Writes DIR/model.safetensors, DIR/history.csv and DIR/spectrogram.png (what the model hears).
/// </summary>
public static class AudioTraining
{
    const string Usage = """
        usage: deepsharp train --dataset spoken-digits --model kws [--epochs N] [--batch-size N] [--lr X] [--width N]
                               [--voices N] [--variants N] [--copies N] [--seed N] [--out DIR] [--data DIR]
          Synthesises spoken digits with espeak-ng into DIR/spoken-digits (default $DEEPSHARP_DATA or ~/.cache/deepsharp;
          the first --voices of 24 voices (default 8), --variants of 9 rate x pitch variants (default 3), each word placed
          --copies times (default 1); the full recipe is --voices 24 --variants 9 --copies 2), trains on 3 of every 4
          voices and tests on the others.
          Defaults: 10 epochs, batch 32, AdamW lr 2e-3 with cosine decay, width 16, seed 42, out runs/kws.
        deepsharp train --dataset spoken-digit-strings --model ctc ...: see 'deepsharp train --dataset spoken-digit-strings --help'.
        """;

    static readonly string[] Options = ["dataset", "model", "epochs", "batch-size", "lr", "width", "voices", "variants", "copies", "seed", "out", "data"];

    /// <summary>True when --dataset names an audio dataset.</summary>
    public static bool Handles(string[] args) =>
        args.Select((a, i) => a == "--dataset" && i + 1 < args.Length ? args[i + 1] : a.StartsWith("--dataset=", StringComparison.Ordinal) ? a[10..] : null)
            .Any(v => v is "spoken-digits" or "spoken-digit-strings");

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        if (CtcTraining.Handles(args)) return CtcTraining.Run(args, output);
        var p = new ArgParser("train", args, Options, []);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        p.String("dataset", "spoken-digits", "spoken-digits");
        p.String("model", "kws", "kws");
        int epochs = p.Int("epochs", 10, 1), batchSize = p.Int("batch-size", 32, 1), width = p.Int("width", 16, 1), seed = p.Int("seed", 42);
        double lr = p.Double("lr", 2e-3, 0);
        if (!SpeechSynthesizer.IsAvailable) throw new UsageException("deepsharp train: spoken-digits needs espeak-ng (apt-get install espeak-ng)");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var digits = SpokenDigits.Load(p.OptionalString("data"), seed: 0, voices: p.Int("voices", 8, 4, 24), variants: p.Int("variants", 3, 1, 9),
            copies: p.Int("copies", 1, 1, 16), log: output.WriteLine);
        var features = SpokenDigits.Features(digits.Audio);                 // (N, 1, 40, 101)
        output.WriteLine($"data and features ready in {clock.Elapsed.TotalSeconds:F1} s");
        var (trainIdx, testIdx) = (digits.Indices(test: false), digits.Indices(test: true));
        Tensor Take(Tensor t, long[] idx) => t.IndexSelect(0, Tensor.FromArray(idx, idx.Length));
        var train = new TensorDataset(Take(features, trainIdx), Take(digits.Labels, trainIdx));
        var test = new TensorDataset(Take(features, testIdx), Take(digits.Labels, testIdx));
        output.WriteLine($"spoken-digits: {trainIdx.Length} training clips, {testIdx.Length} test clips from held-out voices");

        DeepSharp.Random.Seed(seed);
        var model = new KeywordCnn(10, width);
        var optimizer = new AdamW(model.Parameters(), lr: lr);
        var trainLoader = new DataLoader(train, batchSize, shuffle: true, generator: new Generator(seed));
        var testLoader = new DataLoader(test, 256);
        var trainer = new Trainer(model, optimizer, F.CrossEntropy);
        trainer.Scheduler = new CosineAnnealingLR(optimizer, Math.Max(1, epochs * ((trainIdx.Length + batchSize - 1) / batchSize)));
        trainer.StepSchedulerPerBatch = true;
        var outDir = p.OptionalString("out") ?? Path.Combine("runs", "kws");
        Directory.CreateDirectory(outDir);
        trainer.Fit(trainLoader, null, epochs, [new CsvLogger(Path.Combine(outDir, "history.csv"))]);
        var result = trainer.Evaluate(testLoader);
        var modelPath = Path.Combine(outDir, "model.safetensors");
        SafeTensors.Save(modelPath, model.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = "kws", ["deepsharp.width"] = width.ToString(CultureInfo.InvariantCulture) });
        SpectrogramImage.Save(features.Select(0, (int)testIdx[0]).Reshape(40, -1), Path.Combine(outDir, "spectrogram.png"), scale: 4, dynamicRange: 6);
        output.WriteLine($"saved {modelPath} and {Path.Combine(outDir, "spectrogram.png")}");
        output.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s (data included)");
        output.WriteLine($"test accuracy: {result["acc"].ToString("F4", CultureInfo.InvariantCulture)}");
        return 0;
    }
}
