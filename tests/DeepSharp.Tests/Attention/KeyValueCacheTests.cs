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
    public void CachedDecoderLayersMatchTheFullForward()
    {
        DeepSharp.Random.Seed(1);
        var dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, 0.0, batchFirst: true), 2);
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
    public void CachedDecodingRunsTheAttentionHooks()
    {
        DeepSharp.Random.Seed(2);
        var dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, 0.0, batchFirst: true), 1);
        dec.Eval();
        var layer = (TransformerDecoderLayer)dec.Layers[0];
        var seen = new List<(int Arguments, Type Output)>();
        using var selfHook = layer.SelfAttn.RegisterForwardHook((m, inputs, output) => seen.Add((inputs.Count, output!.GetType())));
        using var crossHook = layer.MultiheadAttn.RegisterForwardHook((m, inputs, output) => seen.Add((inputs.Count, output!.GetType())));
        var tgt = Tensor.Randn([1, 3, 8]); var memory = Tensor.Randn([1, 2, 8]);
        var cache = new KeyValueCache();
        using (Autograd.NoGrad())
            for (int t = 0; t < 3; t++) dec.Forward(tgt.Narrow(1, t, 1), memory, tgtIsCausal: true, cache: cache);
        Assert.Equal(6, seen.Count);                                            // self- and cross-attention, every token
        Assert.All(seen, s => Assert.Equal(typeof((Tensor, Tensor?)), s.Output));
        Assert.All(seen, s => Assert.Equal(9, s.Arguments));                    // Call's eight arguments, then the cache
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
        IncrementalAttention.CrossAttention(mha, q, mem, mem, memoryCache).Sum().Backward();
        Assert.Null(memoryCache.Keys);
        Assert.NotNull(mem.Grad);
        using (Autograd.NoGrad())
            Assert.Contains("another sequence", Assert.Throws<ArgumentException>(() => IncrementalAttention.CrossAttention(mha, q, q, q, memoryCache)).Message);
        // separate key and value projections (kdim, vdim) and distinct key and value tensors
        var sep = new MultiheadAttention(8, 2, kdim: 4, vdim: 6, batchFirst: true);
        var k = Tensor.Randn([1, 3, 4]); var v = Tensor.Randn([1, 3, 6]);
        using (Autograd.NoGrad())
        {
            var expected = sep.Forward(q, k, v, needWeights: false).Output;
            var first = IncrementalAttention.CrossAttention(sep, q, k, v, memoryCache);
            var second = IncrementalAttention.CrossAttention(sep, q, k, v, memoryCache);
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
            parts.Add(IncrementalAttention.SelfAttention(m, xt, cache, isCausal: true));
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
                    IncrementalAttention.SelfAttention(m, xt, c2, isCausal: true);
                }
            Assert.Equal(5, c2.Length);
            Assert.Equal(new[] { 1, 2, 5, 4 }, c2.Keys!.Shape);
        }
    }

    [Fact]
    public void IncrementalSelfAttentionTakesEveryLayoutAndMasksOverAllKeys()
    {
        DeepSharp.Random.Seed(6);
        var m = new MultiheadAttention(8, 2);                                        // (L, N, E)
        m.Eval();
        var x = Tensor.Randn([6, 2, 8]);
        var ignored = new bool[2 * 6];
        ignored[1 * 6 + 1] = true;                                                    // batch entry 1 ignores key 1
        var padding = Tensor.FromArray(ignored, 2, 6);
        using (Autograd.NoGrad())
        {
            var full = m.Forward(x, x, x, padding, needWeights: false, isCausal: true).Output;
            var cache = new LayerKeyValueCache();
            var prompt = IncrementalAttention.SelfAttention(m, x.Narrow(0, 0, 4), cache, keyPaddingMask: padding.Narrow(1, 0, 4), isCausal: true);
            AssertClose(full.Narrow(0, 0, 4), prompt, 1e-5, 1e-5);
            for (int t = 4; t < 6; t++)                                               // masks cover the P + 1 keys
                AssertClose(full.Narrow(0, t, 1), IncrementalAttention.SelfAttention(m, x.Narrow(0, t, 1), cache,
                    attnMask: Tensor.Zeros(1, t + 1), keyPaddingMask: padding.Narrow(1, 0, t + 1), isCausal: true), 1e-5, 1e-5);
            // unbatched (S, E)
            var u = x.Select(1, 0);
            var uFull = m.Forward(u, u, u, needWeights: false, isCausal: true).Output;
            var uc = new LayerKeyValueCache();
            var parts = Enumerable.Range(0, 6).Select(t => IncrementalAttention.SelfAttention(m, u.Narrow(0, t, 1), uc, isCausal: true)).ToList();
            AssertClose(uFull, Tensor.Cat(parts, 0), 1e-5, 1e-5);
        }
        Assert.Contains("addBiasKv", Assert.Throws<ArgumentException>(() =>
            IncrementalAttention.SelfAttention(new MultiheadAttention(8, 2, addBiasKv: true), x, new LayerKeyValueCache())).Message);
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
