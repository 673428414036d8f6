using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Attention;

/// <summary>MultiheadAttention and Transformer blocks: gradient checks, behaviour, initialisation, copies, errors.</summary>
public class TransformerTests
{
    [Fact]
    public void MultiheadAttentionInitialisesLikePyTorch()
    {
        DeepSharp.Random.Seed(0);
        var m = new MultiheadAttention(64, 4);
        Assert.Equal(new[] { 192, 64 }, m.InProjWeight!.Shape);
        double bound = Math.Sqrt(6.0 / (64 + 192));                   // xavier_uniform on (3E, E)
        var w = m.InProjWeight.ToArray<float>();
        Assert.All(w, x => Assert.InRange(x, -bound, bound));
        Assert.True(w.Max() > 0.9 * bound);
        Assert.All(m.InProjBias!.ToArray<float>(), x => Assert.Equal(0f, x));
        Assert.All(m.OutProj.Bias!.ToArray<float>(), x => Assert.Equal(0f, x));
        Assert.Equal(typeof(NonDynamicallyQuantizableLinear), m.OutProj.GetType());
        var sep = new MultiheadAttention(8, 2, kdim: 3, vdim: 5);
        Assert.Null(sep.InProjWeight);
        Assert.Equal(new[] { 8, 3 }, sep.KProjWeight!.Shape);
        Assert.Equal(new[] { 8, 5 }, sep.VProjWeight!.Shape);
    }

    [Fact]
    public void GradCheckMultiheadAttention()
    {
        DeepSharp.Random.Seed(1);
        var m = (MultiheadAttention)new MultiheadAttention(4, 2, batchFirst: true).Double();
        var kpm = Tensor.FromArray(new[] { false, false, true, false, false, false }, 2, 3);
        // self-attention (packed projection, lean path) with key padding and causal masking
        GradCheck(x => m.Forward(x[0], x[0], x[0], kpm, needWeights: false, isCausal: true).Output, R(2, 3, 4));
        // cross-attention with the weights (plain path)
        GradCheck(x => m.Forward(x[0], x[1], x[1], kpm).Output, R(2, 2, 4), R(2, 3, 4));
        // parameters
        var x = Tensor.Randn([2, 3, 4], DType.Float64);
        GradCheck(p => { using (Autograd.NoGrad()) m.InProjWeight!.CopyFrom(p[0]); return m.Forward(x, x, x, needWeights: false).Output; },
            m.InProjWeight!);
    }

    [Fact]
    public void LeanAndPlainMultiheadAttentionAgree()
    {
        DeepSharp.Random.Seed(2);
        foreach (bool batchFirst in new[] { false, true })
        {
            var m = (MultiheadAttention)new MultiheadAttention(8, 2, batchFirst: batchFirst).Double();
            var x = Tensor.Randn(batchFirst ? [3, 5, 8] : [5, 3, 8], DType.Float64, requiresGrad: true);
            var mem = Tensor.Randn(batchFirst ? [3, 4, 8] : [4, 3, 8], DType.Float64, requiresGrad: true);
            var mask = F.CausalMask(5, DType.Float64);
            foreach (var (q, kv) in new[] { (x, x), (x, mem) })
            {
                var m2 = kv == x ? mask : null;
                var withWeights = m.Forward(q, kv, kv, attnMask: m2).Output;            // plain path
                var lean = m.Forward(q, kv, kv, attnMask: m2, needWeights: false).Output;
                AssertClose(withWeights, lean, 1e-12, 1e-12);
                var up = Tensor.RandnLike(lean);
                var g1 = Autograd.Grad([withWeights], [q, kv, m.InProjWeight!], [up], allowUnused: true);
                var g2 = Autograd.Grad([lean], [q, kv, m.InProjWeight!], [up], allowUnused: true);
                for (int i = 0; i < 3; i++) AssertClose(g1[i]!, g2[i]!, 1e-12, 1e-12);
            }
        }
    }

