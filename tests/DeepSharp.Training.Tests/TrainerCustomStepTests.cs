using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Training.Tests;

/// <summary>Models whose loss is not loss(model(x), y): a GAN (two optimizers, alternating manual steps), a VAE
/// (a loss of two parts, both logged), distillation through an overridden step, and a step that skips batches.</summary>
public class TrainerCustomStepTests
{
    static readonly PlainProgress Quiet = new(TextWriter.Null);

    /// <summary>A one-dimensional GAN: real samples from N(3, 0.5²), a linear generator of N(0, 1) noise, a small MLP critic.</summary>
    internal sealed record Gan(Linear Generator, Sequential Discriminator, Sequential Model, Adam GeneratorOptimizer, Adam DiscriminatorOptimizer)
    {
        public static Gan Create(long seed)
        {
            DeepSharp.Random.Seed(seed);
            var generator = new Linear(1, 1);
            var discriminator = new Sequential(new Linear(1, 16), new ReLU(), new Linear(16, 1));
            var model = new Sequential(("generator", generator), ("discriminator", discriminator));
            return new Gan(generator, discriminator, model, new Adam(generator.Parameters(), 0.02, betas: (0.5, 0.999)),
                           new Adam(discriminator.Parameters(), 0.02, betas: (0.5, 0.999)));
        }

        /// <summary>Lightning's manual optimization: the critic's step, then the generator's, each with its own optimizer.</summary>
        public Tensor? Step(StepContext context)
        {
            var real = context.Input;                                          // (B, 1)
            int n = real.Shape[0];
            var (ones, zeros) = (Tensor.Ones(n, 1), Tensor.Zeros(n, 1));
            var fake = Generator.Call(Tensor.Randn(n, 1));
            DiscriminatorOptimizer.ZeroGrad();
            var criticLoss = F.BinaryCrossEntropyWithLogits(Discriminator.Call(real), ones)
                           + F.BinaryCrossEntropyWithLogits(Discriminator.Call(fake.Detach()), zeros);
            context.Backward(criticLoss);
            context.Step(DiscriminatorOptimizer);
            GeneratorOptimizer.ZeroGrad();
            var generatorLoss = F.BinaryCrossEntropyWithLogits(Discriminator.Call(fake), ones);
            context.Backward(generatorLoss);
            context.Step(GeneratorOptimizer);
            context.Log("d_loss", criticLoss);
            context.Log("g_loss", generatorLoss);
            return null;
        }

        public Trainer Trainer() => new(Model, [GeneratorOptimizer, DiscriminatorOptimizer], Step, progress: Quiet) { AutomaticOptimization = false };

        public static TensorDataset RealData(int n = 512) => new(Tensor.Randn([n, 1], generator: new Generator(11)) * 0.5 + 3);

        public double GeneratedMean() => Generator.Call(Tensor.Randn([2000, 1], generator: new Generator(12))).Mean().Item();
    }

    [Fact]
    public void GanWithTwoOptimizersAndAlternatingManualSteps()
    {
        var gan = Gan.Create(seed: 1);
        double before = gan.GeneratedMean();
        var discriminatorBefore = gan.Discriminator.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var trainer = gan.Trainer();
        trainer.Fit(new DataLoader(Gan.RealData(), 32, shuffle: true), epochs: 12);
        double after = gan.GeneratedMean();
        Assert.Equal(12 * 16, trainer.GlobalStep);                          // a step per batch with manual optimization
        Assert.True(Math.Abs(after - 3) < 1 && Math.Abs(after - 3) < Math.Abs(before - 3) / 2,
                    $"the generator's mean went from {before:F3} to {after:F3}; the real mean is 3");
        Assert.All(gan.Discriminator.StateDict(), kv => Assert.NotEqual(discriminatorBefore[kv.Key].ToArray<float>(), kv.Value.ToArray<float>()));
        Assert.All(trainer.History, logs => Assert.True(double.IsFinite(logs["d_loss"]) && double.IsFinite(logs["g_loss"])));
        Assert.Equal(double.NaN, trainer.History[^1]["loss"]);              // the step returned no loss of its own
        var noValidation = Assert.Throws<InvalidOperationException>(() => trainer.Evaluate(new DataLoader(Gan.RealData(64), 32)));
        Assert.Contains("manual optimization", noValidation.Message);
    }

