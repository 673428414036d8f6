using DeepSharp.NN;
using DeepSharp.Quantization;
using DeepSharp.Vision.Models;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

/// <summary>The residual, branching CNN of tools/golden/quantized_residual.py: the first add through
/// FloatFunctional.AddRelu, the second as a plain x.Add(identity) followed by a ReLU module (fused to add_relu), the
/// concatenation through FloatFunctional.Cat and the flatten as a plain x.Flatten(1).</summary>
sealed class ResidualNet : Module<Tensor, Tensor>
{
    readonly Conv2d conv0 = new(2, 8, 3, padding: 1), conv1 = new(8, 8, 3, padding: 1), conv2 = new(8, 8, 3, padding: 1);
    readonly BatchNorm2d bn0 = new(8), bn1 = new(8), bn2 = new(8);
    readonly Conv2d down = new(8, 12, 1, stride: 2), conv3 = new(8, 12, 3, stride: 2, padding: 1), conv4 = new(12, 12, 3, padding: 1);
    readonly BatchNorm2d bnd = new(12), bn3 = new(12), bn4 = new(12);
    readonly Conv2d branch = new(12, 4, 1);
    readonly ReLU relu = new();
    readonly FloatFunctional skip1 = new(), merge = new();
    readonly MaxPool2d pool = new(2);
    readonly Linear fc = new(64, 5);

    public override Tensor Forward(Tensor x)
    {
        x = relu.Call(bn0.Call(conv0.Call(x)));
        var y = relu.Call(bn1.Call(conv1.Call(x)));
        x = skip1.AddRelu(bn2.Call(conv2.Call(y)), x);
        var identity = bnd.Call(down.Call(x));
        y = relu.Call(bn3.Call(conv3.Call(x)));
        x = relu.Call(bn4.Call(conv4.Call(y)).Add(identity));
        x = merge.Cat([x, relu.Call(branch.Call(x))], 1);
        return fc.Call(pool.Call(x).Flatten(1));
    }
}

