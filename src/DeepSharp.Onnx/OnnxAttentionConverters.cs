using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using DeepSharp.Text.Models;
using DeepSharp.Vision.Models;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// Attention models: multi-head self-attention written out as torch.onnx writes nn.MultiheadAttention (in-projection
/// MatMul + Add, Split into q|k|v, Reshape to heads with 0 = copy so batch and length stay dynamic, MatMul, scale,
/// optional additive causal mask, Softmax, MatMul, heads back side by side, out-projection), the ViT (patch Conv,
/// class token Expand + Concat, position embedding), TransformerEncoder(Layer) (batch_first, post- or pre-norm, ReLU or
/// GELU) and the GPT (Gather for token embeddings, sliced position embeddings, causal blocks, tied or own head).
/// A block's output sample is the module's own forward on the input sample.
/// </summary>
internal sealed partial class OnnxModuleWalker
{
    OnnxValue Op(string opType, string[] inputs, string stem, Tensor sample, params AttributeProto[] attributes) =>
        new(graph.Node(opType, inputs, stem, attributes), sample);

    /// <summary>Self-attention of x (B, T, E) with packed in-projection (3E, E) and bias, then out_proj; output name only.</summary>
    string SelfAttention(string path, OnnxValue x, Tensor inProjWeight, Tensor? inProjBias, NN.Linear outProj, int heads, bool causal)
    {
        int e = inProjWeight.Shape[1], d = e / heads;
        var weightT = graph.Node("Transpose", [graph.Initializer(Key(path, "in_proj_weight"), inProjWeight)], Key(path, "in_proj_weight_t"), Attr("perm", 1L, 0L));
        var qkv = graph.Node("MatMul", [x.Name, weightT], Key(path, "qkv"));
        if (inProjBias is not null) qkv = graph.Node("Add", [qkv, graph.Initializer(Key(path, "in_proj_bias"), inProjBias)], Key(path, "qkv_bias"));
        var parts = new[] { Key(path, "q"), Key(path, "k"), Key(path, "v") }.Select(graph.Fresh).ToArray();
        graph.AddNode("Split", [qkv, graph.Int64s(Key(path, "split"), e, e, e)], parts, Attr("axis", -1L));
        var headShape = graph.Int64s(Key(path, "head_shape"), 0, 0, heads, d);
        string Heads(string t, string name, params long[] perm) =>
            graph.Node("Transpose", [graph.Node("Reshape", [t, headShape], Key(path, name + "_heads"))], Key(path, name + "_t"), Attr("perm", perm));
        var q = Heads(parts[0], "q", 0, 2, 1, 3);   // (B, H, T, D)
        var kT = Heads(parts[1], "k", 0, 2, 3, 1);  // (B, H, D, T)
        var v = Heads(parts[2], "v", 0, 2, 1, 3);   // (B, H, T, D)
        var scores = graph.Node("Mul", [graph.Node("MatMul", [q, kT], Key(path, "scores")), graph.Scalar(Key(path, "scale"), (float)(1 / Math.Sqrt(d)))], Key(path, "scaled"));
        if (causal) scores = graph.Node("Add", [scores, CausalMask(path, x)], Key(path, "masked"));
        var weights = graph.Node("Softmax", [scores], Key(path, "softmax"), Attr("axis", -1L));
        var y = graph.Node("Transpose", [graph.Node("MatMul", [weights, v], Key(path, "context"))], Key(path, "context_t"), Attr("perm", 0L, 2L, 1L, 3L));
        y = graph.Node("Reshape", [y, graph.Int64s(Key(path, "merge_shape"), 0, 0, e)], Key(path, "merged"));   // (B, T, E)
        return Emit(outProj, Key(path, "out_proj"), new OnnxValue(y, Tensor.Zeros([.. x.Sample.Shape.Take(2), e]))).Name;
    }

    /// <summary>The (T, T) additive causal mask: a constant (T0, T0) of 0 and −∞ sliced to the input's length T.</summary>
    string CausalMask(string path, OnnxValue x)
    {
        int t0 = x.Sample.Shape[1];
        var mask = new float[t0 * t0];
        for (int i = 0; i < t0; i++) for (int j = i + 1; j < t0; j++) mask[i * t0 + j] = float.NegativeInfinity;
        var full = graph.ConstantNode(Key(path, "causal_mask"), Tensor.FromArray(mask, t0, t0));
        var length = graph.Node("Slice", [graph.Node("Shape", [x.Name], Key(path, "shape")), graph.Int64s(Key(path, "one"), 1), graph.Int64s(Key(path, "two"), 2)], Key(path, "length"));
        var ends = graph.Node("Concat", [length, length], Key(path, "mask_ends"), Attr("axis", 0L));
        return graph.Node("Slice", [full, graph.Int64s(Key(path, "zeros"), 0, 0), ends, graph.Int64s(Key(path, "axes"), 0, 1)], Key(path, "mask"));
    }

