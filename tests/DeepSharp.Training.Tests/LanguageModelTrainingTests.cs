using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Training.Tests;

/// <summary>A language model trained by the Trainer on <see cref="LanguageModelRun"/>'s data, as the examples and the CLI do.</summary>
public class LanguageModelTrainingTests
{
    static readonly string[] Documents = [.. Enumerable.Range(0, 40).Select(i => $"entry {i}: the cat sat on the mat {i % 7}. ab ab ab ab ab ab.")];

    static LanguageModelRun Run() =>
        LanguageModelRun.SplitDocuments(Documents, CharTokenizer.FromCorpus([.. Documents, "\n"]), blockSize: 16, validationFraction: 0.25, seed: 3);

    static Trainer BigramTrainer(LanguageModelRun run, out Embedding bigram)
    {
        int vocab = run.Tokenizer.VocabSize;
        DeepSharp.Random.Seed(0);
        bigram = new Embedding(vocab, vocab);   // logits of the next character given this one
        var optimizer = new Adam(bigram.Parameters(), lr: 0.1);
        var trainer = new Trainer(bigram, optimizer, LanguageModelRun.NextTokenLoss, metrics: [], progress: new PlainProgress(TextWriter.Null))
        {
            ClipGradNorm = 1.0, StepSchedulerPerBatch = true,
        };
        trainer.Scheduler = ProgressLR.WarmupCosine(optimizer, () => trainer.BudgetUsed, warmup: 0.1);
        return trainer;
    }

    [Fact]
    public void BigramLearnsUnderAStepBudgetWithTheWarmupCosineSchedule()
    {
        var run = Run();
        var trainer = BigramTrainer(run, out var bigram);
        double before = run.Evaluate(bigram).BitsPerCharacter;
        var lines = new List<string>();
        trainer.Fit(run.TrainLoader(8, new Generator(0)), null, TrainingBudget.Steps(60), [new StepLogger(25, lines.Add)]);
        double after = run.Evaluate(bigram).BitsPerCharacter;
        Assert.Equal(60, trainer.GlobalStep);
        Assert.Equal(["step     25", "step     50", "step     60"], lines.Select(l => l[..11]));
        Assert.True(after < 0.6 * before, $"bpc {before:F3} -> {after:F3}");
        Assert.True(trainer.History[^1]["loss"] < Math.Log(run.Tokenizer.VocabSize) * 0.6);
        Assert.Equal(0.01, trainer.Optimizer.ParamGroups[0].Lr, 12);   // the schedule ends at its floor: 0.1 × minFactor 0.1

        var again = BigramTrainer(run, out var bigram2);                      // same seeds, same run
        again.Fit(run.TrainLoader(8, new Generator(0)), null, TrainingBudget.Steps(60));
        Assert.Equal(bigram.Weight.ToArray<float>(), bigram2.Weight.ToArray<float>());
    }

    [Fact]
    public void WarmupCosineFactorHasItsDocumentedShape()
    {
        Assert.Equal(0.1, WarmupCosineLR.Factor(0, 0.1)(1.0), 12);
        Assert.Equal(1.0, WarmupCosineLR.Factor(0.2)(0.2), 12);
        Assert.Equal(0.001 / 0.021, WarmupCosineLR.Factor()(0), 12);          // the first step is not wasted
        Assert.Equal(0.55, WarmupCosineLR.Factor(0, 0.1)(0.5), 12);           // half-way down the cosine
        Assert.Throws<ArgumentOutOfRangeException>(() => WarmupCosineLR.Factor(warmup: 1));
    }
}
