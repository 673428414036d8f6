using DeepSharp.Compression.Distillation;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using static DeepSharp.Cli.Commands.CompressionRuns;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp distill --teacher MODEL --student small-cnn`: Hinton knowledge distillation into a smaller model.</summary>
public static class DistillCommand
{
    const string Usage = """
        usage: deepsharp distill --teacher MODEL [--student small-cnn] [--epochs N] [--temperature T] [--alpha A] [--hint X]
                                 [--baseline] [--out FILE] [--lr X] [--batch-size N] [--limit N] [--test-limit N] [--data DIR]
          Trains a student against a teacher saved by 'deepsharp train' with Hinton's loss: alpha * T^2 * KL(teacher/T ||
          student/T) + (1 - alpha) * cross-entropy. small-cnn is the Fashion CNN at half width (a quarter of its parameters).
          --hint X adds X times a FitNets hint loss between the students' and the teacher's conv features (a 1x1 conv
          regressor). --baseline also trains the student alone on the same budget, for the comparison table. Defaults:
          3 epochs, T 4, alpha 0.9, adam lr 1e-3, batch 128, out TEACHER_DIR/student.safetensors.
        """;

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("distill", args, ["teacher", "student", "epochs", "temperature", "alpha", "hint", .. Options], ["baseline"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.OptionalString("teacher") is not { } teacherPath)
            throw new UsageException("deepsharp distill: give the teacher, e.g. 'deepsharp distill --teacher runs/cnn/model.safetensors --student small-cnn'.");
        p.String("student", "small-cnn", "small-cnn");
        int epochs = p.Int("epochs", 3, 1, 1000), batchSize = p.Int("batch-size", 128, 1, 65_536);
        double temperature = p.Double("temperature", 4, 1e-6), alpha = p.Double("alpha", 0.9, 0), hint = p.Double("hint", 0, 0), lr = p.Double("lr", 1e-3, 0);
        if (alpha > 1) throw new UsageException($"deepsharp distill: --alpha must lie in [0, 1] (got {alpha}).");
        Kernels.KernelThreadPool.SetThreadCount(p.Int("threads", Environment.ProcessorCount, 1, 1024));
        int seed = p.Int("seed", 0, 0);
        var (teacher, info) = EvaluateCommand.LoadModel(teacherPath, "distill");
        if (info.Channels != 1 || info.Size != 28) throw new UsageException("deepsharp distill: the small-cnn student is for 28x28 grey images (Fashion-MNIST, MNIST).");
        var data = ImageTraining.LoadData(info.Name, p.OptionalString("data"), false, p.Int("limit", 0, 0), p.Int("test-limit", 0, 0), output, info.Size);
        int[] shape = [info.Channels, info.Size, info.Size];
        output.WriteLine($"teacher: {teacher.ParameterCount():N0} parameters, test accuracy {F4(Accuracy(teacher, data.Test, batchSize))}, {LatencyMs(teacher, shape):F2} ms per batch of 64");

        if (p.Flag("baseline"))
        {
            DeepSharp.Random.Seed(seed);
            var alone = Students.SmallCnn(info.Classes.Length);
            Fit(new Trainer(alone, new Adam(alone.Parameters(), lr), F.CrossEntropy), data.Train, batchSize, epochs);
            output.WriteLine($"student alone: {alone.ParameterCount():N0} parameters, test accuracy {F4(Accuracy(alone, data.Test, batchSize))}, {LatencyMs(alone, shape):F2} ms per batch of 64");
        }
        DeepSharp.Random.Seed(seed);
        var student = Students.SmallCnn(info.Classes.Length);
        var options = new DistillationOptions(temperature, alpha, hint, hint > 0 ? "features" : null, hint > 0 ? "features" : null);
        var distiller = new Distiller(student, teacher, options, hint > 0 ? new Conv2d(32, 64, 1) : null);
        Fit(new Trainer(distiller, new Adam(distiller.Parameters(), lr), distiller.Step, [new Training.Metrics.Accuracy()]), data.Train, batchSize, epochs);
        double acc = Accuracy(student, data.Test, batchSize);
        output.WriteLine($"distilled student: {student.ParameterCount():N0} parameters, test accuracy {F4(acc)}, {LatencyMs(student, shape):F2} ms per batch of 64 (T {temperature}, alpha {alpha})");
        var outPath = p.OptionalString("out") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Directory.Exists(teacherPath) ? Path.Combine(teacherPath, "x") : teacherPath))!, "student.safetensors");
        Save(outPath, student, "cnn", info.Name, acc, new() { ["deepsharp.shrunk"] = "true", ["deepsharp.distilled_from"] = Path.GetFileName(teacherPath) });
        output.WriteLine($"saved {outPath}");
        output.WriteLine($"test accuracy: {F4(acc)}");
        return 0;
    }
}