    [Fact]
    public void BatchFirstAndSequenceFirstAgree()
    {
        DeepSharp.Random.Seed(3);
        var a = new TransformerEncoderLayer(8, 2, 16, 0.0, normFirst: true);
        var b = new TransformerEncoderLayer(8, 2, 16, 0.0, normFirst: true, batchFirst: true);
        b.LoadStateDict(a.StateDict());
        var x = Tensor.Randn([5, 3, 8]);
        var mask = F.CausalMask(5);
        AssertClose(a.Forward(x, mask).Transpose(0, 1), b.Forward(x.Transpose(0, 1).Contiguous(), mask), 1e-5, 1e-5);
        // unbatched input equals a batch of one
        AssertClose(b.Forward(x.Select(1, 0), mask), b.Forward(x.Select(1, 0).Unsqueeze(0), mask).Squeeze(0), 1e-6, 1e-6);
    }

    [Fact]
    public void GradCheckEncoderAndDecoderLayers()
    {
        DeepSharp.Random.Seed(4);
        foreach (bool normFirst in new[] { false, true })
        {
            var enc = (TransformerEncoderLayer)new TransformerEncoderLayer(4, 2, 6, 0.0, "gelu", normFirst: normFirst).Double();
            GradCheck(x => enc.Forward(x[0], isCausal: true), R(3, 2, 4));
            var dec = (TransformerDecoderLayer)new TransformerDecoderLayer(4, 2, 6, 0.0, normFirst: normFirst, batchFirst: true).Double();
            GradCheck(x => dec.Forward(x[0], x[1], tgtIsCausal: true), R(2, 3, 4), R(2, 2, 4));
        }
    }

    [Fact]
    public void StackLayersAreIndependentDeepCopies()
    {
        DeepSharp.Random.Seed(5);
        var layer = new TransformerEncoderLayer(8, 2, 16);
        var stack = new TransformerEncoder(layer, 3);
        Assert.Equal(3, stack.NumLayers);
        for (int i = 0; i < 3; i++)
        {
            Assert.NotSame(layer, stack[i]);
            AssertClose(layer.SelfAttn.InProjWeight!, stack[i].SelfAttn.InProjWeight!, 0, 0);
            Assert.NotSame(layer.Linear1.Weight, stack[i].Linear1.Weight);
        }
        using (Autograd.NoGrad()) stack[0].Linear1.Weight.FillInPlace(1);
        Assert.NotEqual(1f, stack[1].Linear1.Weight.ToArray<float>()[0]);
        Assert.Equal(3 * layer.ParameterCount(), stack.ParameterCount());
        // copies keep the mode and do not draw from the global stream
        layer.Eval();
        var state = DeepSharp.Random.GetState();
        var clone = layer.Clone();
        Assert.Equal(state, DeepSharp.Random.GetState());
        Assert.False(clone.IsTraining);
    }

    [Fact]
    public void DropoutIsActiveOnlyWhileTraining()
    {
        DeepSharp.Random.Seed(6);
        var m = new MultiheadAttention(8, 2, dropout: 0.5, batchFirst: true);
        var x = Tensor.Randn([2, 6, 8]);
        var a = m.Forward(x, x, x, needWeights: false).Output;
        var b = m.Forward(x, x, x, needWeights: false).Output;
        Assert.True(a.Sub(b).Abs().Max().Item() > 1e-4);
        m.Eval();
        AssertClose(m.Forward(x, x, x, needWeights: false).Output, m.Forward(x, x, x).Output, 1e-6, 1e-6);
        // weights after dropout: some are zero, the rest scaled by 2
        m.Train();
        var (_, w) = m.Forward(x, x, x, averageAttnWeights: false);
        Assert.Contains(0f, w!.ToArray<float>());
    }

    [Fact]
    public void RotaryEmbeddingGradChecksAndRotates()
    {
        DeepSharp.Random.Seed(7);
        var rope = new RotaryEmbedding(4);
        GradCheck(x => rope.Forward(x[0], 3), R(2, 5, 6));
        // rotation preserves norms of each rotated pair and relative positions: <R(p)q, R(p+k)k> depends only on k
        var q = Tensor.Randn([1, 1, 4], DType.Float64); var k = Tensor.Randn([1, 1, 4], DType.Float64);
        var rope4 = new RotaryEmbedding(4);
        double Dot(int pq, int pk) => rope4.Forward(q, pq).Mul(rope4.Forward(k, pk)).Sum().Item();
        Assert.Equal(Dot(0, 3), Dot(7, 10), 10);
        Assert.Equal(q.Square().Sum().Item(), rope4.Forward(q, 5).Square().Sum().Item(), 10);
        // the tables grow on demand
        Assert.Equal(new[] { 1, 1, 4 }, rope4.Forward(q, 5000).Shape);
    }

