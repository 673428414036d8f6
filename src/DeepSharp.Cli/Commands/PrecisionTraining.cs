using DeepSharp.Compression.MixedPrecision;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp train --precision fp32|bf16|fp16`: the trainer for a mixed-precision run (docs/compression.md).</summary>
static class PrecisionTraining
{
    static MixedPrecisionStep? current;

    /// <summary>The precision named by --precision (fp32 by default).</summary>
    public static Precision Parse(ArgParser p) => p.String("precision", "fp32", "fp32", "bf16", "fp16") switch
    {
        "bf16" => Precision.BFloat16, "fp16" => Precision.Float16, _ => Precision.Float32,
    };

    /// <summary>A trainer running the model under autocast with a loss scaler for fp16, or null for fp32 (the ordinary trainer).</summary>
    public static Trainer? Create(ArgParser p, Module<Tensor, Tensor> model, Optimizer optimizer, TextWriter output)
    {
        var precision = Parse(p);
        if (precision == Precision.Float32) return null;
        if (p.String("adversarial", "none") != "none") throw new UsageException("deepsharp train: --precision bf16|fp16 does not combine with --adversarial.");
        current = new MixedPrecisionStep(model, optimizer, precision);
        output.WriteLine($"precision {p.String("precision", "fp32")}: Linear/conv on {precision} tensors (float32 accumulation, 16-bit activations) with float32 master weights" +
                         (current.Scaler != null ? $"; dynamic loss scale from {current.Scaler.ScaleValue:G}" : ""));
        return new MixedPrecisionTrainer(model, optimizer, current) { AutomaticOptimization = false };
    }

    /// <summary>Prints the loss scaler's outcome and warnings after training (a collapsed fp16 scale).</summary>
    public static void Report(TextWriter output)
    {
        if (current?.Scaler is { } s) output.WriteLine($"loss scale {s.ScaleValue:G}, {s.SkippedSteps} steps skipped for inf/NaN gradients");
        foreach (var w in current?.Warnings ?? []) output.WriteLine("warning: " + w);
    }

    /// <summary>A trainer whose validation runs the same step, which only scores (no update) when the context is not training.</summary>
    sealed class MixedPrecisionTrainer(Module model, Optimizer optimizer, MixedPrecisionStep amp)
        : Trainer(model, optimizer, amp.Step, [new Training.Metrics.Accuracy()])
    {
        protected override Tensor? ValidationStep(StepContext context) => amp.Step(context);
    }
}
