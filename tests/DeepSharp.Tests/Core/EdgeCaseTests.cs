using DeepSharp.NN;

namespace DeepSharp.Tests.Core;

/// <summary>Edge cases found by trying malformed inputs as a new user would (issue 13): each behaves as PyTorch does.</summary>
public class EdgeCaseTests
{
    [Fact]
    public void IntegerTensorToANegativeIntegerPowerThrowsAsPyTorch()
    {
        var i = Tensor.FromArray(new long[] { 2, 3 }, 2);
        var e = Assert.Throws<ArgumentException>(() => i.Pow(-1));
        Assert.Contains("integers to negative integer powers are not allowed", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new[] { 2, 3 }, 2).Pow(-2));
        // a floating exponent gives a float result (torch.tensor([4]).pow(-1.0) == 0.25), integer tensor-tensor pow truncates
        Assert.Equal(new[] { 0.5f, 1 / 3f }, i.Pow(-1.0).ToArray<float>());
        Assert.Equal(new long[] { 0, 0 }, i.Pow(Tensor.FromArray(new long[] { -1, -1 }, 2)).ToArray<long>());
        // float tensors take an integer exponent like a double one
        Assert.Equal(new[] { 0.5f, 0.25f }, Tensor.FromArray(new[] { 2f, 4f }, 2).Pow(-1).ToArray<float>());
        Assert.Equal(new long[] { 4, 9 }, i.Pow(2).ToArray<long>());
    }

    [Fact]
    public void LinearWithNoInputFeaturesIsAllowedAndOutputsTheBias()
    {
        var layer = new Linear(0, 3);
        Assert.Equal(new[] { 3, 0 }, layer.Weight.Shape);
        Assert.Equal(new float[] { 0, 0, 0 }, layer.Bias!.ToArray<float>());   // U(0, 0), as PyTorch's bound for fan_in 0
        var y = layer.Forward(Tensor.Zeros(2, 0));
        Assert.Equal(new[] { 2, 3 }, y.Shape);
        Assert.All(y.ToArray<float>(), v => Assert.Equal(0f, v));
        y.Sum().Backward();
        Assert.Equal(new float[] { 2, 2, 2 }, layer.Bias.Grad!.ToArray<float>());
        Assert.Equal(new[] { 3, 0 }, layer.Weight.Grad!.Shape);
        Assert.Same(layer.Weight, Init.KaimingNormal(layer.Weight));   // a no-op on a zero-element tensor
    }

    [Fact]
    public void ATensorTooLargeToHoldIsAClearErrorNotAnOutOfMemoryException()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(int.MaxValue));
        Assert.Contains("2147483647 elements", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(65536, 65536));
    }
}
