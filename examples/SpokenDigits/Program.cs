// Speech on espeak-ng voices the model never heard: a keyword-spotting CNN classifying spoken digits ("kws"), and a
// conv + BiLSTM recogniser trained with CTC loss on spoken digit strings ("ctc"), both on normalised log-mel features.
// Run: dotnet run -c Release --project examples/SpokenDigits -- kws [epochs] [voices] [variants]
//      dotnet run -c Release --project examples/SpokenDigits -- ctc [epochs] [voices] [variants] [sentences]   (default 40 8 3 10)
using DeepSharp;
using DeepSharp.Audio;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i]) : fallback;
if (args.Length > 0 && args[0] == "ctc") SpeechExample.Ctc(Arg(1, 40), Arg(2, 8), Arg(3, 3), Arg(4, 10), null, Console.Out);
else SpeechExample.Kws(Arg(1, 10), Arg(2, 8), Arg(3, 3), null, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class SpeechExample
{
    /// <summary>Trains the <see cref="KeywordCnn"/> on spoken digits and returns the accuracy on the held-out voices.</summary>
    public static double Kws(int epochs, int voices, int variants, string? cacheDir, TextWriter output, int seed = 42)
    {
        var digits = SpokenDigits.Load(cacheDir, voices: voices, variants: variants, log: output.WriteLine);
        var features = SpokenDigits.Features(digits.Audio);                      // (N, 1, 40, 101)
        Tensor Take(Tensor t, long[] idx) => t.IndexSelect(0, Tensor.FromArray(idx, idx.Length));
        var (train, test) = (digits.Indices(test: false), digits.Indices(test: true));
        DeepSharp.Random.Seed(seed);
        var model = new KeywordCnn(10, 16);
        var optimizer = new AdamW(model.Parameters(), lr: 2e-3);
        var trainer = new Trainer(model, optimizer, F.CrossEntropy) { StepSchedulerPerBatch = true };
        trainer.Scheduler = new CosineAnnealingLR(optimizer, epochs * ((train.Length + 31) / 32));
        trainer.Fit(new DataLoader(new TensorDataset(Take(features, train), Take(digits.Labels, train)), 32, shuffle: true, generator: new Generator(seed)), null, epochs);
        double accuracy = trainer.Evaluate(new DataLoader(new TensorDataset(Take(features, test), Take(digits.Labels, test)), 256))["acc"];
        output.WriteLine($"kws: {train.Length} training clips, {test.Length} from held-out voices; test accuracy: {accuracy:F4}");
        return accuracy;
    }

    /// <summary>Trains the <see cref="CtcRecognizer"/> on spoken digit strings; returns the held-out word error rate and the first and last epoch's training loss.</summary>
    public static (double Wer, double FirstLoss, double LastLoss) Ctc(int epochs, int voices, int variants, int sentences, string? cacheDir,
        TextWriter output, int seed = 42, int hidden = 96, int batchSize = 16, double lr = 2e-3)
    {
        var data = SpokenDigitStrings.Load(cacheDir, voices: voices, variants: variants, sentences: sentences, log: output.WriteLine);
        var (train, test) = (data.Indices(test: false), data.Indices(test: true));
        DeepSharp.Random.Seed(seed);
        var model = new CtcRecognizer(40, hidden, 2);
        var optimizer = new AdamW(model.Parameters(), lr: lr);
        var trainer = new Trainer(model, optimizer, CtcRecognizer.Loss, metrics: []) { ClipGradNorm = 5.0, StepSchedulerPerBatch = true };
        trainer.Scheduler = new CosineAnnealingLR(optimizer, epochs * ((train.Length + batchSize - 1) / batchSize));
        var history = trainer.Fit(new DataLoader(new TensorDataset(data.Features(train), data.Targets(train)), batchSize, shuffle: true, generator: new Generator(seed)), null, epochs);
        var hypotheses = CtcRecognizer.Transcribe(model, data.Features(test));
        var references = test.Select(data.Text).ToArray();
        double wer = CtcDecoding.WordErrorRate(references, hypotheses);
        output.WriteLine($"ctc: {train.Length} training clips, {test.Length} from held-out voices; loss {history[0]["loss"]:F3} -> {history[^1]["loss"]:F3}; heard \"{hypotheses[0]}\" for \"{references[0]}\"; test wer: {wer:F4}");
        return (wer, history[0]["loss"], history[^1]["loss"]);
    }
}
