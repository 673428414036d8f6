using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

public class InitTests
{
    static (double Mean, double Std) Stats(Tensor t)
    {
        var v = t.ToArray<double>();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average()));
    }

    [Fact]
    public void GainsAndFansFollowPyTorch()
    {
        Assert.Equal(Math.Sqrt(2), Init.CalculateGain(Nonlinearity.ReLU), 12);
        Assert.Equal(5.0 / 3, Init.CalculateGain(Nonlinearity.Tanh), 12);
        Assert.Equal(Math.Sqrt(2 / 1.0001), Init.CalculateGain(Nonlinearity.LeakyReLU), 12);
        Assert.Equal(Math.Sqrt(1.0 / 3), Init.CalculateGain(Nonlinearity.LeakyReLU, Math.Sqrt(5)), 12);
        Assert.Equal((27, 144), Init.CalculateFanInAndFanOut(Tensor.Empty(16, 3, 3, 3)));
        Assert.Throws<ArgumentException>(() => Init.CalculateFanInAndFanOut(Tensor.Empty(5)));
    }

    [Fact]
    public void KaimingAndXavierHaveTheRightSpread()
    {
        var w = Tensor.Empty(256, 128, 3);                                     // fan_in = 384, fan_out = 768
        Init.KaimingNormal(w, nonlinearity: Nonlinearity.ReLU, generator: new Generator(1));
        var (mean, std) = Stats(w);
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(std / Math.Sqrt(2.0 / 384), 0.98, 1.02);
        Init.KaimingUniform(w, mode: FanMode.FanOut, nonlinearity: Nonlinearity.ReLU, generator: new Generator(2));
        Assert.InRange(Stats(w).Std / Math.Sqrt(2.0 / 768), 0.98, 1.02);
        Assert.True(w.ToArray<double>().Max() <= Math.Sqrt(6.0 / 768));
        Init.XavierUniform(w, generator: new Generator(3));
        Assert.InRange(Stats(w).Std / Math.Sqrt(2.0 / (384 + 768)), 0.98, 1.02);
        Init.XavierNormal(w, gain: 2, generator: new Generator(4));
        Assert.InRange(Stats(w).Std / (2 * Math.Sqrt(2.0 / (384 + 768))), 0.98, 1.02);
    }

    [Fact]
    public void OrthogonalGivesOrthonormalRowsOrColumns()
    {
        foreach (var shape in new[] { new[] { 6, 4 }, [4, 6], [3, 2, 2] })
        {
            var w = Init.Orthogonal(Tensor.Empty(shape, DType.Float64), generator: new Generator(7));
            var m = w.Reshape(shape[0], -1);
            var gram = m.Shape[0] >= m.Shape[1] ? m.T.MatMul(m) : m.MatMul(m.T);
            AssertClose(Tensor.Eye(gram.Shape[0], dtype: DType.Float64), gram, 1e-10, 1e-10);
        }
        var scaled = Init.Orthogonal(Tensor.Empty(5, 5), gain: 2);
        AssertClose(Tensor.Eye(5).Mul(4.0), scaled.T.MatMul(scaled), 1e-4, 1e-4);
    }

    [Fact]
    public void SimpleFillsAndTruncation()
    {
        var w = Tensor.Empty(3, 3);
        AssertClose(Tensor.Eye(3), Init.Eye(w));
        Assert.Equal(9.0, Init.Ones(w).Sum().Item());
        Assert.Equal(0.0, Init.Zeros(w).Sum().Item());
        Assert.Equal(4.5, Init.Constant(w, 0.5).Sum().Item());
        var t = Init.TruncNormal(Tensor.Empty(10000), std: 2, a: -1, b: 3, generator: new Generator(9));
        var v = t.ToArray<double>();
        Assert.True(v.Min() >= -1 && v.Max() <= 3 && v.Min() < -0.95 && v.Max() > 2.9);
        var u = Init.Uniform(Tensor.Empty(10000), -2, 2, new Generator(3)).ToArray<double>();
        Assert.True(u.Min() >= -2 && u.Max() < 2);
        Assert.InRange(u.Average(), -0.1, 0.1);
        var n = Init.Normal(Tensor.Empty(10000), 1, 3, new Generator(4));
        var (mean, std) = Stats(n);
        Assert.InRange(mean, 0.9, 1.1); Assert.InRange(std, 2.9, 3.1);
        Assert.Throws<ArgumentException>(() => Init.Uniform(Tensor.Zeros([2], DType.Int64)));
    }

    [Fact]
    public void InitWorksOnParametersThatRequireGradAndIsReproducible()
    {
        var p = Module.Parameter(Tensor.Empty(4, 4));
        Init.KaimingUniform(p, generator: new Generator(11));
        var again = Init.KaimingUniform(Tensor.Empty(4, 4), generator: new Generator(11));
        AssertClose(again, p, 0, 0);
        Assert.True(p.RequiresGrad && p.IsLeaf);
    }

    [Fact]
    public void SkipDefaultInitZeroesLayersWithoutDrawingAndEndsWithItsScope()
    {
        using (DeepSharp.Random.Fork(5))
        {
            var before = DeepSharp.Random.GetState();
            Linear linear; Conv2d conv; Embedding embedding; Bilinear bilinear;
            using (Init.SkipDefaultInit())
            {
                using (Init.SkipDefaultInit()) linear = new Linear(30, 20);   // nested: the outer scope still skips
                conv = new Conv2d(3, 8, 3);
                embedding = new Embedding(10, 4);
                bilinear = new Bilinear(3, 4, 5);
            }
            Assert.Equal(before, DeepSharp.Random.GetState());               // nothing was drawn
            foreach (var p in new[] { linear.Weight, linear.Bias!, conv.Weight, conv.Bias!, embedding.Weight, bilinear.Weight, bilinear.Bias! })
            {
                Assert.True(p.ToArray<float>().All(v => v == 0), "a skipped parameter should start at zero");
                Assert.True(p.RequiresGrad && p.IsLeaf);
            }
            // after the scope the defaults draw again
            var again = new Linear(30, 20);
            Assert.NotEqual(before, DeepSharp.Random.GetState());
            Assert.Contains(again.Weight.ToArray<float>(), v => v != 0);
        }
    }
}