    [Fact]
    public void VaeStepLogsItsReconstructionAndKlTerms()
    {
        DeepSharp.Random.Seed(2);
        // Points near a line in 2-D: one latent dimension explains them.
        var t = Tensor.Randn([512, 1], generator: new Generator(21));
        var points = Tensor.Cat([t, t * 2 - 1], 1) + Tensor.Randn([512, 2], generator: new Generator(22)) * 0.05;
        var encoder = new Linear(2, 2);                                      // → (mean, log-variance) of z
        var decoder = new Sequential(new Linear(1, 16), new ReLU(), new Linear(16, 2));
        var model = new Sequential(("encoder", encoder), ("decoder", decoder));
        var sawEvaluation = false;
        Tensor Step(StepContext context)
        {
            var x = context.Input;
            int n = x.Shape[0];
            var stats = encoder.Call(x);
            var (mean, logVariance) = (stats.Narrow(1, 0, 1), stats.Narrow(1, 1, 1));
            var z = context.IsTraining ? mean + (logVariance * 0.5).Exp() * Tensor.RandnLike(mean) : mean;
            sawEvaluation |= !context.IsTraining;
            var reconstruction = F.MseLoss(decoder.Call(z), x, Reduction.Sum) / n;
            var kl = (1 + logVariance - mean * mean - logVariance.Exp()).Sum() * (-0.5 / n);
            context.Log("recon", reconstruction);
            context.Log("kl", kl);
            return reconstruction + kl;
        }
        var trainer = new Trainer(model, new Adam(model.Parameters(), 0.01), Step, progress: Quiet);
        var validation = new DataLoader(new TensorDataset(points.Narrow(0, 0, 128)), 64);
        trainer.Fit(new DataLoader(new TensorDataset(points), 32, shuffle: true), validation, epochs: 15);
        var first = trainer.History[0];
        var last = trainer.History[^1];
        Assert.Equal(["loss", "recon", "kl", "val_loss", "val_recon", "val_kl", "lr"], last.Keys);
        Assert.Equal(last["recon"] + last["kl"], last["loss"], 4);           // the epoch means add up like the step's parts
        Assert.True(last["loss"] < first["loss"] / 2, $"loss {first["loss"]:F3} -> {last["loss"]:F3}");
        Assert.True(last["kl"] > 0.1, $"kl {last["kl"]:F3}: the latent carries information");
        Assert.True(sawEvaluation);                                          // validation ran the same step in eval mode
        Assert.Equal(last["val_recon"] + last["val_kl"], last["val_loss"], 4);
    }

    /// <summary>Knowledge distillation by overriding the step (Keras's train_step override): the student matches a frozen teacher's outputs.</summary>
    sealed class DistillationTrainer(Linear student, Linear teacher, Optimizer optimizer)
        : Trainer(student, [optimizer], new PlainProgress(TextWriter.Null))
    {
        protected override Tensor? TrainingStep(StepContext context)
        {
            Tensor soft;
            using (Autograd.NoGrad()) soft = teacher.Call(context.Input);
            return F.MseLoss(student.Call(context.Input), soft);
        }
    }

    [Fact]
    public void OverriddenStepDistilsATeacher()
    {
        DeepSharp.Random.Seed(3);
        var teacher = new Linear(3, 2);
        var student = new Linear(3, 2);
        var trainer = new DistillationTrainer(student, teacher, new SGD(student.Parameters(), 0.2));
        trainer.Fit(new DataLoader(new TensorDataset(Tensor.Randn(256, 3)), 16, shuffle: true), epochs: 20);
        var (a, b) = (teacher.Weight.ToArray<float>(), student.Weight.ToArray<float>());
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 2);
        Assert.Throws<InvalidOperationException>(() => trainer.Predict(new DataLoader(new TensorDataset(Tensor.Randn(4, 3)), 4)));
    }

    [Fact]
    public void StepReturningNullSkipsTheBatch()
    {
        DeepSharp.Random.Seed(4);
        var model = new Linear(2, 1);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.1),
            context => context.Input.ToArray<float>()[0] < 0 ? null : F.MseLoss(model.Call(context.Input), context.Target),
            progress: Quiet);
        var x = Tensor.FromArray(new float[] { -1, 0, 1, 0, -1, 0, 1, 0 }, 4, 2);
        trainer.Fit(new DataLoader(new TensorDataset(x, Tensor.Zeros(4, 1)), 1), epochs: 1);
        Assert.Equal(2, trainer.GlobalStep);
        Assert.Throws<InvalidOperationException>(() => new Trainer(model, new SGD(model.Parameters(), 0.1), c =>
        {
            c.Backward(F.MseLoss(model.Call(c.Input), c.Target));           // backward belongs to the trainer here
            return null;
        }, progress: Quiet).Fit(new DataLoader(new TensorDataset(x, Tensor.Zeros(4, 1)), 2), epochs: 1));
    }
}
