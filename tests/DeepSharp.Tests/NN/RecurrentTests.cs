using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>Recurrent layers: gradient checks, fused vs composed, packing semantics, dropout, errors.</summary>
public class RecurrentTests
{
    static Tensor Flat(params Tensor?[] parts) => Tensor.Cat(parts.Where(p => p != null).Select(p => p!.Reshape(-1)).ToArray());

    // ---- gradient checks (float64) ---------------------------------------------------------------------------

    [Theory]
    [InlineData("rnn_tanh")]
    [InlineData("rnn_relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void CellsGradCheck(string kind)
    {
        Random.Seed(1);
        Module cell = kind switch
        {
            "lstm" => new LSTMCell(3, 4, dtype: DType.Float64),
            "gru" => new GRUCell(3, 4, dtype: DType.Float64),
            "rnn_relu" => new RNNCell(3, 4, nonlinearity: RNNNonlinearity.ReLU, dtype: DType.Float64),
            _ => new RNNCell(3, 4, dtype: DType.Float64),
        };
        var x = R(2, 3); var h = R(2, 4); var c = R(2, 4);
        var ps = cell.Parameters().ToArray();
        GradCheck(t => cell switch
        {
            LSTMCell l => Flat(l.Forward(t[0], (t[1], t[2])).H, l.Forward(t[0], (t[1], t[2])).C),
            GRUCell g => g.Forward(t[0], t[1]),
            _ => ((RNNCell)cell).Forward(t[0], t[1]),
        }, [x, h, c, .. ps]);
    }

    /// <summary>RNN and GRU share one signature (h0 in, output and h_n out); LSTM carries (h, c).</summary>
    static Module Layer(string kind, int input, int hidden, int layers, bool bidir, bool batchFirst = false) => kind switch
    {
        "lstm" => new LSTM(input, hidden, layers, batchFirst: batchFirst, bidirectional: bidir, dtype: DType.Float64),
        "gru" => new GRU(input, hidden, layers, batchFirst: batchFirst, bidirectional: bidir, dtype: DType.Float64),
        "rnn_relu" => new RNN(input, hidden, layers, RNNNonlinearity.ReLU, batchFirst: batchFirst, bidirectional: bidir, dtype: DType.Float64),
        _ => new RNN(input, hidden, layers, batchFirst: batchFirst, bidirectional: bidir, dtype: DType.Float64),
    };

    /// <summary>Output, h_n and c_n of any layer kind, flattened into one tensor.</summary>
    static Tensor Run(Module m, Tensor x, Tensor? h0, Tensor? c0) => m switch
    {
        LSTM l => Flat(l.Forward(x, h0 == null ? null : (h0, c0!)).Output, l.Forward(x, h0 == null ? null : (h0, c0!)).State.H, l.Forward(x, h0 == null ? null : (h0, c0!)).State.C),
        GRU g => FlatPair(g.Forward(x, h0)),
        _ => FlatPair(((RNN)m).Forward(x, h0)),
    };

    static bool BatchFirst(Module m) => m is LSTM l ? l.BatchFirst : ((RNNBase<Tensor?, (Tensor Output, Tensor HN)>)m).BatchFirst;

    static void UseFusedKernel(Module m, bool fused)
    {
        if (m is LSTM l) l.UseFusedKernel = fused;
        else ((RNNBase<Tensor?, (Tensor Output, Tensor HN)>)m).UseFusedKernel = fused;
    }

    static Tensor FlatPair((Tensor Output, Tensor HN) r) => Flat(r.Output, r.HN);

    static Tensor RunPacked(Module m, Tensor x, int[] lengths, Tensor? h0, Tensor? c0)
    {
        var packed = RnnUtils.PackPaddedSequence(x, lengths, BatchFirst(m), enforceSorted: false);
        PackedSequence o; Tensor hN; Tensor? cN = null;
        switch (m)
        {
            case LSTM l: (o, (hN, var cc)) = l.Forward(packed, h0 == null ? null : (h0, c0!)); cN = cc; break;
            case GRU g: (o, hN) = g.Forward(packed, h0); break;
            default: (o, hN) = ((RNN)m).Forward(packed, h0); break;
        }
        return Flat(RnnUtils.PadPackedSequence(o, BatchFirst(m)).Padded, hN, cN);
    }

    [Theory]
    [InlineData("rnn_tanh")]
    [InlineData("rnn_relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void TwoLayerBidirectionalLayersGradCheck(string kind)
    {
        Random.Seed(2);
        var m = Layer(kind, 2, 3, 2, bidir: true);
        var x = R(3, 2, 2); var h0 = R(4, 2, 3); var c0 = R(4, 2, 3);
        GradCheck(t => Run(m, t[0], t[1], t[2]), [x, h0, c0, .. m.Parameters()]);
    }

    [Theory]
    [InlineData("rnn_tanh")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void PackedLayersGradCheck(string kind)
    {
        Random.Seed(3);
        var m = Layer(kind, 2, 3, 2, bidir: true, batchFirst: true);
        var x = R(3, 4, 2); var h0 = R(4, 3, 3); var c0 = R(4, 3, 3);
        GradCheck(t => RunPacked(m, t[0], [2, 4, 1], t[1], t[2]), [x, h0, c0, .. m.Parameters()]);
    }

    [Theory]
    [InlineData("rnn_tanh")]
    [InlineData("rnn_relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void FusedMatchesComposed(string kind)
    {
        Random.Seed(4);
        var m = Layer(kind, 5, 6, 2, bidir: true, batchFirst: true);
        var x = R(3, 7, 5); var h0 = R(4, 3, 6); var c0 = R(4, 3, 6);
        var leaves = new[] { x, h0, c0 }.Concat(m.Parameters()).ToArray();
        foreach (var packed in new[] { false, true })
        {
            Tensor Eval(bool fused)
            {
                UseFusedKernel(m, fused);
                return packed ? RunPacked(m, x, [5, 7, 2], h0, c0) : Run(m, x, h0, c0);
            }
            var a = Eval(true); var b = Eval(false);
            AssertClose(b, a, 1e-12, 1e-12, $"{kind} packed={packed}: forward");
            var up = Tensor.RandnLike(a);
            var ga = Autograd.Grad([a], leaves, [up], allowUnused: true);
            var gb = Autograd.Grad([b], leaves, [up], allowUnused: true);
            for (int i = 0; i < leaves.Length; i++)
            {
                if (ga[i] == null && gb[i] == null) continue;   // c0 for non-LSTM layers
                AssertClose(gb[i]!, ga[i]!, 1e-10, 1e-12, $"{kind} packed={packed}: gradient {i}");
            }
        }
    }

    [Fact]
    public void FusedKernelSupportsDoubleBackward()
    {
        Random.Seed(5);
        AssertFusedSecondOrderMatchesComposed(new LSTM(2, 3, 2, dtype: DType.Float64), R(3, 2, 2));
    }

    /// <summary>A gradient penalty (second-order gradients of every parameter) through the fused op equals the composed reference's.</summary>
    internal static void AssertFusedSecondOrderMatchesComposed(LSTM m, Tensor x)
    {
        Tensor Penalty(bool fused)
        {
            m.UseFusedKernel = fused;
            var y = m.Call(x).Output;
            var g = Autograd.Grad(y.Pow(2).Sum(), x, createGraph: true);
            return g.Pow(2).Sum();
        }
        var ps = m.Parameters().ToArray();
        var fusedGrads = Autograd.Grad([Penalty(true)], ps);
        var composedGrads = Autograd.Grad([Penalty(false)], ps);
        for (int i = 0; i < ps.Length; i++) AssertClose(composedGrads[i]!, fusedGrads[i]!, 1e-10, 1e-12, $"second-order gradient {i}");
    }

    [Fact]
    public void Float32MatchesFloat64()
    {
        Random.Seed(6);
        var m64 = new GRU(4, 5, 2, bidirectional: true, dtype: DType.Float64);
        var m32 = new GRU(4, 5, 2, bidirectional: true);
        m32.LoadStateDict(m64.StateDict());
        var x = Tensor.Randn([6, 3, 4], DType.Float64);
        var y64 = m64.Call(x).Output;
        var x32 = x.To(DType.Float32).RequiresGrad_();
        var y32 = m32.Call(x32).Output;
        AssertClose(y64, y32, 1e-4, 1e-5, "float32 output");
        y32.Sum().Backward();
        Assert.Equal(DType.Float32, m32.FlatWeights[0].Grad!.DType);
        Assert.Equal([6, 3, 4], x32.Grad!.Shape);
    }

    // ---- packing semantics ---------------------------------------------------------------------------------------

    [Fact]
    public void PackedOutputsAreZeroPastLengthsAndStatesAreAtLastValidStep()
    {
        Random.Seed(7);
        var m = new LSTM(3, 4, bidirectional: true, batchFirst: true, dtype: DType.Float64);
        var x = Tensor.Randn([3, 5, 3], DType.Float64);
        int[] lengths = [2, 5, 3];
        var (o, (hN, cN)) = m.Forward(RnnUtils.PackPaddedSequence(x, lengths, batchFirst: true, enforceSorted: false), null);
        var padded = RnnUtils.PadPackedSequence(o, batchFirst: true).Padded;
        Assert.Equal([3, 5, 8], padded.Shape);
        for (int b = 0; b < 3; b++)
        {
            // each sequence alone, unpadded, must give the same outputs and states
            var (alone, (h1, c1)) = m.Forward(x.Narrow(0, b, 1).Narrow(1, 0, lengths[b]), null);
            AssertClose(alone, padded.Narrow(0, b, 1).Narrow(1, 0, lengths[b]), 1e-12, 1e-12, $"sequence {b}");
            AssertClose(h1, hN.Narrow(1, b, 1), 1e-12, 1e-12, $"h_n of sequence {b}");
            AssertClose(c1, cN.Narrow(1, b, 1), 1e-12, 1e-12, $"c_n of sequence {b}");
            if (lengths[b] < 5) Assert.All(padded.Narrow(0, b, 1).Narrow(1, lengths[b], 5 - lengths[b]).ToArray<double>(), v => Assert.Equal(0, v));
        }
    }

    [Fact]
    public void PackingRoundTripsAndIsDifferentiable()
    {
        var x = R(4, 3, 2);
        var packed = RnnUtils.PackPaddedSequence(x, [4, 1, 3], enforceSorted: false);
        Assert.Equal([3, 2, 2, 1], packed.GetBatchSizes());
        Assert.Equal([0L, 2, 1], packed.SortedIndices!.ToArray<long>());
        Assert.Equal(8, packed.Data.Shape[0]);
        var (padded, lengths) = RnnUtils.PadPackedSequence(packed);
        Assert.Equal([4L, 1, 3], lengths.ToArray<long>());
        padded.Sum().Backward();
        // gradient reaches exactly the valid positions
        var g = x.Grad!;
        Assert.Equal(8.0 * 2, g.Sum().Item());
        Assert.Equal(0.0, g.Narrow(0, 1, 3).Narrow(1, 1, 1).Abs().Sum().Item());
        GradCheck(t => RnnUtils.PadPackedSequence(RnnUtils.PackPaddedSequence(t[0], [4, 1, 3], enforceSorted: false), batchFirst: true).Padded, x);
        var (data, batchSizes, sorted, unsorted) = packed;
        Assert.Same(packed.Data, data); Assert.NotNull(batchSizes); Assert.NotNull(sorted); Assert.NotNull(unsorted);
    }

    [Fact]
    public void PackedInputGivesHiddenStateInOriginalOrder()
    {
        Random.Seed(8);
        var m = new GRU(2, 3, dtype: DType.Float64);
        var x = Tensor.Randn([4, 3, 2], DType.Float64);
        var h0 = Tensor.Randn([1, 3, 3], DType.Float64);
        var (_, hN) = m.Forward(RnnUtils.PackPaddedSequence(x, [1, 4, 2], enforceSorted: false), h0);
        for (int b = 0; b < 3; b++)
        {
            int len = new[] { 1, 4, 2 }[b];
            var (_, h) = m.Forward(x.Narrow(1, b, 1).Narrow(0, 0, len), h0.Narrow(1, b, 1));
            AssertClose(h, hN.Narrow(1, b, 1), 1e-12, 1e-12, $"h_n of sequence {b}");
        }
    }

    // ---- layer behaviour ----------------------------------------------------------------------------------------

    [Fact]
    public void StateDictKeysAndShapesFollowPyTorch()
    {
        var m = new LSTM(10, 20, numLayers: 2, bidirectional: true, bias: false);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                      "weight_ih_l1", "weight_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse"], m.StateDict().Keys);
        Assert.Equal([80, 10], m.GetParameter("weight_ih_l0").Shape);
        Assert.Equal([80, 40], m.GetParameter("weight_ih_l1").Shape);
        Assert.Equal([80, 20], m.GetParameter("weight_hh_l1_reverse").Shape);
        Assert.Equal(4, m.AllWeights.Count);
        var g = new GRU(3, 4);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], g.StateDict().Keys);
        Assert.Equal([12], g.GetParameter("bias_hh_l0").Shape);
        Assert.Equal(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], new LSTMCell(3, 4).StateDict().Keys);
        Assert.Equal("LSTM(10, 20, num_layers=2, bias=False, bidirectional=True)", m.ToString());
    }

    [Fact]
    public void InitialisationIsUniformWithPyTorchBound()
    {
        var m = new LSTM(16, 64);
        double bound = 1 / Math.Sqrt(64);
        foreach (var p in m.Parameters())
        {
            var v = p.ToArray<double>();
            Assert.All(v, e => Assert.InRange(e, -bound, bound));
            Assert.True(v.Max() > 0.9 * bound && v.Min() < -0.9 * bound);
        }
        var a = new GRUCell(3, 5); var b = new GRUCell(3, 5);
        a.ResetParameters(new Generator(3)); b.ResetParameters(new Generator(3));
        AssertClose(a.WeightHh, b.WeightHh, 0, 0);
    }

    [Fact]
    public void ShapesForAllLayouts()
    {
        var m = new LSTM(3, 4, numLayers: 2, bidirectional: true, batchFirst: true);
        var (o, (h, c)) = m.Forward(Tensor.Randn(5, 7, 3), null);
        Assert.Equal([5, 7, 8], o.Shape); Assert.Equal([4, 5, 4], h.Shape); Assert.Equal([4, 5, 4], c.Shape);
        var (ou, (hu, cu)) = m.Forward(Tensor.Randn(7, 3), null);   // unbatched
        Assert.Equal([7, 8], ou.Shape); Assert.Equal([4, 4], hu.Shape); Assert.Equal([4, 4], cu.Shape);
        var r = new RNN(3, 4);
        Assert.Equal([6, 2, 4], r.Call(Tensor.Randn(6, 2, 3)).Output.Shape);
        var cell = new LSTMCell(3, 4);
        Assert.Equal([4], cell.Call(Tensor.Randn(3)).H.Shape);
        Assert.Equal([2, 4], cell.Forward(Tensor.Randn(2, 3), (Tensor.Zeros(2, 4), Tensor.Zeros(2, 4))).C.Shape);
    }

    [Fact]
    public void OutputLastStepEqualsHiddenState()
    {
        var m = new GRU(3, 4, numLayers: 2);
        var (o, h) = m.Forward(Tensor.Randn(5, 2, 3), null);
        AssertClose(h.Select(0, 1), o.Select(0, 4), 0, 0, "last layer h_n");
    }

    [Fact]
    public void CellsMatchOneStepOfTheLayer()
    {
        Random.Seed(9);
        var layer = new LSTM(3, 4, dtype: DType.Float64);
        var cell = new LSTMCell(3, 4, dtype: DType.Float64);
        cell.LoadStateDict(layer.StateDict().ToDictionary(kv => kv.Key.Replace("_l0", ""), kv => kv.Value));
        var x = Tensor.Randn([5, 2, 3], DType.Float64);
        var (o, _) = layer.Forward(x, null);
        (Tensor H, Tensor C)? state = null;
        for (int t = 0; t < 5; t++)
        {
            state = cell.Forward(x.Select(0, t), state);
            AssertClose(o.Select(0, t), state.Value.H, 1e-12, 1e-12, $"step {t}");
        }
    }

    [Fact]
    public void DropoutAppliesBetweenLayersOnlyInTraining()
    {
        var m = new LSTM(3, 8, numLayers: 2, dropout: 0.5);
        var x = Tensor.Randn(4, 2, 3);
        m.Eval();
        var a = m.Call(x).Output; var b = m.Call(x).Output;
        AssertClose(a, b, 0, 0, "eval is deterministic");
        m.Train();
        m.Generator = new Generator(1); var t1 = m.Call(x).Output;
        m.Generator = new Generator(1); var t2 = m.Call(x).Output;
        AssertClose(t1, t2, 0, 0, "same generator, same mask");
        Assert.True(t1.Sub(a).Abs().Max().Item() > 1e-4, "training output differs from evaluation");
        // a single layer has nothing to drop between layers
        var single = new GRU(3, 4, dropout: 0.5);
        var s1 = single.Call(x).Output; single.Eval();
        AssertClose(single.Call(x).Output, s1, 0, 0, "one layer");
    }

    [Fact]
    public void TrainsAndLossDecreases()
    {
        Random.Seed(10);
        var m = new LSTM(2, 8, batchFirst: true);
        var head = new Linear(8, 1);
        var opt = new DeepSharp.Optim.Adam(m.Parameters().Concat(head.Parameters()), 0.02);
        var x = Tensor.Randn(16, 6, 2);
        var y = x.Sum([1, 2]).Unsqueeze(1);   // sum of the sequence
        double first = 0, last = 0;
        for (int i = 0; i < 60; i++)
        {
            opt.ZeroGrad();
            var loss = F.MseLoss(head.Call(m.Call(x).Output.Select(1, -1)), y);
            loss.Backward(); opt.Step();
            if (i == 0) first = loss.Item(); last = loss.Item();
        }
        Assert.True(last < first * 0.3, $"loss {first} -> {last}");
    }

    [Fact]
    public void ConvertsWithToDouble()
    {
        var m = new LSTM(3, 4);
        m.To(DType.Float64);
        Assert.Equal(DType.Float64, m.FlatWeights[3].DType);
        Assert.Equal(DType.Float64, m.Call(Tensor.Randn([2, 1, 3], DType.Float64)).Output.DType);
    }


    [Fact]
    public void FlatWeightsIsBuiltOnceAndFollowsReplacedParameters()
    {
        var m = new LSTM(3, 4);
        var before = m.FlatWeights;
        m.Call(Tensor.Randn(2, 1, 3));
        Assert.Same(before, m.FlatWeights);                                  // a forward does not rebuild it
        var replacement = Tensor.Zeros(16, 4);
        m.RegisterParameter("weight_hh_l0", replacement);
        Assert.Same(replacement, m.FlatWeights[1]);
        Assert.Same(replacement, m.AllWeights[0][1]);
        var output = m.Call(Tensor.Randn(2, 1, 3)).Output;                   // the forward reads the new weight
        Assert.Equal([2, 1, 4], output.Shape);
        m.LoadStateDict(new LSTM(3, 4).StateDict());
        Assert.Same(replacement, m.FlatWeights[1]);                          // loading copies into the same tensors
        m.To(DType.Float64);
        Assert.Equal(DType.Float64, m.FlatWeights[1].DType);                 // a conversion replaces them
    }
    // ---- errors -------------------------------------------------------------------------------------------------

    [Fact]
    public void BadInputsThrowClearErrors()
    {
        var lstm = new LSTM(3, 4, numLayers: 2);
        var e = Assert.Throws<ArgumentException>(() => lstm.Call(Tensor.Randn(5, 2, 4)));
        Assert.Contains("Expected 3, got 4", e.Message); Assert.Equal("input", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Randn(5, 2, 3), (Tensor.Zeros(1, 2, 4), Tensor.Zeros(2, 2, 4))));
        Assert.Contains("(2, 2, 4)", e.Message); Assert.Contains("(1, 2, 4)", e.Message); Assert.Equal("h0", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Randn(5, 2, 3), (Tensor.Zeros(2, 2, 4), Tensor.Zeros(2, 3, 4))));
        Assert.Equal("c0", e.ParamName); Assert.Contains("hidden[1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Call(Tensor.Randn(5, 2, 3, 1)));
        Assert.Contains("(5, 2, 3, 1)", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Call(Tensor.Randn([5, 2, 3], DType.Float64)));
        Assert.Contains("float64", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Randn(5, 3), (Tensor.Zeros(2, 1, 4), Tensor.Zeros(2, 1, 4))));
        Assert.Contains("2-D", e.Message);
        var gru = new GRU(3, 4);
        e = Assert.Throws<ArgumentException>(() => gru.Forward(Tensor.Randn(5, 2, 3), Tensor.Zeros(1, 3, 4)));
        Assert.Contains("(1, 2, 4)", e.Message); Assert.Contains("(1, 3, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() => gru.Call(RnnUtils.PackSequence([Tensor.Randn(3, 5)])));
        Assert.Contains("input_size=3", e.Message);

        var cell = new GRUCell(3, 4);
        e = Assert.Throws<ArgumentException>(() => cell.Forward(Tensor.Randn(2, 3), Tensor.Zeros(3, 4)));
        Assert.Contains("(2, 4)", e.Message); Assert.Contains("(3, 4)", e.Message); Assert.Equal("hx", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => cell.Call(Tensor.Randn(2, 5)));
        Assert.Contains("got 5 expected 3", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GRU(3, 4, numLayers: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RNN(3, 4, dropout: 1.5));
    }

    [Fact]
    public void BadPackingThrowsClearErrors()
    {
        var x = Tensor.Randn(4, 3, 2);
        var e = Assert.Throws<ArgumentException>(() => RnnUtils.PackPaddedSequence(x, [2, 4, 1]));
        Assert.Contains("decreasing", e.Message);
        e = Assert.Throws<ArgumentException>(() => RnnUtils.PackPaddedSequence(x, [4, 2, 0]));
        Assert.Contains("greater than 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => RnnUtils.PackPaddedSequence(x, [4, 2]));
        Assert.Contains("expected 3 lengths", e.Message);
        e = Assert.Throws<ArgumentException>(() => RnnUtils.PackPaddedSequence(x, [5, 2, 1]));
        Assert.Contains("exceeds", e.Message);
        e = Assert.Throws<ArgumentException>(() => RnnUtils.PackPaddedSequence(x, Tensor.FromArray(new[] { 4.0, 2, 1 }, 3)));
        Assert.Equal("lengths", e.ParamName);
        var packed = RnnUtils.PackPaddedSequence(x, [4, 2, 1]);
        Assert.Null(packed.SortedIndices);
        e = Assert.Throws<ArgumentException>(() => RnnUtils.PadPackedSequence(packed, totalLength: 3));
        Assert.Contains("totalLength=3", e.Message);
        Assert.Throws<ArgumentException>(() => new PackedSequence(Tensor.Randn(5, 2), Tensor.FromArray(new long[] { 2, 3 }, 2)));
        Assert.Throws<ArgumentException>(() => new PackedSequence(Tensor.Randn(4, 2), Tensor.FromArray(new long[] { 2, 1 }, 2)));
        e = Assert.Throws<ArgumentException>(() => RnnUtils.PadSequence([Tensor.Randn(3, 2), Tensor.Randn(2, 3)]));
        Assert.Contains("sequence 1", e.Message);
    }

    [Fact]
    public void CallsWithoutInitialStatesMatchExplicitZerosAcrossBatchSizesAndDtypes()
    {
        // the zero states are kept between calls: they must behave as fresh zeros whatever came before
        DeepSharp.Random.Seed(11);
        var lstm = new LSTM(3, 4, numLayers: 2);
        foreach (int batch in new[] { 2, 5, 2 })
        {
            var x = Tensor.Randn(6, batch, 3);
            var (implicitOut, (h, c)) = lstm.Call(x);
            var (explicitOut, (h2, c2)) = lstm.Call(x, (Tensor.Zeros(2, batch, 4), Tensor.Zeros(2, batch, 4)));
            TestUtil.AssertClose(explicitOut, implicitOut, rtol: 0, atol: 0);
            TestUtil.AssertClose(h2, h, rtol: 0, atol: 0);
            TestUtil.AssertClose(c2, c, rtol: 0, atol: 0);
            implicitOut.Sum().Backward();   // a backward through the kept states changes nothing in them
        }
        var gru = new GRU(3, 4, dtype: DType.Float64);
        var xd = Tensor.Randn([6, 2, 3], DType.Float64);
        TestUtil.AssertClose(gru.Call(xd, Tensor.Zeros([1, 2, 4], DType.Float64)).Output, gru.Call(xd).Output, rtol: 0, atol: 0);
    }
}
