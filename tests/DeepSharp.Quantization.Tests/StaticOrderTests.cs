using DeepSharp.NN;

namespace DeepSharp.Quantization.Tests;

/// <summary>Static quantization follows the order the forward calls the layers, not the order they are declared.</summary>
public class StaticOrderTests
{
    /// <summary>Declared fc2, act, conv, fc1, flat, relu; called conv → relu → flat → fc1 → act → fc2.</summary>
    sealed class Reordered : Module<Tensor, Tensor>
    {
        public readonly Linear Fc2 = new(16, 5);
        public readonly ReLU Act = new();
        public readonly Conv2d Conv = new(1, 4, 3, padding: 1);
        public readonly Linear Fc1 = new(4 * 6 * 6, 16);
        public readonly Flatten Flat = new();
        public readonly ReLU Relu = new();
        public override Tensor Forward(Tensor x) => Fc2.Call(Act.Call(Fc1.Call(Flat.Call(Relu.Call(Conv.Call(x))))));
    }

    sealed class SharedRelu : Module<Tensor, Tensor>
    {
        public readonly Linear A = new(4, 4);
        public readonly Linear B = new(4, 4);
        public readonly ReLU Relu = new();
        public override Tensor Forward(Tensor x) => Relu.Call(B.Call(Relu.Call(A.Call(x))));
    }

    [Fact]
    public void DeclarationOrderDoesNotMatter()
    {
        var model = new Reordered();
        var chain = new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 16), new ReLU(), new Linear(16, 5));
        chain.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["0.weight"] = model.Conv.Weight, ["0.bias"] = model.Conv.Bias!, ["3.weight"] = model.Fc1.Weight, ["3.bias"] = model.Fc1.Bias!,
            ["5.weight"] = model.Fc2.Weight, ["5.bias"] = model.Fc2.Bias!,
        });
        var calibration = Enumerable.Range(0, 3).Select(_ => Tensor.Rand([4, 1, 6, 6])).ToList();
        var x = Tensor.Rand([2, 1, 6, 6]);
        var expected = StaticQuantization.Quantize(chain, calibration).Call(x);
        var actual = StaticQuantization.Quantize(model, calibration).Call(x);
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
        var reference = model.Call(x).ToArray<float>();
        var got = actual.ToArray<float>();
        for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(reference[i] - got[i]) < 0.05, $"[{i}] float {reference[i]}, int8 {got[i]}");
    }

    [Fact]
    public void ALayerCalledTwiceIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => StaticQuantization.Quantize(new SharedRelu(), [Tensor.Randn(2, 4)]));
        Assert.Contains("called 2 times", e.Message);
    }
}
