using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>The zoo models train: gradients reach every parameter and an optimizer step changes them.</summary>
[Collection("Zoo")]
public class ZooTrainingTests
{
    /// <summary>
    /// One SGD step (lr 0.01): every parameter gets a finite, non-zero gradient and moves by −lr·grad. With
    /// <paramref name="lossDrops"/> the loss on the same batch must drop too (models without dropout, so the loss before
    /// and after is the same function). Only ResNet-18 checks that: with batch statistics over maps of 1×1 to 2×2 the
    /// training-mode loss of the deeper small-input nets is too rough for a single step to be sure to descend.
    /// </summary>
    static void AssertTrainsOneStep(Module model, Tensor x, Func<Module, Tensor, Tensor, Tensor> loss, Tensor labels, bool lossDrops = false)
    {
        const double lr = 0.01;
        model.Train();
        var before = model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor.ToArray<float>());
        var opt = new SGD(model.Parameters(), lr: lr);
        opt.ZeroGrad();
        var l = loss(model, x, labels);
        double first = l.Item();
        Assert.True(double.IsFinite(first), $"loss {first}");
        l.Backward();
        var grads = new Dictionary<string, float[]>();
        foreach (var (name, p) in model.NamedParameters())
        {
            Assert.True(p.Grad != null, $"{name} got no gradient");
            var g = grads[name] = p.Grad!.ToArray<float>();
            Assert.True(g.All(float.IsFinite), $"{name}: non-finite gradient");
            Assert.True(g.Any(v => v != 0), $"{name}: the gradient is all zeros");
        }
        opt.Step();
        foreach (var (name, p) in model.NamedParameters())
        {
            var after = p.ToArray<float>();
            var (b, g) = (before[name], grads[name]);
            for (int i = 0; i < after.Length; i++)
                if (!(Math.Abs(after[i] - (b[i] - lr * g[i])) <= 1e-6 * (1 + Math.Abs(b[i]) + Math.Abs(lr * g[i]))))
                    Assert.Fail($"{name}[{i}]: {b[i]} became {after[i]}, not {b[i] - lr * g[i]}");
        }
        if (!lossDrops) return;
        double second;
        using (Autograd.NoGrad()) second = loss(model, x, labels).Item();
        Assert.True(second < first, $"the loss went from {first} to {second}");
    }

    static Tensor CrossEntropy(Module m, Tensor x, Tensor y) => F.CrossEntropy(((Module<Tensor, Tensor>)m).Call(x), y);

    [Fact]
    public void ResNet18ForwardBackwardAndStep()
    {
        DeepSharp.Random.Seed(10);
        var model = ResNet.ResNet18(numClasses: 5);
        AssertTrainsOneStep(model, Tensor.Randn(2, 3, 32, 32), CrossEntropy, Tensor.FromArray(new long[] { 1, 3 }, 2), lossDrops: true);
    }

    [Fact]
    public void GoogLeNetTrainsWithAuxiliaryLosses()
    {
        DeepSharp.Random.Seed(11);
        var model = new GoogLeNet(numClasses: 4, dropout: 0, dropoutAux: 0);
        // the paper's loss: main + 0.3·(aux1 + aux2); every parameter, the auxiliary heads' included, gets a gradient
        static Tensor Loss(Module m, Tensor x, Tensor y)
        {
            var o = ((GoogLeNet)m).CallWithAux(x);
            if (!m.IsTraining) return F.CrossEntropy(o.Logits, y);
            return F.CrossEntropy(o.Logits, y) + (F.CrossEntropy(o.Aux1!, y) + F.CrossEntropy(o.Aux2!, y)) * 0.3;
        }
        AssertTrainsOneStep(model, Tensor.Randn(4, 3, 32, 32), Loss, Tensor.FromArray(new long[] { 0, 1, 2, 3 }, 4));
    }

    [Fact]
    public void MobileNetV2ForwardBackwardAndStep()
    {
        DeepSharp.Random.Seed(12);
        var model = new MobileNetV2(numClasses: 3, inChannels: 1, widthMult: 0.25, dropout: 0);
        AssertTrainsOneStep(model, Tensor.Randn(4, 1, 32, 32), CrossEntropy, Tensor.FromArray(new long[] { 0, 1, 2, 0 }, 4));
    }
}
