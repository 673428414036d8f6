using KernelThreadPool = DeepSharp.Kernels.KernelThreadPool;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Tests.Optim;

/// <summary>
/// Holds the managed allocation of a steady-state training step of each `deepsharp bench` workload (issue #12: graph
/// nodes, shape arrays, closures and small arrays used to cost 30-150 KiB per step). Measured on one thread after
/// warm-up, so the count is deterministic; each budget sits just above what the step allocates now (docs/PERFORMANCE.md,
/// Allocation), so a change that brings allocations back fails here instead of showing up as gen-0 collections in a
/// benchmark. The models are the bench's (DeepSharp.Vision's LeNet5/FashionCnn and the Cli's LstmNet/TinyGpt), built
/// here from the same layers.
/// </summary>
[Collection(SerialCollection.Name)]
public class TrainingStepAllocationTests
{
    /// <summary>Bytes one steady-state step allocates: scope, ZeroGrad, forward, cross-entropy, backward, optimizer step.</summary>
    static long BytesPerStep(Module<Tensor, Tensor> model, Optimizer opt, Tensor x, Tensor y, bool sequenceTargets = false)
    {
        int threads = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(1);
        try
        {
            void Step()
            {
                using var scope = TensorScope.Begin();
                opt.ZeroGrad(setToNone: false);
                var output = model.Call(x);
                var loss = sequenceTargets ? F.CrossEntropy(output.Reshape(-1, output.Shape[^1]), y.Reshape(-1)) : F.CrossEntropy(output, y);
                loss.Backward();
                opt.Step();
            }
            for (int i = 0; i < 10; i++) Step();
            const int steps = 10;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steps; i++) Step();
            long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
            Assert.True(perStep > 0, "the measurement saw no allocation at all; GetAllocatedBytesForCurrentThread is not counting");
            return perStep;
        }
        finally { KernelThreadPool.SetThreadCount(threads); }
    }

    static long KiB(double kib) => (long)(kib * 1024);

    static void AssertWithin(string workload, long perStep, long budget)
        => Assert.True(perStep <= budget, $"a steady-state {workload} training step allocated {perStep} bytes (budget {budget})");

    [Fact]
    public void SteadyStateMlpStepStaysUnderItsAllocationBudget()
    {
        DeepSharp.Random.Seed(0);
        // 784-512-256-10, batch 128, SGD with momentum
        var model = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));
        var opt = new SGD(model.Parameters(), 0.01, momentum: 0.9);
        AssertWithin("MLP", BytesPerStep(model, opt, Tensor.Randn(128, 784), Tensor.RandInt(0, 10, [128])), KiB(2));
    }

    [Fact]
    public void SteadyStateLeNetStepStaysUnderItsAllocationBudget()
    {
        DeepSharp.Random.Seed(0);
        // LeNet-5 (DeepSharp.Vision.Models.LeNet5), batch 64, SGD with momentum
        var model = new Sequential(
            new Sequential(new Conv2d(1, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2), new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2)),
            new Sequential(new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, 10)));
        var opt = new SGD(model.Parameters(), 0.01, momentum: 0.9);
        AssertWithin("LeNet", BytesPerStep(model, opt, Tensor.Randn(64, 1, 28, 28), Tensor.RandInt(0, 10, [64])), KiB(4.25));
    }

    [Fact]
    public void SteadyStateFashionCnnStepStaysUnderItsAllocationBudget()
    {
        DeepSharp.Random.Seed(0);
        // DeepSharp.Vision.Models.FashionCnn (batch norm, dropout 0.5), batch 128, Adam
        var model = new Sequential(
            new Sequential(
                new Conv2d(1, 32, 3, padding: 1), new BatchNorm2d(32), new ReLU(),
                new Conv2d(32, 32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, padding: 1), new BatchNorm2d(64), new ReLU(),
                new Conv2d(64, 64, 3, padding: 1), new ReLU(), new MaxPool2d(2)),
            new Sequential(new Flatten(), new Linear(3136, 256), new ReLU(), new Dropout(0.5), new Linear(256, 10)));
        var opt = new Adam(model.Parameters(), 1e-3);
        AssertWithin("Fashion CNN", BytesPerStep(model, opt, Tensor.Randn(128, 1, 28, 28), Tensor.RandInt(0, 10, [128])), KiB(6.25));
    }

    /// <summary>The Cli's LstmNet: LSTM(64, 256, 2 layers, batch first), a linear head on the last step's output.</summary>
    sealed class LstmNet : Module<Tensor, Tensor>
    {
        readonly LSTM lstm = new(64, 256, numLayers: 2, batchFirst: true);
        readonly Linear fc = new(256, 10);
        public override Tensor Forward(Tensor x) => fc.Call(lstm.Call(x).Output.Select(1, -1));
    }

    [Fact]
    public void SteadyStateLstmStepStaysUnderItsAllocationBudget()
    {
        DeepSharp.Random.Seed(0);
        var model = new LstmNet();
        var opt = new Adam(model.Parameters(), 1e-3);
        AssertWithin("LSTM", BytesPerStep(model, opt, Tensor.Randn(32, 50, 64), Tensor.RandInt(0, 10, [32])), KiB(7));
    }

    /// <summary>The Cli's TinyGpt: token and position embeddings, two pre-norm encoder layers under a causal mask, a head.</summary>
    sealed class TinyGpt : Module<Tensor, Tensor>
    {
        readonly DeepSharp.NN.Embedding tok = new(256, 128);
        readonly DeepSharp.NN.Embedding pos = new(64, 128);
        readonly TransformerEncoder enc = new(new TransformerEncoderLayer(128, 4, 512, 0.0, batchFirst: true, normFirst: true), 2);
        readonly LayerNorm ln = new(128);
        readonly Linear head = new(128, 256);
        [Buffer] readonly Tensor mask = F.CausalMask(64);
        readonly Tensor positions = Tensor.Arange(64, DType.Int64);

        public override Tensor Forward(Tensor idx)
        {
            int t = idx.Shape[1];
            var h = tok.Call(idx).Add(pos.Call(positions.Narrow(0, 0, t)));
            return head.Call(ln.Call(enc.Call(h, mask.Narrow(0, 0, t).Narrow(1, 0, t))));
        }
    }

    [Fact]
    public void SteadyStateGptStepStaysUnderItsAllocationBudget()
    {
        DeepSharp.Random.Seed(0);
        var model = new TinyGpt();
        var opt = new AdamW(model.Parameters(), 3e-4);
        AssertWithin("GPT", BytesPerStep(model, opt, Tensor.RandInt(0, 256, [32, 64]), Tensor.RandInt(0, 256, [32, 64]), sequenceTargets: true), KiB(9));
    }
}