public class ResidualStaticTests
{
    static (ResidualNet Net, List<Tensor> Calibration, Tensor Test) Load()
    {
        var c = Case("static_residual");
        var net = new ResidualNet();
        var state = c.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => p.Name.EndsWith("num_batches_tracked") ? Tensor(p.Value, DType.Int64) : Tensor(p.Value));
        net.LoadStateDict(state);
        return (net, c.GetProperty("calibration").EnumerateArray().Select(b => Tensor(b)).ToList(), Tensor(c.GetProperty("test")));
    }

    [Fact]
    public void ResidualCnnMatchesPyTorchOnednn()
    {
        var c = Case("static_residual");
        var (net, calibration, test) = Load();
        net.Eval();
        var floatY = net.Call(test);
        AssertClose(Vals(c.GetProperty("y_float")), Doubles(floatY), 1e-4, 1e-5, "float output");
        net.Train();

        using var prepared = StaticQuantization.Prepare(net, backend: QuantBackend.OneDnn);   // the fixture is get_default_qconfig('onednn')
        foreach (var b in calibration) prepared.Calibrate(b);
        Assert.Equal(4, prepared.Batches);
        var q = prepared.Convert();

        var expected = c.GetProperty("qparams");
        void CheckQParams(string key, OutputQParams actual)
        {
            var e = expected.GetProperty(key).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            AssertClose([e[0]], [actual.Scale], 1e-5, 0, key + " scale");
            Assert.Equal((int)e[1], actual.ZeroPoint);
        }
        CheckQParams("input", q.Input);
        var functionals = q.Nodes.Where(n => n.Functional != null).ToList();
        Assert.Equal(3, functionals.Count);
        Assert.True(functionals[0].AddRelu && functionals[1].AddRelu, "both adds become add_relu");
        Assert.Equal(1, functionals[2].CatDim);
        CheckQParams("skip1", functionals[0].Functional!.Output);
        CheckQParams("skip2", functionals[1].Functional!.Output);
        CheckQParams("merge", functionals[2].Functional!.Output);
        var fc = q.Nodes.Select(n => n.Layer).OfType<QuantizedLinear>().Single();
        CheckQParams("fc", fc.Output);
        // 7 fused convolutions (bn and relu folded in), 3 functionals, pool, reshape, linear
        Assert.Equal(7, q.Nodes.Count(n => n.Layer is QuantizedConv2d));
        Assert.Equal(13, q.Nodes.Count);

        var y = q.Call(test);
        AssertClose(Vals(c.GetProperty("y")), Doubles(y), 0, fc.Output.Scale * 1.01, "quantized output");
        // close to float: no logit further from the float one than PyTorch's int8 model is (plus one output step),
        // and that within 10 % of the largest float logit
        var yf = Doubles(floatY);
        var yt = Vals(c.GetProperty("y"));
        double torchError = yf.Zip(yt, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(torchError < 0.1 * yf.Max(Math.Abs), $"PyTorch's int8 error {torchError}");
        AssertClose(yf, Doubles(y), 0, torchError + fc.Output.Scale * 1.01, "quantized vs float");
        Assert.True(net.IsTraining, "calibration restores the training mode");
    }

    [Fact]
    public void ConvertWithoutCalibrationIsRefused()
    {
        var (net, _, _) = Load();
        var prepared = StaticQuantization.Prepare(net);
        var e = Assert.Throws<InvalidOperationException>(() => prepared.Convert());
        Assert.Contains("calibration", e.Message);
        Assert.Throws<ArgumentException>(() => StaticQuantization.QuantizeGraph(net, []));
    }

    sealed class FunctionalRelu : Module<Tensor, Tensor>
    {
        readonly Linear a = new(4, 4), b = new(4, 3);
        public override Tensor Forward(Tensor x) => b.Call(F.Gelu(a.Call(x)));
    }

    [Fact]
    public void AnUnseenOperationIsRefusedWithTheLayerName()
    {
        var e = Assert.Throws<ArgumentException>(() => StaticQuantization.QuantizeGraph(new FunctionalRelu(), [Tensor.Randn(3, 4)]));
        Assert.Contains("'b'", e.Message);
        Assert.Contains("outside", e.Message);
    }

    [Fact]
    public void ZooResNet18QuantizesEndToEnd()
    {
        DeepSharp.Random.Seed(5);
        var model = ResNet.ResNet18(numClasses: 10);
        // realistic batch-norm statistics: a few forwards in training mode on the image distribution
        var images = Enumerable.Range(0, 3).Select(_ => Tensor.Rand(4, 3, 64, 64)).ToList();
        using (Autograd.NoGrad()) foreach (var b in images) model.Call(b);
        model.Eval();
        var q = StaticQuantization.QuantizeGraph(model, images);
        Assert.Equal(20, q.Nodes.Count(n => n.Layer is QuantizedConv2d));   // 17 convs + 3 downsamples, batch norms folded
        Assert.Equal(8, q.Nodes.Count(n => n.Functional != null && n.AddRelu));
        var test = Tensor.Rand(8, 3, 64, 64);
        var yf = model.Call(test).ToArray<float>();
        var yq = q.Call(test).ToArray<float>();
        int agree = 0;
        for (int i = 0; i < 8; i++)
            if (ArgMax(yf.AsSpan(i * 10, 10)) == ArgMax(yq.AsSpan(i * 10, 10))) agree++;
        double dot = 0, nf = 0, nq = 0;
        for (int i = 0; i < yf.Length; i++) { dot += yf[i] * yq[i]; nf += yf[i] * yf[i]; nq += yq[i] * yq[i]; }
        double cosine = dot / Math.Sqrt(nf * nq);
        Assert.True(cosine > 0.95, $"quantized logits have cosine {cosine:F3} with the float ones");
        Assert.True(agree >= 6, $"top-1 agrees on {agree}/8 images");
    }

    static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