    OnnxValue Attention(MultiheadAttention mha, string path, OnnxValue x, bool causal)
    {
        if (!mha.BatchFirst) throw Unsupported(mha, path, "only batch_first attention is mapped (the batch is the dynamic first axis)");
        if (!mha.QkvSameEmbedDim || mha.BiasK is not null || mha.AddZeroAttn)
            throw Unsupported(mha, path, "separate q/k/v projections, bias_k/bias_v and add_zero_attn are not mapped");
        var name = SelfAttention(path, x, mha.InProjWeight!, mha.InProjBias, mha.OutProj, mha.NumHeads, causal);
        return new(name, mha.Call(x.Sample, x.Sample, x.Sample, needWeights: false, isCausal: causal).Output);
    }

    OnnxValue Residual(string path, OnnxValue a, OnnxValue b) => Op("Add", [a.Name, b.Name], Key(path, "residual"), a.Sample.Add(b.Sample));

    OnnxValue ViTBlock(ViTEncoderBlock block, string path, OnnxValue input)
    {
        var x = Child(block, "ln_1", path, input);
        x = Residual(path, Attention((MultiheadAttention)block.GetSubmodule("self_attention"), Key(path, "self_attention"), x, causal: false), input);
        return Residual(path, x, Child(block, "mlp", path, Child(block, "ln_2", path, x)));
    }

    OnnxValue VisionTransformerModel(VisionTransformer vit, string path, OnnxValue x)
    {
        if (vit.Config.RepresentationSize is not null) throw Unsupported(vit, path, "the representation (pre-logits) layer is not mapped");
        x = Child(vit, "conv_proj", path, x);                                                                         // (N, C, h, w)
        var tokens = Op("Transpose", [graph.Node("Reshape", [x.Name, graph.Int64s(Key(path, "patches_shape"), 0, 0, -1)], Key(path, "patches"))], Key(path, "tokens"),
            x.Sample.Flatten(2).Transpose(1, 2), Attr("perm", 0L, 2L, 1L));                                          // (N, h·w, C)
        var classToken = vit.GetParameter("class_token");
        var batch = graph.Node("Slice", [graph.Node("Shape", [x.Name], Key(path, "shape")), graph.Int64s(Key(path, "zero"), 0), graph.Int64s(Key(path, "one"), 1)], Key(path, "batch"));
        var expandShape = graph.Node("Concat", [batch, graph.Int64s(Key(path, "token_shape"), 1, classToken.Shape[2])], Key(path, "expand_shape"), Attr("axis", 0L));
        var classTokens = graph.Node("Expand", [graph.Initializer(Key(path, "class_token"), classToken), expandShape], Key(path, "class_tokens"));
        var sequence = Op("Concat", [classTokens, tokens.Name], Key(path, "sequence"),
            Tensor.Cat([classToken.Expand(tokens.Sample.Shape[0], 1, classToken.Shape[2]), tokens.Sample], 1), Attr("axis", 1L));   // (N, 1 + h·w, C)
        var encoded = Emit(vit.GetSubmodule("encoder"), Key(path, "encoder"), sequence);
        var first = Op("Gather", [encoded.Name, graph.Int64s(Key(path, "class_index"), 0)], Key(path, "class_output"), encoded.Sample.Narrow(1, 0, 1), Attr("axis", 1L));
        return Child(vit, "heads", path, FlattenNode(path, first));
    }

    OnnxValue ViTEncoderModel(ViTEncoder encoder, string path, OnnxValue x)
    {
        var pos = encoder.GetParameter("pos_embedding");
        x = Op("Add", [x.Name, graph.Initializer(Key(path, "pos_embedding"), pos)], Key(path, "add_pos"), x.Sample.Add(pos));
        x = Child(encoder, "dropout", path, x);
        return Child(encoder, "ln", path, Child(encoder, "layers", path, x));
    }

