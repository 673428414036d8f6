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
        Assert.Equal(2, forwards.Count);                                            // Forward(input) and torch's forward
        var forward = forwards.Single(m => m.GetParameters().Length > 1).GetParameters();
        Assert.Equal(["query", "key", "value", "keyPaddingMask", "needWeights", "attnMask", "averageAttnWeights", "isCausal"], forward.Select(p => p.Name!));
        Assert.Equal([true, true, false], new[] { "needWeights", "averageAttnWeights", "isCausal" }.Select(n => (bool)forward.Single(p => p.Name == n).DefaultValue!));
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
