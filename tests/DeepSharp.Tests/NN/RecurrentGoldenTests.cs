using System.Text.Json;
using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>RNN/LSTM/GRU layers and cells against PyTorch 1.13 (tools/golden/rnn.py): outputs, final states, gradients.</summary>
public class RecurrentGoldenTests
{
    static Golden.GoldenCase Case(string name) => Golden.Golden.Case("rnn", name);

    public static TheoryData<string, bool> LayerCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in Golden.Golden.CaseNames("rnn"))
            if (Case(name).Extra is { } e && e.TryGetProperty("num_layers", out _))
                foreach (var fused in new[] { true, false }) data.Add(name, fused);
        return data;
    }

    public static TheoryData<string, bool> CellCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in Golden.Golden.CaseNames("rnn"))
            if (Case(name).Extra is { } e && e.TryGetProperty("kind", out var k) && k.GetString()!.EndsWith("Cell"))
                foreach (var fused in new[] { true, false }) data.Add(name, fused);
        return data;
    }

    static Module MakeLayer(JsonElement e, DType dtype, bool fused)
    {
        int input = e.GetProperty("input_size").GetInt32(), hidden = e.GetProperty("hidden_size").GetInt32();
        int layers = e.GetProperty("num_layers").GetInt32();
        bool bias = e.GetProperty("bias").GetBoolean(), batchFirst = e.GetProperty("batch_first").GetBoolean();
        bool bidir = e.GetProperty("bidirectional").GetBoolean();
        double dropout = e.GetProperty("dropout").GetDouble();
        int projSize = e.TryGetProperty("proj_size", out var p) ? p.GetInt32() : 0;
        return e.GetProperty("kind").GetString() switch
        {
            "LSTM" => new LSTM(input, hidden, layers, bias, batchFirst, dropout, bidir, dtype, projSize) { UseFusedKernel = fused },
            "GRU" => new GRU(input, hidden, layers, bias, batchFirst, dropout, bidir, dtype) { UseFusedKernel = fused },
            _ => new RNN(input, hidden, layers, e.GetProperty("nonlinearity").GetString() == "relu" ? RNNNonlinearity.ReLU : RNNNonlinearity.Tanh,
                bias, batchFirst, dropout, bidir, dtype) { UseFusedKernel = fused },
        };
    }

    static Module MakeCell(JsonElement e, DType dtype, bool fused)
    {
        int input = e.GetProperty("input_size").GetInt32(), hidden = e.GetProperty("hidden_size").GetInt32();
        bool bias = e.GetProperty("bias").GetBoolean();
        return e.GetProperty("kind").GetString() switch
        {
            "LSTMCell" => new LSTMCell(input, hidden, bias, dtype) { UseFusedKernel = fused },
            "GRUCell" => new GRUCell(input, hidden, bias, dtype) { UseFusedKernel = fused },
            _ => new RNNCell(input, hidden, bias, e.GetProperty("nonlinearity").GetString() == "relu" ? RNNNonlinearity.ReLU : RNNNonlinearity.Tanh, dtype) { UseFusedKernel = fused },
        };
    }

    /// <summary>Loads the case's parameters (inputs 3..) into the module under PyTorch's keys, strictly.</summary>
    static string[] LoadWeights(Golden.GoldenCase c, Module m, JsonElement e)
    {
        var keys = e.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToArray();
        Assert.Equal(keys, m.StateDict().Keys);
        var state = new Dictionary<string, Tensor>();
        for (int i = 0; i < keys.Length; i++) state[keys[i]] = c.Inputs[3 + i]!;
        m.LoadStateDict(state, strict: true);
        Assert.Equal(e.GetProperty("repr").GetString(), m.ToString());
        return keys;
    }

    static Tensor Flat(params Tensor?[] parts) => Tensor.Cat(parts.Where(p => p != null).Select(p => p!.Reshape(-1)).ToArray());

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void LayerMatchesPyTorch(string name, bool fused)
    {
        var c = Case(name);
        var e = c.Extra!.Value;
        var dtype = c.Inputs[0]!.DType;
        var m = MakeLayer(e, dtype, fused);
        m.Eval();
        var keys = LoadWeights(c, m, e);
        var x = c.Input(0);
        var h0 = c.Inputs[1] != null ? c.Input(1) : null;
        var c0 = c.Inputs[2] != null ? c.Input(2) : null;
        var leaves = new List<Tensor> { x };
        if (h0 != null) leaves.Add(h0);
        if (c0 != null) leaves.Add(c0);
        var parameters = m.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        leaves.AddRange(keys.Select(k => parameters[k]));
        if (e.TryGetProperty("shapes", out var shapes))   // projection cases: parameter shapes and _flat_weights_names
        {
            var expected = shapes.EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt32()).ToArray()).ToArray();
            Assert.Equal(expected, keys.Select(k => parameters[k].Shape.ToArray()).ToArray());
            Assert.Equal(e.GetProperty("flat_weights_names").EnumerateArray().Select(n => n.GetString()!), ((LSTM)m).FlatWeightsNames);
        }

        Tensor output, hN; Tensor? cN = null;
        bool batchFirst = e.GetProperty("batch_first").GetBoolean();
        if (e.GetProperty("lengths").ValueKind == JsonValueKind.Array)
        {
            var lengths = e.GetProperty("lengths").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var packed = RnnUtils.PackPaddedSequence(x, lengths, batchFirst, e.GetProperty("enforce_sorted").GetBoolean());
            PackedSequence outPacked;
            switch (m)
            {
                case LSTM lstm: (outPacked, (hN, var cc)) = lstm.Forward(packed, h0 == null ? null : (h0, c0!)); cN = cc; break;
                case GRU gru: (outPacked, hN) = gru.Forward(packed, h0); break;
                default: (outPacked, hN) = ((RNN)m).Forward(packed, h0); break;
            }
            var (padded, outLengths) = RnnUtils.PadPackedSequence(outPacked, batchFirst, totalLength: x.Shape[batchFirst ? 1 : 0]);
            Assert.Equal(lengths.Select(v => (long)v), outLengths.ToArray<long>());
            output = padded;
        }
        else
        {
            switch (m)
            {
                case LSTM lstm: (output, (hN, var cc)) = lstm.Forward(x, h0 == null ? null : (h0, c0!)); cN = cc; break;
                case GRU gru: (output, hN) = gru.Forward(x, h0); break;
                default: (output, hN) = ((RNN)m).Forward(x, h0); break;
            }
        }
        double rtol = dtype == DType.Float32 ? 1e-4 : 1e-9, atol = dtype == DType.Float32 ? 1e-5 : 1e-11;
        AssertClose(c.Outputs[1]!, output, rtol, atol, $"{name}: output");
        AssertClose(c.Outputs[2]!, hN, rtol, atol, $"{name}: h_n");
        if (c.Outputs[3] != null) AssertClose(c.Outputs[3]!, cN!, rtol, atol, $"{name}: c_n");
        c.Check(Flat(output, hN, cN), leaves.ToArray(), rtol, atol);
    }

    [Theory]
    [MemberData(nameof(CellCases))]
    public void CellMatchesPyTorch(string name, bool fused)
    {
        var c = Case(name);
        var e = c.Extra!.Value;
        var m = MakeCell(e, DType.Float64, fused);
        var keys = LoadWeights(c, m, e);
        var x = c.Input(0);
        var h0 = c.Inputs[1] != null ? c.Input(1) : null;
        var c0 = c.Inputs[2] != null ? c.Input(2) : null;
        var leaves = new List<Tensor> { x };
        if (h0 != null) leaves.Add(h0);
        if (c0 != null) leaves.Add(c0);
        var parameters = m.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        leaves.AddRange(keys.Select(k => parameters[k]));
        Tensor h; Tensor? cc = null;
        switch (m)
        {
            case LSTMCell lstm: (h, var cOut) = lstm.Forward(x, h0 == null ? null : (h0, c0!)); cc = cOut; break;
            case GRUCell gru: h = gru.Forward(x, h0); break;
            default: h = ((RNNCell)m).Forward(x, h0); break;
        }
        AssertClose(c.Outputs[1]!, h, 1e-9, 1e-11, $"{name}: h");
        if (c.Outputs[2] != null) AssertClose(c.Outputs[2]!, cc!, 1e-9, 1e-11, $"{name}: c");
        c.Check(Flat(h, cc), leaves.ToArray(), 1e-9, 1e-11);
    }

    [Fact]
    public void PackingMatchesPyTorch()
    {
        var c = Case("pack_unsorted");
        var x = c.Inputs[0]!;
        var packed = RnnUtils.PackPaddedSequence(x, [5, 2, 4], enforceSorted: false);
        AssertClose(c.Outputs[0]!, packed.Data, 0, 0, "data");
        Assert.Equal(c.Outputs[1]!.ToArray<long>(), packed.BatchSizes.ToArray<long>());
        Assert.Equal(c.Outputs[2]!.ToArray<long>(), packed.SortedIndices!.ToArray<long>());
        Assert.Equal(c.Outputs[3]!.ToArray<long>(), packed.UnsortedIndices!.ToArray<long>());
        var (padded, lengths) = RnnUtils.PadPackedSequence(packed, batchFirst: true, paddingValue: -1, totalLength: 6);
        AssertClose(c.Outputs[4]!, padded, 0, 0, "padded");
        Assert.Equal(c.Outputs[5]!.ToArray<long>(), lengths.ToArray<long>());

        var p = Case("pad_sequence");
        var seqs = p.Inputs.Select(t => t!).ToArray();
        AssertClose(p.Outputs[0]!, RnnUtils.PadSequence(seqs), 0, 0, "pad_sequence");
        AssertClose(p.Outputs[1]!, RnnUtils.PadSequence(seqs, batchFirst: true, paddingValue: 7), 0, 0, "pad_sequence batch first");
        var ps = RnnUtils.PackSequence(seqs, enforceSorted: false);
        AssertClose(p.Outputs[2]!, ps.Data, 0, 0, "pack_sequence");
        Assert.Equal(p.Outputs[3]!.ToArray<long>(), ps.BatchSizes.ToArray<long>());
    }
}