    OnnxValue EncoderLayer(TransformerEncoderLayer layer, string path, OnnxValue x)
    {
        var attention = (Func<OnnxValue, OnnxValue>)(h => Attention(layer.SelfAttn, Key(path, "self_attn"), h, causal: false));
        return TransformerBlock(layer, path, x, layer.NormFirst, layer.Activation.Name ?? "relu", attention, layer.Call(x.Sample));
    }

    /// <summary>Post-norm: norm1(x + attn(x)), norm2(x + ff(x)); pre-norm: x + attn(norm1(x)), x + ff(norm2(x)). ff = linear2(act(linear1)).</summary>
    OnnxValue TransformerBlock(Module layer, string path, OnnxValue x, bool normFirst, string activation, Func<OnnxValue, OnnxValue> attention, Tensor sample)
    {
        if (activation is not ("relu" or "gelu")) throw Unsupported(layer, path, $"the activation '{activation}' is not mapped (relu or gelu)");
        OnnxValue FeedForward(OnnxValue h)
        {
            h = Child(layer, "linear1", path, h);
            h = activation == "relu" ? Op("Relu", [h.Name], Key(path, "relu"), h.Sample.Relu()) : new(GeluNodes(Key(path, "gelu"), h, "none"), h.Sample.Gelu());
            return Child(layer, "linear2", path, h);
        }
        if (normFirst)
        {
            x = Residual(path, x, attention(Child(layer, "norm1", path, x)));
            x = Residual(path, x, FeedForward(Child(layer, "norm2", path, x)));
        }
        else
        {
            x = Child(layer, "norm1", path, Residual(path, x, attention(x)));
            x = Child(layer, "norm2", path, Residual(path, x, FeedForward(x)));
        }
        return x with { Sample = sample };
    }

    OnnxValue Encoder(TransformerEncoder encoder, string path, OnnxValue x)
    {
        x = Child(encoder, "layers", path, x);
        return encoder.Norm is null ? x : Child(encoder, "norm", path, x);
    }

    OnnxValue GptModel(Gpt gpt, string path, OnnxValue ids)
    {
        if (gpt.Config.Rotary || gpt.Config.ConvKernel > 0) throw Unsupported(gpt, path, "rotary embeddings and the q|k|v convolution are not mapped");
        var wte = gpt.GetParameter("wte.weight");
        var wteName = graph.Initializer(Key(path, "wte.weight"), wte);
        var x = Op("Gather", [wteName, ids.Name], Key(path, "tokens"), F.Embedding(ids.Sample, wte), Attr("axis", 0L));
        if (gpt.NamedChildren().Any(c => c.Name == "wpe"))
        {
            var wpe = gpt.GetParameter("wpe.weight");
            var length = graph.Node("Slice", [graph.Node("Shape", [ids.Name], Key(path, "shape")), graph.Int64s(Key(path, "one"), 1), graph.Int64s(Key(path, "two"), 2)], Key(path, "length"));
            var positions = graph.Node("Slice", [graph.Initializer(Key(path, "wpe.weight"), wpe), graph.Int64s(Key(path, "zero"), 0), length, graph.Int64s(Key(path, "axis0"), 0)], Key(path, "positions"));
            x = Op("Add", [x.Name, positions], Key(path, "add_pos"), x.Sample.Add(wpe.Narrow(0, 0, x.Sample.Shape[1])));
        }
        x = Child(gpt, "h.layers", path, Child(gpt, "drop", path, x));
        if (gpt.NamedChildren().Any(c => c.Name == "ln_f")) x = Child(gpt, "ln_f", path, x);
        var logits = gpt.Call(ids.Sample);
        if (gpt.NamedChildren().Any(c => c.Name == "lm_head")) return Child(gpt, "lm_head", path, x) with { Sample = logits };
        var tiedT = graph.Node("Transpose", [wteName], Key(path, "wte_t"), Attr("perm", 1L, 0L));
        return Op("MatMul", [x.Name, tiedT], Key(path, "logits"), logits);   // the head is tied to the token embeddings
    }

    OnnxValue GptBlockModel(GptBlock block, string path, OnnxValue x)
    {
        var attention = (Func<OnnxValue, OnnxValue>)(h =>
        {
            var a = block.Attention;
            return new(SelfAttention(Key(path, "self_attn"), h, a.InProjWeight, a.InProjBias, a.OutProj, a.NumHeads, causal: true), a.Call(h.Sample));
        });
        return TransformerBlock(block, path, x, block.PreNorm, block.Activation.Name ?? "relu", attention, block.Call(x.Sample));
    }
}
