using System.Text.Json;
using DeepSharp.NN;
using DeepSharp.Tests.Golden;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Attention;

/// <summary>Attention against PyTorch 1.13 (tools/golden/attention.py): values, weights and gradients, PyTorch's state dicts loaded.</summary>
public class AttentionGoldenTests
{
    static GoldenCase Case(string name) => Golden.Golden.Case("attention", name);

    static Tensor? Extra(GoldenCase c, string name) =>
        c.Extra is { } e && e.TryGetProperty(name, out var v) ? Golden.Golden.ReadTensor(v) : null;

    static bool ExtraBool(GoldenCase c, string name) => c.Extra!.Value.GetProperty(name).GetBoolean();

    /// <summary>Loads the case's parameters (inputs from <paramref name="first"/> on, named by extra.keys) into <paramref name="module"/>; returns them in that order.</summary>
    static Tensor[] Load(Module module, GoldenCase c, int first)
    {
        var keys = c.Extra!.Value.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToArray();
        var state = keys.Select((k, i) => (k, c.Inputs[first + i]!)).ToDictionary(p => p.k, p => p.Item2);
        Assert.Equal(keys, module.StateDict().Keys);   // identical key names and order
        module.LoadStateDict(state);
        return keys.Select(module.GetParameter).ToArray();
    }

    [Theory]
    [InlineData("sdpa_3d")]
    [InlineData("sdpa_4d_float_mask")]
    [InlineData("sdpa_4d_bool_mask")]
    [InlineData("sdpa_causal")]
    [InlineData("sdpa_causal_rect_scale")]
    [InlineData("sdpa_f32")]
    public void ScaledDotProductAttentionMatchesPyTorch(string name)
    {
        var c = Case(name);
        var mask = Extra(c, "mask");
        bool causal = ExtraBool(c, "causal");
        var scaleEl = c.Extra!.Value.GetProperty("scale");
        double? scale = scaleEl.ValueKind == JsonValueKind.Number ? scaleEl.GetDouble() : null;
        bool f32 = c.Inputs[0]!.DType == DType.Float32;
        double tol = f32 ? 1e-5 : 1e-8;
        if (mask != null && f32) mask = mask.To(DType.Float32);
        foreach (var path in new[] { AttentionPath.Plain, AttentionPath.Lean })
        {
            var q = c.Input(0); var k = c.Input(1); var v = c.Input(2);
            var o = F.ScaledDotProductAttention(q, k, v, mask, 0, causal, scale, path);
            c.Check(o, [q, k, v], tol, tol);
        }
        var (_, weights) = F.ScaledDotProductAttentionWithWeights(c.Input(0), c.Input(1), c.Input(2), mask, 0, causal, scale);
        AssertClose(c.Outputs[1]!, weights, tol, tol, $"{name}: weights");
    }

    static MultiheadAttention Mha(GoldenCase c, int dataInputs, bool batchFirst = false, int? kdim = null, int? vdim = null,
        bool bias = true, bool biasKv = false, bool zeroAttn = false)
    {
        var e = c.Inputs[0]!.Shape[^1];
        return new MultiheadAttention(e, 2, 0.0, bias, biasKv, zeroAttn, kdim, vdim, batchFirst, DType.Float64);
    }

    static void CheckMha(GoldenCase c, MultiheadAttention m, Tensor[] data, Func<Tensor[], (Tensor Output, Tensor? Weights)> run)
    {
        var parameters = Load(m, c, data.Length);
        var (output, weights) = run(data);
        if (c.Outputs.Length > 1) AssertClose(c.Outputs[1]!, weights!, 1e-8, 1e-8, $"{c.Name}: weights");
        c.Check(output, [.. data, .. parameters], 1e-8, 1e-8);
    }

    [Theory]
    [InlineData("mha_self", false, true)]
    [InlineData("mha_self_batch_first_per_head", true, false)]
    public void SelfAttentionVariants(string name, bool batchFirst, bool average)
    {
        var c = Case(name);
        var m = Mha(c, 1, batchFirst);
        var x = c.Input(0);
        CheckMha(c, m, [x], d => m.Forward(d[0], d[0], d[0], averageAttnWeights: average));
    }

