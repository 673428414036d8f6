using System.Reflection;
using DeepSharp.NN;

namespace DeepSharp.Tests.Attention;

/// <summary>
/// MultiheadAttention keeps torch.nn.MultiheadAttention's surface: no model-specific options (rotary embeddings, the
/// q/k/v convolution and key/value caches belong to the GPT's CausalSelfAttention and to IncrementalAttention).
/// </summary>
public class MultiheadAttentionSurfaceTests
{
    const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    [Fact]
    public void ForwardAndConstructorTakeExactlyTorchsArguments()
    {
        var forwards = typeof(MultiheadAttention).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m.Name == "Forward").ToList();
        Assert.Equal(2, forwards.Count);                                            // the typed base's Forward(q, k, v) and torch's forward
        Assert.Single(forwards, m => m.GetParameters().Length == 3);
        var forward = forwards.Single(m => m.GetParameters().Length > 3).GetParameters();
        string[] torchArguments = ["query", "key", "value", "keyPaddingMask", "needWeights", "attnMask", "averageAttnWeights", "isCausal"];
        Assert.Equal(torchArguments, forward.Select(p => p.Name!));
        Assert.Equal([true, true, false], new[] { "needWeights", "averageAttnWeights", "isCausal" }.Select(n => (bool)forward.Single(p => p.Name == n).DefaultValue!));
        // module(q, k, v, ...) through the hooks takes the same arguments
        var call = Assert.Single(typeof(MultiheadAttention).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly), m => m.Name == "Call");
        Assert.Equal(torchArguments, call.GetParameters().Select(p => p.Name!));
        var constructor = Assert.Single(typeof(MultiheadAttention).GetConstructors()).GetParameters();
        Assert.Equal(["embedDim", "numHeads", "dropout", "bias", "addBiasKv", "addZeroAttn", "kdim", "vdim", "batchFirst", "dtype"], constructor.Select(p => p.Name!));
    }

    [Fact]
    public void HasNoModelSpecificMembersOrState()
    {
        string[] torch = ["EmbedDim", "KDim", "VDim", "NumHeads", "HeadDim", "DropoutP", "BatchFirst", "AddZeroAttn", "QkvSameEmbedDim",
                          "InProjWeight", "QProjWeight", "KProjWeight", "VProjWeight", "InProjBias", "BiasK", "BiasV", "OutProj"];
        var properties = typeof(MultiheadAttention).GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);
        Assert.Equal(torch.Order(), properties.Select(p => p.Name).Order());
        foreach (var member in typeof(MultiheadAttention).GetMembers(Declared))
            foreach (var word in new[] { "Rotary", "Conv", "Cache", "Past" })
                Assert.False(member.Name.Contains(word, StringComparison.OrdinalIgnoreCase), $"MultiheadAttention.{member.Name} is not part of torch.nn.MultiheadAttention");
        var mha = new MultiheadAttention(8, 2);
        Assert.Equal(["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"], mha.StateDict().Keys);
        Assert.Equal(["", "out_proj"], mha.NamedModules().Select(m => m.Name));
    }
}
