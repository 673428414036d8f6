using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Tests;

public class TransformTests
{
    static Tensor Image() => Tensor.Arange(0, 2 * 4 * 5, 1, DType.Float32).Reshape(2, 4, 5);

    [Fact]
    public void FlipTwiceIsIdentityAndFlipMirrors()
    {
        var flip = new RandomHorizontalFlip(p: 1.0);
        var img = Image();
        var once = flip.Apply(img, new Generator(1));
        Assert.Equal(4.0, once.At(0, 0, 0));
        Assert.Equal(img.ToArray<float>(), flip.Apply(once, new Generator(1)).ToArray<float>());
    }

    [Fact]
    public void CropWithPaddingKeepsSizeAndIsSeeded()
    {
        var crop = new RandomCrop(4, padding: 2);
        var batch = Tensor.Rand(3, 1, 4, 4);
        var a = crop.Apply(batch, new Generator(5)); var b = crop.Apply(batch, new Generator(5));
        Assert.Equal([3, 1, 4, 4], a.Shape);
        Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
        Assert.Throws<ArgumentException>(() => new RandomCrop(9, 2).Apply(batch, new Generator(0)));
    }

    [Fact]
    public void RotationByZeroIsIdentityAnd180Reverses()
    {
        var img = Image();
        Assert.Equal(img.ToArray<float>(), new RandomRotation(0).Apply(img, new Generator(0)).ToArray<float>());
        // a rotation by exactly 180 degrees maps (y, x) to (H-1-y, W-1-x)
        var rot = new RandomRotation((180, 180)).Apply(img, new Generator(0));
        Assert.Equal(img.At(0, 0, 0), rot.At(0, 3, 4), 3);
    }

    [Fact]
    public void NormalizeAndComposeAndToTensor()
    {
        var img = ToTensor.FromBytes(new byte[] { 0, 255, 51, 102 }, 2, 2);
        Assert.Equal([1, 2, 2], img.Shape);
        var t = new Compose(new Normalize([0.5f], [0.5f])).Apply(img, new Generator(0));
        Assert.Equal([-1f, 1f, -0.6f, -0.2f], t.ToArray<float>().Select(v => MathF.Round(v, 4)));
        var noisy = new GaussianNoise(0.1).Apply(Tensor.Zeros(1, 50, 50), new Generator(3));
        var values = noisy.ToArray<float>();
        Assert.InRange(Math.Sqrt(values.Select(v => (double)v * v).Average()), 0.09, 0.11);
    }
}