    [Fact]
    public void FusedRotaryMatchesComposedFormOnStridedViewsAndDifferentiatesTwice()
    {
        DeepSharp.Random.Seed(11);
        // x: the (N, H, T, D) heads view of a packed (N, T, 3·H·D) projection, as MultiheadAttention reads it
        var packed = Tensor.Randn([2, 5, 3 * 2 * 6], DType.Float64);
        var x = packed.Reshape(2, 5, 3, 2, 6).Select(2, 1).Permute(0, 2, 1, 3);
        Assert.False(x.IsContiguous);
        foreach (int d in new[] { 6, 4 })   // full and partial rotary
        {
            var (cos, sin) = F.RotaryTables(5, d, start: 2, dtype: DType.Float64);
            var fused = F.ApplyRotaryEmbedding(x, cos, sin);
            // the composed form (taken when the tables require grad) is the reference
            var composed = F.ApplyRotaryEmbedding(x, cos.Detach().RequiresGrad_(), sin.Detach().RequiresGrad_());
            AssertClose(composed, fused, 1e-12, 1e-12);
            GradCheck(t => F.ApplyRotaryEmbedding(t[0], cos, sin), x.Contiguous());
        }
        // second order: the backward is recorded, so a gradient of a gradient exists and matches finite differences
        var (c6, s6) = F.RotaryTables(5, 6, dtype: DType.Float64);
        var w = Tensor.Randn([2, 2, 5, 6], DType.Float64);
        GradCheck(t =>
        {
            using var grad = Autograd.EnableGrad();                                // finite differences run under NoGrad
            var leaf = t[0].RequiresGrad ? t[0] : t[0].Detach().RequiresGrad_();
            var y = F.ApplyRotaryEmbedding(leaf, c6, s6);
            return Autograd.Grad([y.Square().Mul(w).Sum()], [leaf], createGraph: true)[0]!;
        }, x.Contiguous());
    }

    [Fact]
    public void BadInputsGiveClearErrors()
    {
        var m = new MultiheadAttention(8, 2);
        var x = Tensor.Randn([5, 3, 8]);
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() => new MultiheadAttention(10, 3)).Message);
        Assert.Contains("feature sizes", Assert.Throws<ArgumentException>(() => m.Forward(Tensor.Randn([5, 3, 6]), x, x)).Message);
        Assert.Contains("3-D (batched) or 2-D", Assert.Throws<ArgumentException>(() => m.Forward(Tensor.Randn([8]), x, x)).Message);
        Assert.Contains("all be batched", Assert.Throws<ArgumentException>(() => m.Forward(x, Tensor.Randn([5, 8]), x)).Message);
        Assert.Contains("agree", Assert.Throws<ArgumentException>(() => m.Forward(x, Tensor.Randn([4, 2, 8]), Tensor.Randn([4, 2, 8]))).Message);
        Assert.Contains("attnMask must be (L, S) = (5, 5)", Assert.Throws<ArgumentException>(() => m.Forward(x, x, x, attnMask: Tensor.Zeros(4, 5))).Message);
        Assert.Contains("keyPaddingMask must be (N, S) = (3, 5)", Assert.Throws<ArgumentException>(() => m.Forward(x, x, x, Tensor.Zeros([3, 4], DType.Bool))).Message);
        Assert.Contains("bool or floating", Assert.Throws<ArgumentException>(() => m.Forward(x, x, x, attnMask: Tensor.Zeros([5, 5], DType.Int64))).Message);
        Assert.Contains("\"relu\" or \"gelu\"", Assert.Throws<ArgumentException>(() => new TransformerEncoderLayer(8, 2, activation: "tanh")).Message);
        Assert.Contains("d_model", Assert.Throws<ArgumentException>(() => new Transformer(8, 2, 1, 1, 16).Forward(Tensor.Randn([4, 2, 6]), Tensor.Randn([3, 2, 6]))).Message);
        Assert.Contains("positions", Assert.Throws<ArgumentOutOfRangeException>(() => new SinusoidalPositionalEncoding(8, 4).Forward(Tensor.Randn([1, 5, 8]))).Message);
    }
}
