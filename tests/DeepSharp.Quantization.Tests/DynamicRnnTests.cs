using System.Text.Json;
using DeepSharp.NN;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class DynamicRnnTests
{
    static int Int(JsonElement config, string name, int fallback) => config.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;
    static bool Bool(JsonElement config, string name) => config.TryGetProperty(name, out var v) && v.GetBoolean();

    [Theory]
    [InlineData("lstm_1")]
    [InlineData("lstm_2_bi_bf")]
    [InlineData("gru_1")]
    [InlineData("gru_2_bi_bf")]
    public void DynamicRecurrentMatchesPyTorchOnednn(string name)
    {
        var c = Case(name);
        var cfg = c.GetProperty("config");
        int inSize = Int(cfg, "input_size", 0), hidden = Int(cfg, "hidden_size", 0), layers = Int(cfg, "num_layers", 1);
        bool bi = Bool(cfg, "bidirectional"), bf = Bool(cfg, "batch_first");
        var state = c.GetProperty("state_dict").EnumerateObject().ToDictionary(p => p.Name, p => Tensor(p.Value));
        var x = Tensor(c.GetProperty("x"));
        var h0 = c.TryGetProperty("h0", out var h0e) ? Tensor(h0e) : null;
        Tensor y, hn;
        Tensor? cn = null;
        DynamicQuantizedRecurrent core;
        if (c.GetProperty("kind").GetString() == "lstm")
        {
            var lstm = new LSTM(inSize, hidden, layers, bidirectional: bi, batchFirst: bf);
            lstm.LoadStateDict(state);
            var q = DynamicQuantizedLSTM.FromFloat(lstm);
            core = q.Core;
            (Tensor H, Tensor C)? s = h0 is null ? null : (h0, Tensor(c.GetProperty("c0")));
            (y, (hn, var cnv)) = q.Call(x, s);
            cn = cnv;
        }
        else
        {
            var gru = new GRU(inSize, hidden, layers, bidirectional: bi, batchFirst: bf);
            gru.LoadStateDict(state);
            var q = DynamicQuantizedGRU.FromFloat(gru);
            core = q.Core;
            (y, hn) = q.Call(x, h0);
        }
        // the int8 weights' scales are default_weight_observer's (per-tensor symmetric)
        var scales = c.GetProperty("weight_scales");
        int D = bi ? 2 : 1;
        for (int l = 0; l < layers; l++)
            for (int d = 0; d < D; d++)
            {
                string suffix = "_l" + l + (d == 1 ? "_reverse" : "");
                Assert.Equal(scales.GetProperty("weight_ih" + suffix).GetDouble(), core.InputWeights[l * D + d].Scales[0], 6);
                Assert.Equal(scales.GetProperty("weight_hh" + suffix).GetDouble(), core.HiddenWeights[l * D + d].Scales[0], 6);
            }
        // PyTorch's float32 rounding differs from ours in the last bits, which can move an activation across a
        // quantization boundary: allow a small fraction of one step's effect, and check we are far closer to PyTorch's
        // int8 result than to the float model's.
        Assert.Equal(ShapeOf(c.GetProperty("y")), y.Shape.ToArray());
        AssertClose(Vals(c.GetProperty("y")), Doubles(y), 0, 2e-4, name + " output");
        AssertClose(Vals(c.GetProperty("hn")), Doubles(hn), 0, 2e-4, name + " h_n");
        if (cn is not null) AssertClose(Vals(c.GetProperty("cn")), Doubles(cn), 0, 2e-4, name + " c_n");
        var yq = Vals(c.GetProperty("y")); var yf = Vals(c.GetProperty("y_float")); var ours = Doubles(y);
        double toInt8 = yq.Zip(ours, (a, b) => Math.Abs(a - b)).Max(), toFloat = yf.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(toInt8 * 10 < toFloat, $"{name}: max distance to PyTorch int8 {toInt8:G4} should be far below the distance to float {toFloat:G4}");
    }

    [Fact]
    public void UnbatchedEqualsBatchOfOne()
    {
        var lstm = new LSTM(5, 6, 2);
        var q = DynamicQuantizedLSTM.FromFloat(lstm);
        var x = DeepSharp.Tensor.Randn([7, 5]);
        var (y1, (h1, c1)) = q.Call(x);
        var (y3, (h3, c3)) = q.Call(x.Reshape(7, 1, 5));
        Assert.Equal(new[] { 7, 6 }, y1.Shape.ToArray());
        Assert.Equal(new[] { 2, 6 }, h1.Shape.ToArray());
        Assert.Equal(y3.ToArray<float>(), y1.ToArray<float>());
        Assert.Equal(c3.ToArray<float>(), c1.ToArray<float>());
    }

    [Fact]
    public void BadInputsNameTheArgumentAndShape()
    {
        var gru = DynamicQuantizedGRU.FromFloat(new GRU(4, 3));
        var e = Assert.Throws<ArgumentException>(() => gru.Call(DeepSharp.Tensor.Zeros([2, 1, 5])));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("(2, 1, 5)", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => gru.Call(DeepSharp.Tensor.Zeros([2, 1, 4]), DeepSharp.Tensor.Zeros([2, 1, 3])));
        Assert.Equal("h0", e2.ParamName);
        Assert.Throws<ArgumentException>(() => DynamicQuantizedLSTM.FromFloat(new LSTM(4, 6, projSize: 2)));
    }
}
