using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Attention;

/// <summary>Incremental decoding with a key/value cache gives the full-sequence results.</summary>
public class KeyValueCacheTests
{
    /// <summary>A small decoder-only model: token + position embeddings, pre-norm encoder layers with a causal mask, final norm, head.</summary>
    sealed class TinyGpt : Module<Tensor, Tensor>
    {
        readonly Embedding tok = new(50, 16);
        readonly LearnedPositionalEmbedding pos = new(32, 16);
        readonly TransformerEncoder enc = new(new TransformerEncoderLayer(16, 4, 32, 0.0, "gelu", batchFirst: true, normFirst: true), 2);
        readonly LayerNorm ln = new(16);
        readonly Linear head = new(16, 50);

        public override Tensor Forward(Tensor idx) => head.Call(ln.Call(enc.Call(pos.Call(tok.Call(idx)), F.CausalMask(idx.Shape[1]))));

        /// <summary>Logits of the new tokens, given the cache of everything before them.</summary>
        public Tensor Step(Tensor idx, KeyValueCache cache) =>
            head.Call(ln.Call(enc.Call(pos.Call(tok.Call(idx), cache.Length), isCausal: true, cache: cache)));
    }

    [Fact]
    public void TokenByTokenDecodingMatchesTheFullSequence()
    {
        DeepSharp.Random.Seed(0);
        var model = new TinyGpt();
        model.Eval();
        var tokens = Tensor.RandInt(0, 50, [3, 12]);
        var full = model.Forward(tokens);                                           // (3, 12, 50)
        using (Autograd.NoGrad())
        {
            var cache = new KeyValueCache();
            var steps = new List<Tensor>();
            // a prompt of 5 tokens at once, then one token at a time
            steps.Add(model.Step(tokens.Narrow(1, 0, 5), cache));
            for (int t = 5; t < 12; t++) steps.Add(model.Step(tokens.Narrow(1, t, 1), cache));
            Assert.Equal(12, cache.Length);
            Assert.Equal(2, cache.Count);
            AssertClose(full, Tensor.Cat(steps, 1), 1e-4, 1e-4);

            // Reset starts a new sequence and reuses the buffers
            cache.Reset();
            AssertClose(full.Narrow(1, 0, 3), model.Step(tokens.Narrow(1, 0, 3), cache), 1e-4, 1e-4);
        }
    }

