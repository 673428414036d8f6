using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Quantization;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class QatTests
{
    sealed class TinyResidual : Module<Tensor, Tensor>
    {
        readonly Conv2d conv0 = new(1, 4, 3, padding: 1), conv1 = new(4, 4, 3, padding: 1);
        readonly BatchNorm2d bn0 = new(4), bn1 = new(4);
        readonly ReLU relu = new();
        readonly FloatFunctional skip = new();
        readonly MaxPool2d pool = new(2);
        readonly Linear fc = new(64, 3);

        public override Tensor Forward(Tensor x)
        {
            x = relu.Call(bn0.Call(conv0.Call(x)));
            x = skip.AddRelu(bn1.Call(conv1.Call(x)), x);
            return fc.Call(pool.Call(x).Flatten(1));
        }
    }

    [Theory]
    [InlineData("qat_forward", QuantBackend.OneDnn)]      // get_default_qat_qconfig('onednn')
    [InlineData("qat_forward_x86", QuantBackend.X86)]     // get_default_qat_qconfig('x86'): 7-bit activations
    public void FakeQuantForwardMatchesPyTorchPrepareQat(string name, QuantBackend backend)
    {
        var c = Case(name);
        var model = new TinyResidual();
        var state = c.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => p.Name.EndsWith("num_batches_tracked") ? Tensor(p.Value, DType.Int64) : Tensor(p.Value));
        model.LoadStateDict(state);
        var xs = c.GetProperty("x").EnumerateArray().Select(b => Tensor(b)).ToList();
        var ys = c.GetProperty("y").EnumerateArray().Select(Vals).ToList();
        double step = c.GetProperty("fc_scale").GetDouble();
        using var qat = QuantizationAwareTraining.Prepare(model, xs[0], backend);
        model.Train();
        var worst = new double[3];
        using (Autograd.NoGrad())
        {
            // training mode twice (observers and batch-norm statistics move), then eval mode
            for (int i = 0; i < 3; i++)
            {
                if (i == 2) model.Eval();
                var y = Doubles(model.Call(xs[i]));
                worst[i] = ys[i].Zip(y, (a, b) => Math.Abs(a - b)).Max() / step;
            }
        }
        // the same fake-quant integers up to a rounding step of the classifier's output
        Assert.True(worst.Max() <= 1.01, $"deviation from PyTorch's fake-quant forward in output steps: {string.Join(", ", worst.Select(w => w.ToString("F2")))}");
    }

    [Fact]
    public void QatTrainsAndConvertsToAMatchingInt8Model()
    {
        DeepSharp.Random.Seed(21);
        var model = new TinyResidual();
        var x = Tensor.Rand(32, 1, 8, 8);
        // a learnable target: three classes by which image quadrant is brightest
        var target = x.Narrow(2, 0, 4).Sum([2, 3]).Reshape(32, 1).Sub(x.Narrow(2, 4, 4).Sum([2, 3]).Reshape(32, 1)).Sign().Add(1).Reshape(32).To(DType.Int64);
        using var qat = QuantizationAwareTraining.Prepare(model, x);
        // the input, 3 weights (2 conv, 1 linear) and 4 outputs (conv0+bn+relu, conv1+bn, add_relu, fc)
        Assert.Equal(8, qat.FakeQuantizers.Count());
        var opt = new Adam(model.Parameters(), lr: 0.005);
        var losses = new List<double>();
        model.Train();
        for (int step = 0; step < 40; step++)
        {
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Call(x), target);
            loss.Backward();
            opt.Step();
            losses.Add(loss.Item());
        }
        Assert.True(losses.TakeLast(5).Average() < 0.8 * losses.Take(5).Average(), $"loss {losses[0]:F3} → {losses[^1]:F3}");
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));

        model.Eval();
        Tensor fake;
        using (Autograd.NoGrad()) fake = model.Call(x);
        var q = qat.Convert();
        var y = q.Call(x);
        var outScale = qat.Activations.Values.Last().QParams.Scale[0];
        var a = fake.ToArray<float>(); var b = y.ToArray<float>();
        double worst = a.Zip(b, (u, v) => Math.Abs(u - v)).Max();
        Assert.True(worst <= 3 * outScale, $"int8 model differs from the fake-quant model by {worst} (output scale {outScale})");
        // after Convert the hooks are gone: the model is plain float again
        using (Autograd.NoGrad()) Assert.NotEqual(a, model.Call(x).ToArray<float>());
    }
}
