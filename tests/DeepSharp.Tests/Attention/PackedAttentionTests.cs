using DeepSharp.Kernels;
using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Attention;

/// <summary>F.PackedScaledDotProductAttention: attention read straight from a packed q|k|v projection.</summary>
public class PackedAttentionTests
{
    /// <summary>The same attention composed from views, as PyTorch writes it: split, view, transpose, SDPA, merge.</summary>
    static Tensor Composed(Tensor qkv, int heads, bool causal, AttentionPath path = AttentionPath.Plain, double dropoutP = 0, Generator? generator = null)
    {
        int n = qkv.Shape[0], t = qkv.Shape[1], e = qkv.Shape[2] / 3;
        Tensor Part(int i) => qkv.Narrow(2, i * e, e).Reshape(n, t, heads, e / heads).Transpose(1, 2);   // (N, H, T, D)
        return F.ScaledDotProductAttention(Part(0), Part(1), Part(2), null, dropoutP, causal, path: path, generator: generator)
            .Transpose(1, 2).Reshape(n, t, e);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatchesTheComposedAttentionWithGradients(bool causal)
    {
        var saved = AttentionKernel.BlockOverride;
        AttentionKernel.BlockOverride = (3, 4);                                       // several query and key blocks
        try
        {
            DeepSharp.Random.Seed(1);
            var qkv = R(2, 7, 12);                                                     // E = 4, two heads of 2
            var expected = Composed(qkv, 2, causal);
            var actual = F.PackedScaledDotProductAttention(qkv, 2, isCausal: causal);
            Assert.Equal(new[] { 2, 7, 4 }, actual.Shape);
            AssertClose(expected, actual, 1e-10, 1e-10);
            var upstream = Tensor.RandnLike(expected);
            AssertClose(Autograd.Grad([expected], [qkv], [upstream])[0]!, Autograd.Grad([actual], [qkv], [upstream])[0]!, 1e-10, 1e-10);
            GradCheck(t => F.PackedScaledDotProductAttention(t[0], 2, isCausal: causal, scale: 0.7), R(1, 5, 6));
        }
        finally { AttentionKernel.BlockOverride = saved; }
    }

    [Fact]
    public void DropoutDrawsTheMaskOfTheFourDimCallAndStridedInputsWork()
    {
        DeepSharp.Random.Seed(2);
        var qkv = Tensor.Randn(2, 6, 24);
        AssertClose(Composed(qkv, 2, true, AttentionPath.Lean, 0.3, new Generator(5)),
                    F.PackedScaledDotProductAttention(qkv, 2, 0.3, isCausal: true, generator: new Generator(5)), 1e-6, 1e-6);
        Assert.Equal(0.0, F.PackedScaledDotProductAttention(qkv, 2, dropoutP: 1).Abs().Max().Item());   // p = 1: the plain path drops all
        var strided = R(6, 2, 12);                                                     // (T, N, 3E) seen as (N, T, 3E)
        var expected = Composed(strided.Transpose(0, 1), 2, true);
        var actual = F.PackedScaledDotProductAttention(strided.Transpose(0, 1), 2, isCausal: true);
        AssertClose(expected, actual, 1e-10, 1e-10);
        AssertClose(Autograd.Grad([expected.Sum()], [strided])[0]!, Autograd.Grad([actual.Sum()], [strided])[0]!, 1e-10, 1e-10);
    }

    [Fact]
    public void BadInputsGiveClearErrors()
    {
        var qkv = Tensor.Randn(2, 5, 12);
        Assert.Contains("(N, T, 3·E)", Assert.Throws<ArgumentException>(() => F.PackedScaledDotProductAttention(Tensor.Randn(5, 12), 2)).Message);
        Assert.Contains("(N, T, 3·E)", Assert.Throws<ArgumentException>(() => F.PackedScaledDotProductAttention(Tensor.Randn(2, 5, 10), 2)).Message);
        Assert.Contains("divisible by numHeads (3)", Assert.Throws<ArgumentException>(() => F.PackedScaledDotProductAttention(qkv, 3)).Message);
        Assert.Contains("floating point", Assert.Throws<ArgumentException>(() => F.PackedScaledDotProductAttention(Tensor.Zeros([2, 5, 12], DType.Int64), 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => F.PackedScaledDotProductAttention(qkv, 2, dropoutP: 1.5));
    }
}
