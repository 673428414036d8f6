using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>Forward hooks (what Grad-CAM and activation capture attach) fire in every module of a zoo model.</summary>
public class HookTests
{
    [Fact]
    public void HooksFireInEveryModuleOfAResNet()
    {
        var model = new ResNet(ResNetBlock.Basic, [2, 2, 2, 2], numClasses: 10, baseChannels: 4);   // ResNet-18's layout, narrow
        var counts = model.NamedModules().ToDictionary(m => m.Name, _ => 0);
        var handles = model.NamedModules().Select(named => named.Module.RegisterForwardHook((_, _, _) => { counts[named.Name]++; })).ToList();
        model.Call(Tensor.Randn(2, 3, 32, 32));
        foreach (var h in handles) h.Dispose();
        foreach (var (name, m) in model.NamedModules())
            Assert.True(counts[name] >= 1, $"the forward hook of \"{name}\" ({m.GetType().Name}) never fired");
        Assert.Equal(1, counts[""]);
        Assert.Equal(1, counts["layer4"]);
        Assert.Equal(2, counts["layer1.0.relu"]);   // one ReLU module used twice per block, as in torchvision
        Assert.Equal(1, counts["layer2.0.downsample.0"]);

        // activation capture by name, Grad-CAM style: the output of a stage as seen from outside the model
        Tensor? layer3 = null;
        using (model.GetSubmodule("layer3").RegisterForwardHook((_, _, output) => { layer3 = (Tensor?)output; }))
            model.Call(Tensor.Randn(2, 3, 32, 32));
        Assert.Equal(4, layer3!.Rank);
    }
}
