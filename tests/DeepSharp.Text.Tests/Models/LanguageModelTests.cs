using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text.Models;

namespace DeepSharp.Text.Tests.Models;

public class LanguageModelTests
{
    static readonly GptConfig Small = new(VocabSize: 11, ContextLength: 16, Layers: 2, Heads: 2, Width: 16);

    static Tensor Ids(params int[] ids) => Tensor.FromArray(ids.Select(i => (long)i).ToArray(), 1, ids.Length);

    static int[] RandomTokens(int n, int vocab, int seed)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    static void AssertClose(Tensor expected, Tensor actual, double tolerance = 1e-4)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).ToArray<double>();
        var a = actual.To(DType.Float64).ToArray<double>();
        double worst = e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst <= tolerance, $"max difference {worst}");
    }

    [Fact]
    public void GptMapsIdsToLogitsWithNanoGptKeys()
    {
        DeepSharp.Random.Seed(0);
        var model = new Gpt(Small);
        var logits = model.Forward(Tensor.FromArray(RandomTokens(2 * 7, 11, 1).Select(i => (long)i).ToArray(), 2, 7));
        Assert.Equal(new[] { 2, 7, 11 }, logits.Shape);
        var keys = model.StateDict().Keys.ToList();
        Assert.Equal("wte.weight", keys[0]);
        Assert.Equal("wpe.weight", keys[1]);
        Assert.Contains("h.layers.1.self_attn.in_proj_weight", keys);
        Assert.Contains("h.layers.0.linear2.weight", keys);
        Assert.Contains("ln_f.weight", keys);
        Assert.DoesNotContain("lm_head.weight", keys);   // tied to wte
        // Parameters: wte 11*16 + wpe 16*16 + 2 blocks + ln_f.
        long block = 3 * 16 * 16 + 3 * 16 + 16 * 16 + 16 + 16 * 64 + 64 + 64 * 16 + 16 + 4 * 16;
        Assert.Equal(11 * 16 + 16 * 16 + 2 * block + 2 * 16, model.ParameterCount());

        var untiedPostNorm = new Gpt(Small with { TiedHead = false, PreNorm = false });
        var untiedKeys = untiedPostNorm.StateDict().Keys.ToList();
        Assert.Contains("lm_head.weight", untiedKeys);
        Assert.DoesNotContain("ln_f.weight", untiedKeys);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]   // with (random) q/k/v convolutions, which look back over the last steps only
    public void GptIsCausal(int convKernel)
    {
        DeepSharp.Random.Seed(1);
        var model = new Gpt(Small with { ConvKernel = convKernel });
        RandomiseProjectionConvs(model);
        model.Eval();
        var a = RandomTokens(10, 11, 2);
        var b = (int[])a.Clone();
        b[6] = (b[6] + 1) % 11;
        var la = model.Forward(Ids(a));
        var lb = model.Forward(Ids(b));
        AssertClose(la.Narrow(1, 0, 6), lb.Narrow(1, 0, 6), 1e-6);                 // positions before 6 cannot see it
        Assert.False(la.Narrow(1, 6, 4).AllClose(lb.Narrow(1, 6, 4), atol: 1e-4));
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(false, false, false)]
    [InlineData(true, true, true)]
    [InlineData(true, true, true, 3)]
    [InlineData(false, true, false, 2)]
    public void CachedGenerationLogitsEqualTheFullForward(bool preNorm, bool tied, bool rotary, int convKernel = 0)
    {
        DeepSharp.Random.Seed(2);
        var model = new Gpt(Small with { PreNorm = preNorm, TiedHead = tied, Dropout = 0.1, Rotary = rotary, ConvKernel = convKernel });
        RandomiseProjectionConvs(model);
        Assert.Equal(!rotary, model.StateDict().ContainsKey("wpe.weight"));
        model.Eval();
        var tokens = RandomTokens(Small.ContextLength, 11, 3);
        Tensor full;
        using (Autograd.NoGrad()) full = model.Forward(Ids(tokens));                // (1, 16, 11)

        // a prompt of 5 tokens in one call, then one token per call, through the KV cache
        var cache = new KeyValueCache();
        using (Autograd.NoGrad())
        {
            var prompt = model.Forward(Ids(tokens[..5]), cache);                    // (1, 5, 11)
            AssertClose(full.Narrow(1, 0, 5), prompt);
            for (int t = 5; t < tokens.Length; t++)
            {
                var step = model.Forward(Ids(tokens[t]), cache);                    // (1, 1, 11)
                Assert.Equal(t + 1, cache.Length);
                AssertClose(full.Narrow(1, t, 1), step);
            }
        }

        // the stepper Generation uses gives the same rows
        var stepper = model.CreateStepper();
        for (int t = 5; t <= tokens.Length; t++)
            AssertClose(full.Narrow(1, t - 1, 1), stepper(tokens[..t]).Narrow(1, -1, 1));
    }

    /// <summary>Projection convolutions start as the identity; random taps make them matter in a test.</summary>
    static void RandomiseProjectionConvs(Gpt model)
    {
        using (Autograd.NoGrad())
            foreach (var (name, p) in model.NamedParameters().Where(p => p.Name.Contains("qkv_conv")))
                p.CopyFrom(Tensor.Randn(p.Shape.ToArray()).Mul(0.5));
    }

    [Fact]
    public void ProjectionConvolutionsAreKeyedAndStartAsIdentity()
    {
        DeepSharp.Random.Seed(4);
        var config = Small with { ConvKernel = 3, Rotary = true };
        var model = new Gpt(config);
        var keys = model.StateDict().Keys.ToList();
        Assert.Contains("h.layers.0.self_attn.qkv_conv.weight", keys);
        Assert.Equal(new[] { 3 * 16, 1, 3 }, model.StateDict()["h.layers.1.self_attn.qkv_conv.weight"].Shape);
        // identity start: the same logits as the plain model with the same other weights
        var plain = new Gpt(Small with { Rotary = true });
        plain.LoadStateDict(model.StateDict().Where(kv => !kv.Key.Contains("qkv_conv")).ToDictionary(kv => kv.Key, kv => kv.Value));
        var ids = Ids(RandomTokens(10, 11, 5));
        using (Autograd.NoGrad()) AssertClose(plain.Forward(ids), model.Forward(ids), 1e-5);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt(Small with { ConvKernel = -1 }));
    }

    [Fact]
    public void StepperPastTheWindowSeesWhatACroppedFullForwardSees()
    {
        DeepSharp.Random.Seed(3);
        var model = new Gpt(Small);
        model.Eval();
        var tokens = RandomTokens(40, 11, 4);
        int window = Small.ContextLength;
        // keep = window: nanoGPT's crop (the last `window` tokens) at every step
        var exact = model.CreateStepper(keep: window);
        // default keep = window / 2: after a restart the cache holds at least half a window
        var amortised = model.CreateStepper();
        int fedSinceRestart = 0;
        for (int t = 3; t <= tokens.Length; t++)
        {
            var context = tokens[..t];
            Tensor expected;
            using (Autograd.NoGrad()) expected = model.Forward(Ids(context[Math.Max(0, t - window)..])).Narrow(1, -1, 1);
            AssertClose(expected, exact(context).Narrow(1, -1, 1));

            var row = amortised(context).Narrow(1, -1, 1);
            fedSinceRestart = t <= window ? t : fedSinceRestart + 1 > window ? window / 2 : fedSinceRestart + 1;
            Tensor windowed;
            using (Autograd.NoGrad()) windowed = model.Forward(Ids(context[(t - fedSinceRestart)..])).Narrow(1, -1, 1);
            AssertClose(windowed, row);
        }
        // a context that does not continue the last one starts over
        AssertClose(model.Forward(Ids(tokens[..4])).Narrow(1, -1, 1), exact(tokens[..4]).Narrow(1, -1, 1));
    }

    [Fact]
    public void GptGeneratesThroughGeneration()
    {
        DeepSharp.Random.Seed(4);
        var model = new Gpt(Small);
        var stepped = DeepSharp.Text.Generation.Generate(model.CreateStepper(), [1, 2, 3], 30, SamplingOptions.Greedy);
        // the same greedy tokens from full forwards over the cropped context
        var uncached = DeepSharp.Text.Generation.Generate(ctx => model.Forward(Ids(ctx.ToArray())), [1, 2, 3], 30, SamplingOptions.Greedy, maxContext: 16);
        Assert.Equal(30, stepped.Length);
        Assert.Equal(uncached.Take(13), stepped.Take(13));   // identical while the context fits the window
        Assert.True(model.IsTraining);                       // the stepper restores the mode
    }

    [Fact]
    public void GptLearnsARepeatingSequence()
    {
        DeepSharp.Random.Seed(5);
        var model = new Gpt(Small with { Dropout = 0.0 });
        var optimizer = new AdamW(model.Parameters(), lr: 1e-2);
        var pattern = Enumerable.Range(0, 17).Select(i => (long)(i * 3 % 7)).ToArray();
        var x = Tensor.FromArray(pattern[..16], 1, 16);
        var y = Tensor.FromArray(pattern[1..], 1, 16);
        double first = 0, last = 0;
        for (int step = 0; step < 60; step++)
        {
            optimizer.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x).View(-1, 11), y.View(-1));
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(first > 2.0 && last < 0.1, $"loss {first} -> {last}");
        Assert.NotNull(model.StateDict()["wte.weight"]);
    }

    [Fact]
    public void LstmStepperCarriesTheStateLikeTheFullForward()
    {
        DeepSharp.Random.Seed(6);
        var model = new LstmLanguageModel(new LstmLanguageModelConfig(VocabSize: 9, EmbeddingDim: 8, HiddenSize: 12, Layers: 2));
        Assert.Equal(["embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"],
                     model.StateDict().Keys.Take(5));
        var tokens = RandomTokens(20, 9, 7);
        Tensor full;
        using (Autograd.NoGrad()) full = model.Forward(Ids(tokens));     // (1, 20, 9)
        Assert.Equal(new[] { 1, 20, 9 }, full.Shape);
        var stepper = model.CreateStepper();
        for (int t = 4; t <= tokens.Length; t++)
            AssertClose(full.Narrow(1, t - 1, 1), stepper(tokens[..t]).Narrow(1, -1, 1), 1e-5);
        Assert.Null(model.ContextLength);
    }

    [Fact]
    public void SaveAndLoadRoundTripBothKinds()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"lm-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            DeepSharp.Random.Seed(7);
            LanguageModel[] models =
            [
                new Gpt(Small with { TiedHead = false, Dropout = 0.2 }),
                new Gpt(Small with { Rotary = true, PreNorm = false }),
                new Gpt(Small with { Rotary = true, ConvKernel = 4 }),
                new LstmLanguageModel(new LstmLanguageModelConfig(11, 8, 10, Layers: 2, Dropout: 0.1)),
            ];
            var ids = Ids(RandomTokens(9, 11, 8));
            RandomiseProjectionConvs((Gpt)models[2]);
            foreach (var model in models)
            {
                model.Eval();
                var path = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".safetensors");
                model.Save(path, new Dictionary<string, string> { ["note"] = "hello" });
                var (loaded, metadata) = LanguageModel.Load(path);
                Assert.Equal(model.GetType(), loaded.GetType());
                Assert.Equal("hello", metadata["note"]);
                Assert.Equal(model.Kind, metadata[LanguageModel.KindKey]);
                Assert.False(loaded.IsTraining);
                if (model is Gpt g) Assert.Equal(g.Config, ((Gpt)loaded).Config);
                if (model is LstmLanguageModel l) Assert.Equal(l.Config, ((LstmLanguageModel)loaded).Config);
                using (Autograd.NoGrad()) AssertClose(model.Forward(ids), loaded.Forward(ids), 0);
            }
            Assert.Contains("\"vocab_size\":11", models[0].ConfigJson());
            Assert.Throws<FileNotFoundException>(() => LanguageModel.Load(Path.Combine(dir, "missing.safetensors")));
            var plain = Path.Combine(dir, "plain.safetensors");
            IO.SafeTensors.Save(plain, new Linear(2, 2).StateDict());
            Assert.Contains("not saved by LanguageModel.Save", Assert.Throws<InvalidDataException>(() => LanguageModel.Load(plain)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        var model = new Gpt(Small);
        Assert.Contains("exceed the context length 16", Assert.Throws<ArgumentException>(() => model.Forward(Ids(new int[17]))).Message);
        var cache = new KeyValueCache();
        using (Autograd.NoGrad()) model.Forward(Ids(new int[10]), cache);
        Assert.Contains("10 cached + 7 new", Assert.Throws<ArgumentException>(() => model.Forward(Ids(new int[7]), cache)).Message);
        Assert.Contains("int64 of shape (B, T)", Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(2, 3))).Message);
        Assert.Contains("multiple of Heads", Assert.Throws<ArgumentException>(() => new Gpt(Small with { Heads = 3 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt(Small with { VocabSize = 0 }));
        Assert.Contains("\"gelu\" or \"relu\"", Assert.Throws<ArgumentException>(() => new Gpt(Small with { Activation = "swish" })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateStepper(keep: 17));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LstmLanguageModel(new LstmLanguageModelConfig(5, HiddenSize: 0)));
    }
}