    [Fact]
    public void CachedDecoderLayersMatchAndRotaryContinuesPositions()
    {
        DeepSharp.Random.Seed(1);
        var dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, 0.0, batchFirst: true), 2);
        foreach (var layer in Enumerable.Range(0, 2).Select(i => dec[i])) layer.SelfAttn.Rotary = new RotaryEmbedding(4);
        dec.Eval();
        var tgt = Tensor.Randn([2, 6, 8]); var memory = Tensor.Randn([2, 4, 8]);
        var full = dec.Forward(tgt, memory, tgtIsCausal: true);
        var cache = new KeyValueCache();
        using (Autograd.NoGrad())
        {
            var parts = Enumerable.Range(0, 6).Select(t => dec.Forward(tgt.Narrow(1, t, 1), memory, tgtIsCausal: true, cache: cache)).ToList();
            AssertClose(full, Tensor.Cat(parts, 1), 1e-5, 1e-5);
        }
    }

    [Fact]
    public void CrossAttentionProjectsTheMemoryOncePerSequence()
    {
        DeepSharp.Random.Seed(4);
        var dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, 0.0, batchFirst: true, normFirst: true), 2);
        dec.Eval();
        var tgt = Tensor.Randn([2, 5, 8]); var memory = Tensor.Randn([2, 3, 8]);
        var cache = new KeyValueCache();
        using (Autograd.NoGrad())
        {
            var full = dec.Forward(tgt, memory, tgtIsCausal: true);
            var first = dec.Forward(tgt.Narrow(1, 0, 1), memory, tgtIsCausal: true, cache: cache);
            var keys = cache[1].Memory.Keys!;
            Assert.Equal(new[] { 2, 2, 3, 4 }, keys.Shape);                     // (N, H, S, head_dim) of the memory
            var parts = new List<Tensor> { first };
            for (int t = 1; t < 5; t++)
            {
                parts.Add(dec.Forward(tgt.Narrow(1, t, 1), memory, tgtIsCausal: true, cache: cache));
                Assert.Same(keys, cache[1].Memory.Keys);                         // reused, not projected again
            }
            AssertClose(full, Tensor.Cat(parts, 1), 1e-5, 1e-5);
            // another memory tensor is projected afresh; Reset forgets it
            var other = Tensor.Randn([2, 3, 8]);
            cache.Reset();
            Assert.Null(cache[1].Memory.Keys);
            var a = dec.Forward(tgt.Narrow(1, 0, 2), other, tgtIsCausal: true, cache: cache);
            AssertClose(dec.Forward(tgt.Narrow(1, 0, 2), other, tgtIsCausal: true), a, 1e-5, 1e-5);
        }
        // while recording, the memory cache is not used (gradients must reach the memory)
        var mha = new MultiheadAttention(8, 2, batchFirst: true);
        var mem = Tensor.Randn([1, 3, 8], requiresGrad: true);
        var q = Tensor.Randn([1, 2, 8]);
        var memoryCache = new MemoryKeyValueCache();
        mha.Forward(q, mem, mem, needWeights: false, memoryCache: memoryCache).Output.Sum().Backward();
        Assert.Null(memoryCache.Keys);
        Assert.NotNull(mem.Grad);
        Assert.Throws<ArgumentException>(() => mha.Forward(q, q, q, memoryCache: memoryCache));
        // separate key and value projections (kdim, vdim) and distinct key and value tensors
        var sep = new MultiheadAttention(8, 2, kdim: 4, vdim: 6, batchFirst: true);
        var k = Tensor.Randn([1, 3, 4]); var v = Tensor.Randn([1, 3, 6]);
        using (Autograd.NoGrad())
        {
            var expected = sep.Forward(q, k, v, needWeights: false).Output;
            var first = sep.Forward(q, k, v, needWeights: false, memoryCache: memoryCache).Output;
            var second = sep.Forward(q, k, v, needWeights: false, memoryCache: memoryCache).Output;
            Assert.True(memoryCache.Holds(k, v));
            AssertClose(expected, first, 1e-6, 1e-6);
            AssertClose(expected, second, 1e-6, 1e-6);
        }
    }

    [Fact]
    public void CacheWorksWhileRecordingAndInsideScopes()
    {
        DeepSharp.Random.Seed(2);
        var m = new MultiheadAttention(8, 2, batchFirst: true);
        var x = Tensor.Randn([1, 5, 8], requiresGrad: true);
        var full = m.Forward(x, x, x, needWeights: false, isCausal: true).Output;
        var cache = new LayerKeyValueCache();
        var parts = new List<Tensor>();
        for (int t = 0; t < 5; t++)
        {
            var xt = x.Narrow(1, t, 1);
            parts.Add(m.Forward(xt, xt, xt, needWeights: false, isCausal: true, cache: cache).Output);
        }
        var stepped = Tensor.Cat(parts, 1);
        AssertClose(full, stepped, 1e-5, 1e-5);
        // gradients flow through the cached keys and values
        var g1 = Autograd.Grad(full.Sum(), x); var g2 = Autograd.Grad(stepped.Sum(), x);
        AssertClose(g1, g2, 1e-4, 1e-4);

        // inference buffers survive the scope of each step
        var c2 = new LayerKeyValueCache();
        var xd = x.Detach();
        using (Autograd.NoGrad())
        {
            for (int t = 0; t < 5; t++)
                using (TensorScope.Begin())
                {
                    var xt = xd.Narrow(1, t, 1);
                    m.Forward(xt, xt, xt, needWeights: false, isCausal: true, cache: c2);
                }
            Assert.Equal(5, c2.Length);
            Assert.Equal(new[] { 1, 2, 5, 4 }, c2.Keys!.Shape);
        }
    }

    [Fact]
    public void MismatchedAppendIsRejected()
    {
        var cache = new LayerKeyValueCache();
        using (Autograd.NoGrad())
        {
            cache.Append(Tensor.Zeros(1, 2, 3, 4), Tensor.Zeros(1, 2, 3, 4));
            var ex = Assert.Throws<ArgumentException>(() => cache.Append(Tensor.Zeros(2, 2, 1, 4), Tensor.Zeros(2, 2, 1, 4)));
            Assert.Contains("Reset()", ex.Message);
            Assert.Throws<ArgumentException>(() => cache.Append(Tensor.Zeros(1, 2, 3), Tensor.Zeros(1, 2, 3)));
        }
    }
}
