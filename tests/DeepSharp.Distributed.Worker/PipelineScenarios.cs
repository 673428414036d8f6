using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Distributed.Worker;

/// <summary>
/// GPipe over the ranks against the same Sequential in one process (float64): losses, gradients and the weights after
/// three SGD steps must agree; args[0] = micro-batches per batch.
/// </summary>
static class PipelineScenarios
{
    const int Batch = 24, Features = 12, Classes = 5;

    static Sequential BuildModel()
    {
        DeepSharp.Random.Seed(21);
        var model = new Sequential(new Linear(Features, 32), new Tanh(), new Linear(32, 32), new ReLU(), new Linear(32, 16), new Tanh(), new Linear(16, Classes));
        model.To(DType.Float64);
        return model;
    }

    public static void Run(ProcessGroup g, string[] args)
    {
        int chunks = args.Length > 0 ? int.Parse(args[0]) : 4;
        var gen = new Generator(5);
        var reference = BuildModel();
        var whole = BuildModel();
        var pipe = new Pipeline(whole, chunks);
        var refOpt = new SGD(reference.Parameters(), lr: 0.1, momentum: 0.9);
        var opt = new SGD(pipe.Stage.Parameters(), lr: 0.1, momentum: 0.9);
        for (int step = 0; step < 3; step++)
        {
            var x = Tensor.Randn([Batch, Features], dtype: DType.Float64, generator: gen);
            var y = Tensor.FromArray(Enumerable.Range(0, Batch).Select(_ => gen.NextInt64(0, Classes)).ToArray());
            refOpt.ZeroGrad();
            var expectedLoss = F.CrossEntropy(reference.Call(x), y);
            expectedLoss.Backward();
            refOpt.Step();

            opt.ZeroGrad();
            double loss = pipe.Step(pipe.IsFirst ? x : null, pipe.IsLast ? y : null, F.CrossEntropy);
            Check.Close([expectedLoss.Item()], [loss], 1e-12, $"pipeline loss, step {step}");
            opt.Step();
        }
        var expected = reference.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        foreach (var (name, tensor) in pipe.Stage.NamedParameters())
            Check.Close(expected[name].ToArray<double>(), tensor.ToArray<double>(), 1e-12, $"pipeline parameter {name}");
        var probe = Tensor.Randn([Batch, Features], dtype: DType.Float64, generator: gen);
        var output = pipe.Forward(pipe.IsFirst ? probe : null);
        if (pipe.IsLast) Check.Close(reference.Call(probe).ToArray<double>(), output!.ToArray<double>(), 1e-12, "pipeline forward");

        // a batch that the chunks do not divide (26 = 7+7+6+6 for 4 chunks): the loss is still the whole batch's mean, and
        // StepWithOutput gives every rank the last stage's output
        var xu = Tensor.Randn([26, Features], dtype: DType.Float64, generator: gen);
        var yu = Tensor.FromArray(Enumerable.Range(0, 26).Select(_ => gen.NextInt64(0, Classes)).ToArray());
        refOpt.ZeroGrad();
        var refOutput = reference.Call(xu);
        var refLoss = F.CrossEntropy(refOutput, yu);
        refLoss.Backward();
        refOpt.Step();
        opt.ZeroGrad();
        var (unevenLoss, shared) = pipe.StepWithOutput(pipe.IsFirst ? xu : null, pipe.IsLast ? yu : null, F.CrossEntropy);
        opt.Step();
        Check.Close([refLoss.Item()], [unevenLoss], 1e-12, "pipeline loss of an uneven batch");
        Check.Close(refOutput.Detach().ToArray<double>(), shared.ToArray<double>(), 1e-12, "pipeline output shared with every rank");
        using (Autograd.NoGrad())
            Check.Close(reference.Call(xu).ToArray<double>(), pipe.ForwardAll(pipe.IsFirst ? xu : null).ToArray<double>(), 1e-12, "pipeline ForwardAll on every rank");
        // after GatherModel every rank's whole model holds every stage's trained weights
        pipe.GatherModel();
        var wholeParameters = whole.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        foreach (var (name, tensor) in reference.NamedParameters())
            Check.Close(tensor.ToArray<double>(), wholeParameters[name].ToArray<double>(), 1e-12, $"gathered parameter {name}");
        Console.WriteLine($"rank {g.Rank}: gathered {wholeParameters.Count} parameters, uneven batch equal to one process");
        Console.WriteLine($"rank {g.Rank}: stage of layers {pipe.FirstLayer}..{pipe.FirstLayer + pipe.Stage.Count - 1}, {chunks} micro-batches, equal to one process");
    }
}