    [Fact]
    public void CrossAttentionVariants()
    {
        var c = Case("mha_cross_kv");
        var m = Mha(c, 2);
        CheckMha(c, m, [c.Input(0), c.Input(1)], d => m.Forward(d[0], d[1], d[1]));

        c = Case("mha_cross_general");
        m = Mha(c, 3, batchFirst: true);
        CheckMha(c, m, [c.Input(0), c.Input(1), c.Input(2)], d => m.Forward(d[0], d[1], d[2]));

        c = Case("mha_kdim_vdim");
        m = Mha(c, 3, kdim: 3, vdim: 5);
        Assert.Null(m.InProjWeight);
        CheckMha(c, m, [c.Input(0), c.Input(1), c.Input(2)], d => m.Forward(d[0], d[1], d[2]));
    }

    [Fact]
    public void MasksMatchPyTorch()
    {
        var c = Case("mha_bool_masks_no_weights");
        var m = Mha(c, 2);
        var attn = Extra(c, "attn_mask"); var kpm = Extra(c, "key_padding_mask");
        CheckMha(c, m, [c.Input(0), c.Input(1)], d => m.Forward(d[0], d[1], d[1], kpm, needWeights: false, attnMask: attn));

        c = Case("mha_bool_masks_weights");
        m = Mha(c, 2, batchFirst: true);
        CheckMha(c, m, [c.Input(0), c.Input(1)], d => m.Forward(d[0], d[1], d[1], kpm, attnMask: attn));

        c = Case("mha_float_mask_3d");
        m = Mha(c, 1);
        var fm = Extra(c, "attn_mask");
        CheckMha(c, m, [c.Input(0)], d => m.Forward(d[0], d[0], d[0], needWeights: false, attnMask: fm));

        c = Case("mha_causal_float_mask");
        m = Mha(c, 1, batchFirst: true);
        var causal = Extra(c, "attn_mask");
        CheckMha(c, m, [c.Input(0)], d => m.Forward(d[0], d[0], d[0], needWeights: false, attnMask: causal));
        // isCausal gives the same as the explicit causal mask
        m.Forward(c.Input(0), c.Input(0), c.Input(0));
        var x = c.Input(0);
        AssertClose(m.Forward(x, x, x, needWeights: false, attnMask: causal).Output, m.Forward(x, x, x, needWeights: false, isCausal: true).Output, 1e-12, 1e-12);
    }

    [Fact]
    public void BiasKvZeroAttnUnbatchedNoBias()
    {
        var c = Case("mha_bias_kv_zero_attn");
        var m = Mha(c, 2, biasKv: true, zeroAttn: true);
        var attn = Extra(c, "attn_mask"); var kpm = Extra(c, "key_padding_mask");
        CheckMha(c, m, [c.Input(0), c.Input(1)], d => m.Forward(d[0], d[1], d[1], kpm, attnMask: attn));

        c = Case("mha_unbatched");
        m = Mha(c, 1);
        var kpm1 = Extra(c, "key_padding_mask");
        CheckMha(c, m, [c.Input(0)], d => m.Forward(d[0], d[0], d[0], kpm1));

        c = Case("mha_no_bias");
        m = Mha(c, 1, bias: false);
        CheckMha(c, m, [c.Input(0)], d => m.Forward(d[0], d[0], d[0], needWeights: false));
    }

