using System.Diagnostics;
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
/// `deepsharp train --dataset spoken-digit-strings --model ctc`: synthesises (once) spoken digit strings, trains the
/// <see cref="CtcRecognizer"/> with CTC loss in the <see cref="Trainer"/>, and ends with `test wer: X` (greedy decoding)
/// on the held-out voices. Writes DIR/model.safetensors (loadable by `deepsharp transcribe`) and DIR/history.csv.
/// </summary>
public static class CtcTraining
{
    const string Usage = """
        usage: deepsharp train --dataset spoken-digit-strings --model ctc [--epochs N] [--batch-size N] [--lr X] [--hidden N]
                               [--layers N] [--voices N] [--variants N] [--sentences N] [--seed N] [--out DIR] [--data DIR]
          Synthesises strings of 3-5 spoken digits with espeak-ng into DIR/spoken-digit-strings (default $DEEPSHARP_DATA or
          ~/.cache/deepsharp; the first --voices of 24 voices (default 8), --variants of 9 rate x pitch variants (default 3),
          --sentences strings each (default 10); the full recipe is --voices 24 --variants 9 --sentences 12), trains a
          conv + BiLSTM recogniser with CTC loss on 3 of every 4 voices and reports the word error rate on the others.
          Defaults: 40 epochs, batch 8, AdamW lr 2e-3 with cosine decay, hidden 96, 2 layers, seed 42, out runs/ctc
          (CTC first sits on the all-blank plateau; it needs a few hundred steps to leave it: docs/audio.md).
        """;

    static readonly string[] Options = ["dataset", "model", "epochs", "batch-size", "lr", "hidden", "layers", "voices", "variants", "sentences", "seed", "out", "data"];

    /// <summary>True when --dataset is spoken-digit-strings.</summary>
    public static bool Handles(string[] args) =>
        args.Select((a, i) => a == "--dataset" && i + 1 < args.Length ? args[i + 1] : a.StartsWith("--dataset=", StringComparison.Ordinal) ? a[10..] : null)
            .Any(v => v is "spoken-digit-strings");

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("train", args, Options, []);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        p.String("dataset", "spoken-digit-strings", "spoken-digit-strings");
        p.String("model", "ctc", "ctc");
        int epochs = p.Int("epochs", 40, 1), batchSize = p.Int("batch-size", 8, 1), hidden = p.Int("hidden", 96, 1), layers = p.Int("layers", 2, 1, 8), seed = p.Int("seed", 42);
        double lr = p.Double("lr", 2e-3, 0);
        if (!SpeechSynthesizer.IsAvailable) throw new UsageException("deepsharp train: spoken-digit-strings needs espeak-ng (apt-get install espeak-ng)");
        var clock = Stopwatch.StartNew();
        var data = SpokenDigitStrings.Load(p.OptionalString("data"), seed: 0, voices: p.Int("voices", 8, 4, 24), variants: p.Int("variants", 3, 1, 9),
            sentences: p.Int("sentences", 10, 1, 1000), log: output.WriteLine);
        var (trainIdx, testIdx) = (data.Indices(test: false), data.Indices(test: true));
        var train = new TensorDataset(data.Features(trainIdx), data.Targets(trainIdx));    // (N, 40, 351), (N, 5)
        var testFeatures = data.Features(testIdx);
        output.WriteLine($"spoken-digit-strings: {trainIdx.Length} training clips, {testIdx.Length} test clips from held-out voices (data ready in {clock.Elapsed.TotalSeconds:F1} s)");

        DeepSharp.Random.Seed(seed);
        var model = new CtcRecognizer(40, hidden, layers);
        var optimizer = new AdamW(model.Parameters(), lr: lr);
        var trainer = new Trainer(model, optimizer, CtcRecognizer.Loss, metrics: []) { ClipGradNorm = 5.0, StepSchedulerPerBatch = true };
        trainer.Scheduler = new CosineAnnealingLR(optimizer, Math.Max(1, epochs * ((trainIdx.Length + batchSize - 1) / batchSize)));
        var outDir = p.OptionalString("out") ?? Path.Combine("runs", "ctc");
        Directory.CreateDirectory(outDir);
        trainer.Fit(new DataLoader(train, batchSize, shuffle: true, generator: new Generator(seed)), null, epochs, [new CsvLogger(Path.Combine(outDir, "history.csv"))]);

        var hypotheses = CtcRecognizer.Transcribe(model, testFeatures);
        var references = testIdx.Select(data.Text).ToArray();
        for (int i = 0; i < Math.Min(3, testIdx.Length); i++) output.WriteLine($"  heard \"{hypotheses[i]}\" for \"{references[i]}\"");
        var modelPath = Path.Combine(outDir, "model.safetensors");
        SafeTensors.Save(modelPath, model.StateDict(), new Dictionary<string, string>
        {
            ["deepsharp.model"] = "ctc", ["deepsharp.hidden"] = hidden.ToString(CultureInfo.InvariantCulture), ["deepsharp.layers"] = layers.ToString(CultureInfo.InvariantCulture),
        });
        output.WriteLine($"saved {modelPath}; trained in {clock.Elapsed.TotalSeconds:F1} s (data included)");
        output.WriteLine($"test cer: {CtcDecoding.CharErrorRate(references, hypotheses).ToString("F4", CultureInfo.InvariantCulture)}");
        output.WriteLine($"test wer: {CtcDecoding.WordErrorRate(references, hypotheses).ToString("F4", CultureInfo.InvariantCulture)}");
        return 0;
    }
}
