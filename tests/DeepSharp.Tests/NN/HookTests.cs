using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>The module contract: every Call, whatever its arity, runs the hooks; hooks see all inputs and can replace them.</summary>
public class HookTests
{
    /// <summary>Counts forward-hook calls per dotted module name while <paramref name="run"/> runs; the hooks are removed after.</summary>
    internal static Dictionary<string, int> CountCalls(Module model, Action run)
    {
        var counts = new Dictionary<string, int>();
        var handles = new List<HookHandle>();
        foreach (var (name, m) in model.NamedModules())
        {
            counts[name] = 0;
            handles.Add(m.RegisterForwardHook((_, _, _) => { counts[name]++; }));
        }
        run();
        foreach (var h in handles) h.Dispose();
        run();   // removed hooks count nothing more
        return counts;
    }

    /// <summary>Every module has run at least once, except the containers without a forward.</summary>
    internal static void AssertEveryModuleRan(Module model, Dictionary<string, int> counts)
    {
        foreach (var (name, m) in model.NamedModules())
            if (m is ModuleList or ModuleDict) Assert.Equal(0, counts[name]);
            else Assert.True(counts[name] >= 1, $"the forward hook of \"{name}\" ({m.GetType().Name}) never fired");
    }

    [Fact]
    public void HooksFireForEveryModuleOfATransformerEncoder()
    {
        var layer = new TransformerEncoderLayer(8, 2, 16, dropout: 0.1, batchFirst: true);
        var encoder = new TransformerEncoder(layer, 2, new LayerNorm(8));
        var x = Tensor.Randn(2, 5, 8);
        var counts = CountCalls(encoder, () => encoder.Call(x, isCausal: true));
        AssertEveryModuleRan(encoder, counts);
        Assert.Equal(1, counts[""]);
        Assert.Equal(1, counts["layers.1.self_attn"]);
        Assert.Equal(1, counts["layers.0.self_attn.out_proj"]);
        Assert.Equal(1, counts["layers.1.linear2"]);
        Assert.Equal(0, counts["layers"]);
    }