    [Theory]
    [InlineData("post_relu")]
    [InlineData("post_gelu")]
    [InlineData("pre_relu")]
    [InlineData("pre_gelu")]
    public void EncoderAndDecoderLayersMatchPyTorch(string tag)
    {
        var c = Case("enc_layer_" + tag);
        bool normFirst = ExtraBool(c, "norm_first");
        string act = c.Extra!.Value.GetProperty("activation").GetString()!;
        var enc = new TransformerEncoderLayer(4, 2, 8, 0.0, act, normFirst: normFirst, dtype: DType.Float64);
        var x = c.Input(0);
        var p = Load(enc, c, 1);
        c.Check(enc.Forward(x, Extra(c, "src_mask"), Extra(c, "src_key_padding_mask")), [x, .. p], 1e-8, 1e-8);

        c = Case("dec_layer_" + tag);
        var dec = new TransformerDecoderLayer(4, 2, 8, 0.0, act, batchFirst: true, normFirst: normFirst, dtype: DType.Float64);
        var t = c.Input(0); var mem = c.Input(1);
        p = Load(dec, c, 2);
        c.Check(dec.Forward(t, mem, Extra(c, "tgt_mask"), memoryKeyPaddingMask: Extra(c, "memory_key_padding_mask")), [t, mem, .. p], 1e-8, 1e-8);
    }

    [Fact]
    public void StacksAndTransformerMatchPyTorch()
    {
        var c = Case("encoder_stack_pre");
        var enc = new TransformerEncoder(new TransformerEncoderLayer(4, 2, 8, 0.0, batchFirst: true, normFirst: true, dtype: DType.Float64), 2,
            new LayerNorm(4, dtype: DType.Float64));
        var x = c.Input(0);
        var p = Load(enc, c, 1);
        c.Check(enc.Forward(x, Extra(c, "mask")), [x, .. p], 1e-8, 1e-8);

        c = Case("decoder_stack_post");
        var dec = new TransformerDecoder(new TransformerDecoderLayer(4, 2, 8, 0.0, "gelu", dtype: DType.Float64), 2);
        var t = c.Input(0); var mem = c.Input(1);
        p = Load(dec, c, 2);
        c.Check(dec.Forward(t, mem, Extra(c, "tgt_mask")), [t, mem, .. p], 1e-8, 1e-8);

        c = Case("transformer");
        var tr = new Transformer(4, 2, 1, 1, 8, 0.0, batchFirst: true, dtype: DType.Float64);
        var src = c.Input(0); var tgt = c.Input(1);
        p = Load(tr, c, 2);
        c.Check(tr.Forward(src, tgt, tgtMask: Extra(c, "tgt_mask")), [src, tgt, .. p], 1e-8, 1e-8);
    }

    [Fact]
    public void PositionEncodingsMatchReference()
    {
        var c = Case("sinusoidal");
        var x = c.Input(0);
        c.Check(new SinusoidalPositionalEncoding(6, 10, dtype: DType.Float64).Forward(x), [x], 1e-10, 1e-10);

        c = Case("rope_full");
        x = c.Input(0);
        c.Check(new RotaryEmbedding(8).Forward(x), [x], 1e-10, 1e-10);

        c = Case("rope_partial_offset");
        x = c.Input(0);
        c.Check(new RotaryEmbedding(4, theta: 500.0).Forward(x, 6), [x], 1e-10, 1e-10);
    }

    [Fact]
    public void KeysAndPrintoutMatchPyTorch()
    {
        var e = Case("structure").Extra!.Value;
        string[] Keys(string name) => e.GetProperty(name).EnumerateArray().Select(k => k.GetString()!).ToArray();
        Assert.Equal(Keys("encoder_keys"), new TransformerEncoder(new TransformerEncoderLayer(8, 2, 16), 2, new LayerNorm(8)).StateDict().Keys);
        Assert.Equal(Keys("decoder_layer_keys"), new TransformerDecoderLayer(8, 2, 16).StateDict().Keys);
        Assert.Equal(Keys("mha_kdim_keys"), new MultiheadAttention(8, 2, addBiasKv: true, kdim: 4, vdim: 6).StateDict().Keys);
        Assert.Equal(Keys("transformer_keys"), new Transformer(8, 2, 1, 1, 16).StateDict().Keys);
        Assert.Equal(e.GetProperty("encoder_layer_repr").GetString(), new TransformerEncoderLayer(8, 2, 16).ToString());
    }
}
