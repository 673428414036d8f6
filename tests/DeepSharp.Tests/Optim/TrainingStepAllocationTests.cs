using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Tests.Optim;

/// <summary>
/// Holds the managed allocation of a steady-state training step (issue #12: graph nodes, shape arrays, closures and
/// small arrays used to cost 30 KiB per MLP step). Measured on one thread after warm-up, so the count is deterministic;
/// the threshold sits just above what the step allocates now (docs/PERFORMANCE.md, Allocation), so a change that
/// brings allocations back fails here instead of showing up as gen-0 collections in a benchmark.
/// </summary>
[Collection(SerialCollection.Name)]
public class TrainingStepAllocationTests
{
    const long MlpStepBudgetBytes = 4 * 1024;

    [Fact]
    public void SteadyStateMlpStepStaysUnderItsAllocationBudget()
    {
        int threads = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(1);
        try
        {
            DeepSharp.Random.Seed(0);
            // the `deepsharp bench` MLP: 784-512-256-10, batch 128, SGD with momentum, cross-entropy, one TensorScope per step
            var model = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));
            var opt = new SGD(model.Parameters(), 0.01, momentum: 0.9);
            var x = Tensor.Randn(128, 784); var y = Tensor.RandInt(0, 10, [128]);
            void Step()
            {
                using var scope = TensorScope.Begin();
                opt.ZeroGrad(setToNone: false);
                F.CrossEntropy(model.Call(x), y).Backward();
                opt.Step();
            }
            for (int i = 0; i < 10; i++) Step();
            const int steps = 20;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steps; i++) Step();
            long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
            Assert.True(perStep <= MlpStepBudgetBytes, $"a steady-state MLP training step allocated {perStep} bytes (budget {MlpStepBudgetBytes})");
            Assert.True(perStep > 0, "the measurement saw no allocation at all; GetAllocatedBytesForCurrentThread is not counting");
        }
        finally { KernelThreadPool.SetThreadCount(threads); }
    }
}
