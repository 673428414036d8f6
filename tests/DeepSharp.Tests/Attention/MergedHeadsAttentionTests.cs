using DeepSharp.NN;

namespace DeepSharp.Tests.Attention;

/// <summary>
/// MultiheadAttention's lean path reads the heads straight from its contiguous projections and writes them merged
/// (ScaledDotProductAttentionOp.LeanMerged); before, it made head views, ran the kernel on them and permuted and reshaped
/// the result. Both run the same kernel on the same memory in the same order, so the outputs and every gradient must be
/// bitwise those of the view path (still what the layer runs without a layout, e.g. with bias_k), for every projection
/// kind, both layouts, masks, causal attention, dropout and both dtypes; and the merged output is one recorded node.
/// </summary>
public class MergedHeadsAttentionTests
{
    public enum Kind { SelfAttention, KeyIsValue, Separate, SeparateWeights }

    public static TheoryData<Kind, bool, DType, bool, double> Cases()
    {
        var data = new TheoryData<Kind, bool, DType, bool, double>();
        foreach (var kind in Enum.GetValues<Kind>())
            foreach (var batchFirst in new[] { true, false })
                foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                    data.Add(kind, batchFirst, dtype, kind == Kind.SelfAttention, kind == Kind.Separate ? 0.25 : 0.0);
        data.Add(Kind.SelfAttention, true, DType.Float32, false, 0.3);
        data.Add(Kind.KeyIsValue, false, DType.Float64, true, 0.0);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheHeadViewPathBitForBit(Kind kind, bool batchFirst, DType dtype, bool masked, double dropout)
    {
        const int n = 3, l = 5, s = 7, e = 12, heads = 3;
        Random.Seed(11);
        var mha = kind == Kind.SeparateWeights
            ? new MultiheadAttention(e, heads, dropout, kdim: 8, vdim: 6, batchFirst: batchFirst, dtype: dtype)
            : new MultiheadAttention(e, heads, dropout, batchFirst: batchFirst, dtype: dtype);
        int[] Shape(int t, int f) => batchFirst ? [n, t, f] : [t, n, f];
        var query = Tensor.Randn(Shape(l, e), dtype).RequiresGrad_();
        Tensor key, value;
        switch (kind)
        {
            case Kind.SelfAttention: key = value = query; break;
            case Kind.KeyIsValue: key = value = Tensor.Randn(Shape(s, e), dtype).RequiresGrad_(); break;
            case Kind.Separate: key = Tensor.Randn(Shape(s, e), dtype).RequiresGrad_(); value = Tensor.Randn(Shape(s, e), dtype).RequiresGrad_(); break;
            default: key = Tensor.Randn(Shape(s, 8), dtype).RequiresGrad_(); value = Tensor.Randn(Shape(s, 6), dtype).RequiresGrad_(); break;
        }
        int keys = kind == Kind.SelfAttention ? l : s;
        Tensor? attnMask = masked ? Tensor.Randn([l, keys], dtype) : null;
        var padding = masked ? Tensor.FromArray(new bool[n * keys].Select((_, i) => i % keys == keys - 1 && i / keys == 1).ToArray(), n, keys) : null;
        bool causal = kind == Kind.SelfAttention && !masked;
        var leaves = new List<Tensor> { query };
        if (!ReferenceEquals(key, query)) leaves.Add(key);
        if (!ReferenceEquals(value, key)) leaves.Add(value);
        leaves.AddRange(mha.Parameters());
        var upstream = Tensor.Randn(Shape(l, e), dtype);

        (float[] Output, List<double[]> Grads, string AttentionNode) Run(bool merged)
        {
            Random.Seed(5);   // the dropout seed
            var inputs = mha.CheckInputs(query, key, value, padding);
            var mask = mha.CombinedMask(attnMask, inputs.KeyPaddingMask, inputs.N, inputs.L, inputs.S, inputs.Query.DType);
            var (sources, select, layout) = mha.Project(inputs);
            var (h, _, isMerged) = mha.Attend(sources, select, mask, causal, 0, needWeights: false, inputs.BatchFirst, merged ? layout : null);
            Assert.Equal(merged, isMerged);
            var (output, _) = mha.MergeHeads(inputs, h, null, averageAttnWeights: false, isMerged);
            var grads = Autograd.Grad([output], leaves.ToArray(), [upstream]);
            var node = merged ? h.GradFn!.Name : "";
            return (output.To(DType.Float32).ToArray<float>(), grads.Select(g => g!.To(DType.Float64).ToArray<double>()).ToList(), node);
        }

        var views = Run(merged: false);
        var fused = Run(merged: true);
        Assert.Equal(views.Output, fused.Output);
        Assert.Equal(views.Grads.Count, fused.Grads.Count);
        for (int i = 0; i < views.Grads.Count; i++) Assert.Equal(views.Grads[i], fused.Grads[i]);
        Assert.Equal("ScaledDotProductAttentionBackward", fused.AttentionNode);   // no permute or view recorded after it
    }

    [Fact]
    public void TheLayerTakesTheMergedPathAndItsSecondDerivativesMatchTheViewPath()
    {
        Random.Seed(3);
        var mha = new MultiheadAttention(8, 2, batchFirst: true, dtype: DType.Float64);
        var x = Tensor.Randn([2, 4, 8], DType.Float64).RequiresGrad_();
        var output = mha.Call(x, x, x, needWeights: false, isCausal: true).Output;
        // out_proj reads the attention's own output: nothing between them in the graph
        Assert.Equal("ScaledDotProductAttentionBackward", output.GradFn!.Input(0)!.GradFn!.Name);

        double SecondOrder(bool merged)
        {
            var inputs = mha.CheckInputs(x, x, x, null);
            var (sources, select, layout) = mha.Project(inputs);
            var (h, _, isMerged) = mha.Attend(sources, select, null, true, 0, needWeights: false, true, merged ? layout : null);
            var (o, _) = mha.MergeHeads(inputs, h, null, false, isMerged);
            var gx = Autograd.Grad([o.Mul(o).Sum()], [x], createGraph: true)[0]!;
            var gw = Autograd.Grad([gx.Mul(gx).Sum()], [mha.InProjWeight!])[0]!;
            return gw.Mul(gw).Sum().Item<double>();
        }
        double viaViews = SecondOrder(false), viaMerged = SecondOrder(true);
        Assert.True(viaViews > 0);
        Assert.Equal(viaViews, viaMerged, 1e-10 * viaViews);
    }

    [Fact]
    public void PackedScaledDotProductAttentionMatchesTheHeadViews()
    {
        Random.Seed(4);
        const int n = 2, t = 6, e = 8, heads = 2;
        var qkv = Tensor.Randn([n, t, 3 * e]).RequiresGrad_();
        var packed = F.PackedScaledDotProductAttention(qkv, heads, isCausal: true);
        var g1 = Autograd.Grad([packed.Mul(packed).Sum()], [qkv])[0]!.ToArray<float>();
        // the PyTorch composition: split, view as heads, attention, merge
        var q = qkv.Narrow(2, 0, e).Reshape(n, t, heads, e / heads).Transpose(1, 2);
        var k = qkv.Narrow(2, e, e).Reshape(n, t, heads, e / heads).Transpose(1, 2);
        var v = qkv.Narrow(2, 2 * e, e).Reshape(n, t, heads, e / heads).Transpose(1, 2);
        var reference = F.ScaledDotProductAttention(q, k, v, isCausal: true).Transpose(1, 2).Reshape(n, t, e);
        var g2 = Autograd.Grad([reference.Mul(reference).Sum()], [qkv])[0]!.ToArray<float>();
        Assert.Equal(reference.ToArray<float>(), packed.ToArray<float>());
        Assert.Equal(g2, g1);
    }
}
