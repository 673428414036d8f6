using DeepSharp.NN;

namespace DeepSharp.Tests.NN;

/// <summary>A two-layer perceptron with tanh written from exp (the activation ops live on another branch).</summary>
sealed class XorNet : Module<Tensor, Tensor>
{
    readonly Linear fc1 = new(2, 8);
    readonly Linear fc2 = new(8, 1);

    static Tensor Tanh(Tensor x) => 1.0 - 2.0 / ((x * 2.0).Exp() + 1.0);

    public override Tensor Forward(Tensor input) => fc2.Call(Tanh(fc1.Call(input)));
}

public class TrainingTests
{
    [Fact]
    public void TinyMlpLearnsXorWithHandWrittenSgd()
    {
        DeepSharp.Random.Seed(3);
        var model = new XorNet();
        var x = Tensor.FromArray(new float[,] { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } });
        var y = Tensor.FromArray(new float[] { 0, 1, 1, 0 }, 4, 1);
        var parameters = model.Parameters().ToList();
        Assert.Equal(4, parameters.Count);
        double loss = double.NaN;
        for (int step = 0; step < 1500; step++)
        {
            model.ZeroGrad();
            var diff = model.Call(x) - y;
            var l = (diff * diff).Mean();
            l.Backward();
            using (Autograd.NoGrad())
                foreach (var p in parameters) p.SubInPlace(p.Grad!.Mul(0.2));
            loss = l.Item();
        }
        Assert.True(loss < 0.01, $"loss after training is {loss}");
        model.Eval();
        var prediction = model.Call(x).ToArray<float>();
        Assert.Equal(new[] { 0, 1, 1, 0 }, prediction.Select(p => p > 0.5f ? 1 : 0));
    }
}