    [Fact]
    public void HooksFireForEveryModuleOfAnLstmModel()
    {
        var model = new Sequential(new Embedding(10, 4), new LstmLastStep(new LSTM(4, 6, numLayers: 2, batchFirst: true)), new Linear(6, 3));
        var ids = Tensor.FromArray(new long[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var counts = CountCalls(model, () => model.Call(ids));
        AssertEveryModuleRan(model, counts);
        Assert.Equal(1, counts["1.lstm"]);
    }

    /// <summary>An LSTM's last-step output as a one-input module.</summary>
    sealed class LstmLastStep(LSTM lstm) : Module<Tensor, Tensor>
    {
        readonly LSTM lstm = lstm;
        public override Tensor Forward(Tensor input) => lstm.Call(input).Output.Select(1, -1);   // (B, H)
    }

    [Fact]
    public void HooksOnMultiInputModulesSeeEveryInput()
    {
        var bilinear = new Bilinear(3, 2, 4);
        var (a, b) = (Tensor.Randn(5, 3), Tensor.Randn(5, 2));
        IReadOnlyList<object?>? seen = null;
        object? seenOutput = null;
        (Tensor, Tensor, Tensor)? typed = null;
        using (bilinear.RegisterForwardHook((_, inputs, output) => { seen = inputs; seenOutput = output; }))
        using (bilinear.RegisterForwardHook((m, x1, x2, y) => { typed = (x1, x2, y); }))
        {
            var y = bilinear.Call(a, b);
            Assert.Equal(2, seen!.Count);
            Assert.Same(a, seen[0]); Assert.Same(b, seen[1]); Assert.Same(y, seenOutput);
            Assert.Same(a, typed!.Value.Item1); Assert.Same(b, typed.Value.Item2); Assert.Same(y, typed.Value.Item3);
        }

        // optional arguments are inputs too: MultiheadAttention's hooks see query, key, value and the masks
        var attention = new MultiheadAttention(8, 2, batchFirst: true);
        var q = Tensor.Randn(2, 4, 8);
        var mask = F.CausalMask(4);
        IReadOnlyList<object?>? attentionInputs = null;
        using (attention.RegisterForwardPreHook((_, inputs) => { attentionInputs = inputs; }))
            attention.Call(q, q, q, needWeights: false, attnMask: mask);
        Assert.Same(q, attentionInputs![0]); Assert.Same(q, attentionInputs[2]);
        Assert.Contains(mask, attentionInputs);
        Assert.Contains(false, attentionInputs);

        // a recurrent layer's hooks see the input and the initial state, and its (output, (h, c)) result
        var lstm = new LSTM(3, 4);
        var state = (Tensor.Zeros(1, 2, 4), Tensor.Zeros(1, 2, 4));
        object? lstmState = null, lstmOutput = null;
        using (lstm.RegisterForwardHook((_, inputs, output) => { lstmState = inputs[1]; lstmOutput = output; }))
        {
            var result = lstm.Call(Tensor.Randn(5, 2, 3), state);
            Assert.Equal(state, lstmState);
            Assert.Equal(result, lstmOutput);
            lstm.Call(Tensor.Randn(5, 2, 3));
            Assert.Null(lstmState);   // Call(input) is Call(input, null)
        }
    }

    [Fact]
    public void HooksCanReplaceInputsAndOutputs()
    {
        var bilinear = new Bilinear(3, 3, 2);
        var (a, b) = (Tensor.Randn(4, 3), Tensor.Randn(4, 3));
        var expected = bilinear.Forward(a, a);
        using (bilinear.RegisterForwardPreHook((_, inputs) => [inputs[0], inputs[0]]))   // replace the second input
            AssertClose(expected, bilinear.Call(a, b), 0, 0, "pre-hook replaced input2");
        using (bilinear.RegisterForwardHook((m, x1, x2, y) => y * 2))                        // typed, replaces the output
            AssertClose(bilinear.Forward(a, b) * 2, bilinear.Call(a, b), 0, 0, "forward hook doubled the output");
        AssertClose(bilinear.Forward(a, b), bilinear.Call(a, b), 0, 0, "hooks removed");

        // a value-tuple output is replaced as a whole
        var gru = new GRU(3, 4);
        var x = Tensor.Randn(5, 2, 3);
        using (gru.RegisterForwardHook((_, _, output) => output is (Tensor o, Tensor h) ? (o * 0, h) : null))
            Assert.Equal(0.0, gru.Call(x).Output.Abs().Sum().Item());
        Assert.NotEqual(0.0, gru.Call(x).Output.Abs().Sum().Item());

        // a replacement of the wrong type is reported, naming the module
        using (bilinear.RegisterForwardPreHook((_, inputs) => [inputs[0], "not a tensor"]))
            Assert.Contains("Bilinear", Assert.Throws<InvalidOperationException>(() => bilinear.Call(a, b)).Message);
        using (bilinear.RegisterForwardHook((_, _, _) => 42))
            Assert.Contains("Int32", Assert.Throws<InvalidOperationException>(() => bilinear.Call(a, b)).Message);
        using (bilinear.RegisterForwardPreHook((_, inputs) => [inputs[0]]))
            Assert.Contains("1 inputs", Assert.Throws<InvalidOperationException>(() => bilinear.Call(a, b)).Message);
    }

    [Fact]
    public void RemovingThroughTheHandleStopsTheHook()
    {
        var linear = new Linear(2, 2);
        int pre = 0, post = 0;
        var preHandle = linear.RegisterForwardPreHook((_, _) => { pre++; });
        var postHandle = linear.RegisterForwardHook((_, _, _) => { post++; });
        linear.Call(Tensor.Randn(1, 2));
        Assert.True(linear.HasForwardHooks);
        preHandle.Remove(); postHandle.Dispose(); postHandle.Dispose();
        Assert.False(linear.HasForwardHooks);
        linear.Call(Tensor.Randn(1, 2));
        Assert.Equal((1, 1), (pre, post));
    }

    /// <summary>A two-input module that computes nothing, to measure what a call itself costs.</summary>
    sealed class First : Module<Tensor, Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input1, Tensor input2) => input1;
        public Tensor Call(Tensor input, int offset) => Invoke(this, (input, offset), static (m, a) => m.Forward(a.input, a.input));
    }

    [Fact]
    public void CallsWithoutHooksAllocateNothing()
    {
        var x = Tensor.Randn(2, 3);
        var chain = new Sequential(new Identity(), new Identity(), new Sequential(new Identity()));
        var pair = new First();
        var other = new Identity();
        using var elsewhere = other.RegisterForwardHook((_, _, _) => { });   // a hook on another module costs this one nothing
        void Calls()
        {
            chain.Call(x);
            pair.Call(x, x);
            pair.Call(x, 1);
        }
        for (int i = 0; i < 100; i++) Calls();   // warm: JIT, cached static lambdas
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Calls();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        using (pair.RegisterForwardHook((_, _, _) => { }))   // the measurement does see the hooked path's argument list
        {
            before = GC.GetAllocatedBytesForCurrentThread();
            pair.Call(x, x);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before > 0);
        }
    }
}
