using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>IClassifierModel on the zoo models, ResNet's small-input options, and the TransferLearning helper.</summary>
[Collection("Zoo")]
public class TransferLearningTests
{
    /// <summary>Cheap-to-build models of every family with their head's key prefix and input size.</summary>
    public static TheoryData<string, string, int, int> Models => new()
    {
        { "lenet5", "classifier.5", 1, 28 },
        { "fashion_cnn", "classifier.4", 1, 28 },
        { "mlp", "layers.4", 1, 28 },
        { "alexnet", "classifier.6", 3, 63 },
        { "vgg11_noinit", "classifier.6", 3, 32 },
        { "googlenet", "fc", 3, 32 },
        { "resnet18", "fc", 3, 32 },
        { "resnet18_small", "fc", 1, 28 },
        { "mobilenet_v2", "classifier.1", 3, 32 },
        { "vit_small", "heads.head", 3, 16 },
    };

    static Module<Tensor, Tensor> Build(string name, int classes, int channels) => name switch
    {
        "mlp" => new Mlp(784, [32, 16], classes),
        "vgg11_noinit" => new VGG(11, numClasses: classes, initWeights: false),
        "resnet18_small" => ResNet.ResNet18Small(classes, channels, baseChannels: 8),
        "vit_small" => new VisionTransformer(new ViTConfig(16, 4, 1, 2, 16, 32), classes),
        _ => ModelZoo.Create(name, classes, channels),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void ResetClassifierReplacesTheHeadForANewClassCount(string name, string headName, int channels, int size)
    {
        var model = Build(name, 10, channels);
        var classifier = Assert.IsAssignableFrom<IClassifierModel>(model);
        Assert.Equal(10, classifier.NumClasses);
        Assert.Equal(headName, classifier.HeadNames[0]);
        Assert.Same(classifier.Head, model.GetSubmodule(headName));
        var keysBefore = model.StateDict().Keys.ToList();
        classifier.ResetClassifier(4);
        Assert.Equal(4, classifier.NumClasses);
        Assert.Same(classifier.Head, model.GetSubmodule(headName));
        Assert.Equal(keysBefore, model.StateDict().Keys);                                  // same keys, same order
        foreach (var head in classifier.HeadNames) Assert.Equal(4, model.GetParameter(head + ".weight").Shape[0]);
        model.Eval();
        using (Autograd.NoGrad()) Assert.Equal([2, 4], model.Call(Tensor.Rand(2, channels, size, size)).Shape);
    }

    [Fact]
    public void GoogLeNetResetsItsAuxiliaryHeadsToo()
    {
        var model = new GoogLeNet(10);
        Assert.Equal(["fc", "aux1.fc2", "aux2.fc2"], model.HeadNames);
        model.ResetClassifier(3);
        model.Train();
        var o = model.ForwardWithAux(Tensor.Rand(2, 3, 64, 64));
        Assert.Equal([2, 3], o.Logits.Shape);
        Assert.Equal([2, 3], o.Aux1!.Shape);
        Assert.Equal([2, 3], o.Aux2!.Shape);
    }

    [Fact]
    public void SmallInputResNetKeepsTorchvisionKeysAndResolution()
    {
        var standard = ResNet.ResNet18(10, 1);
        var small = ResNet.ResNet18Small(10, 1, baseChannels: 16);
        Assert.Equal(standard.StateDict().Keys, small.StateDict().Keys);
        Assert.Equal([16, 1, 3, 3], small.GetParameter("conv1.weight").Shape);
        Assert.Equal([128, 128, 3, 3], small.GetParameter("layer4.1.conv2.weight").Shape);
        Assert.Equal([10, 128], small.GetParameter("fc.weight").Shape);
        // stage 4 sees 4×4 maps for 28×28 input (no stride-2 stem, no max pooling)
        Tensor? layer4Out = null;
        small.GetSubmodule("layer4").RegisterForwardHook((_, _, o) => { layer4Out = (Tensor?)o; });
        small.Eval();
        using (Autograd.NoGrad()) Assert.Equal([2, 10], small.Call(Tensor.Rand(2, 1, 28, 28)).Shape);
        Assert.Equal([2, 128, 4, 4], layer4Out!.Shape);
        Assert.Equal(64, standard.BaseChannels);
        Assert.False(standard.SmallInputStem);
    }

    static string SaveTemp(Module model)
    {
        var path = Path.Combine(Path.GetTempPath(), $"transfer-{Guid.NewGuid():N}.safetensors");
        SafeTensors.Save(path, model.StateDict());
        return path;
    }

    [Fact]
    public void LoadPretrainedSkipsAMismatchedHeadAndReportsIt()
    {
        DeepSharp.Random.Seed(0);
        var source = ResNet.ResNet18Small(10, 1, baseChannels: 8);
        var path = SaveTemp(source);
        var target = ResNet.ResNet18Small(4, 1, baseChannels: 8);
        var report = TransferLearning.LoadPretrained(target, path);
        Assert.Equal(["fc.weight", "fc.bias"], report.Skipped.Select(s => s.Key));
        Assert.All(report.Skipped, s => Assert.Equal("shape mismatch", s.Reason));
        Assert.Equal([10, 64], report.Skipped[0].CheckpointShape);
        Assert.Equal([4, 64], report.Skipped[0].ModelShape);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        Assert.Equal(source.StateDict().Count - 2, report.Loaded.Count);
        Assert.Equal(source.GetParameter("layer3.0.conv1.weight").ToArray<float>(), target.GetParameter("layer3.0.conv1.weight").ToArray<float>());
        Assert.Equal(source.StateDict()["bn1.running_var"].ToArray<float>(), target.StateDict()["bn1.running_var"].ToArray<float>());
        Assert.Contains("skipped fc.weight: shape mismatch (checkpoint (10, 64), model (4, 64))", report.ToString());
        // strict loading refuses the same file
        Assert.Throws<ArgumentException>(() => ModelZoo.LoadWeights(target, path));
        File.Delete(path);
    }

    [Fact]
    public void SkipHeadKeepsAFreshHeadEvenWhenShapesMatch()
    {
        var source = new FashionCnn(5);
        var target = new FashionCnn(5);
        var headBefore = target.GetParameter("classifier.4.weight").ToArray<float>();
        var report = TransferLearning.LoadPretrained(target, source.StateDict(), skipHead: true);
        Assert.Equal(["classifier.4.weight", "classifier.4.bias"], report.Skipped.Select(s => s.Key));
        Assert.All(report.Skipped, s => Assert.Equal("classifier head", s.Reason));
        Assert.Equal(headBefore, target.GetParameter("classifier.4.weight").ToArray<float>());
        Assert.Equal(source.GetParameter("features.0.weight").ToArray<float>(), target.GetParameter("features.0.weight").ToArray<float>());
    }

    [Fact]
    public void MismatchesThrowWhenNotSkippedAndMissingOrUnexpectedKeysAreReported()
    {
        var source = new LeNet5(10);
        var dict = source.StateDict().Where(p => p.Key != "features.0.bias").ToDictionary(p => p.Key, p => p.Value);
        dict["extra.weight"] = Tensor.Zeros(3);
        var target = new LeNet5(10);
        var report = TransferLearning.LoadPretrained(target, dict);
        Assert.Equal(["features.0.bias"], report.Missing);
        Assert.Equal(["extra.weight"], report.Unexpected);
        var e = Assert.Throws<ArgumentException>(() => TransferLearning.LoadPretrained(new LeNet5(3), source.StateDict(), skipMismatched: false));
        Assert.Contains("size mismatch for classifier.5.weight", e.Message);
        e = Assert.Throws<ArgumentException>(() => TransferLearning.LoadPretrained(new FashionCnn(10), source.StateDict()));
        Assert.Contains("none of the", e.Message);
        Assert.Throws<FileNotFoundException>(() => TransferLearning.LoadPretrained(target, "/nonexistent/x.safetensors"));
        e = Assert.Throws<ArgumentException>(() => TransferLearning.FreezeBackbone(new Sequential(new Linear(2, 2))));
        Assert.Contains("IClassifierModel", e.Message);
    }

    [Fact]
    public void FrozenBackboneOnlyTrainsTheHead()
    {
        DeepSharp.Random.Seed(1);
        var model = ResNet.ResNet18Small(3, 1, baseChannels: 8);
        long trainable = TransferLearning.FreezeBackbone(model);
        Assert.Equal(64 * 3 + 3, trainable);
        Assert.Equal(["fc.weight", "fc.bias"], TransferLearning.HeadParameters(model).Select(p => p.Name));
        var groups = TransferLearning.ParamGroups(model, backboneLr: 1e-4, headLr: 1e-2);
        var group = Assert.Single(groups);                                       // the frozen backbone has no group
        Assert.Equal(1e-2, group.Lr);
        var opt = new SGD(groups, lr: 0.5);
        var backboneBefore = model.GetParameter("layer1.0.conv1.weight").ToArray<float>();
        var headBefore = model.GetParameter("fc.weight").ToArray<float>();
        opt.ZeroGrad();
        F.CrossEntropy(model.Call(Tensor.Rand(4, 1, 12, 12)), Tensor.FromArray(new long[] { 0, 1, 2, 0 })).Backward();
        Assert.Null(model.GetParameter("layer1.0.conv1.weight").Grad);
        opt.Step();
        Assert.Equal(backboneBefore, model.GetParameter("layer1.0.conv1.weight").ToArray<float>());
        Assert.NotEqual(headBefore, model.GetParameter("fc.weight").ToArray<float>());

        TransferLearning.Unfreeze(model);
        groups = TransferLearning.ParamGroups(model, backboneLr: 1e-4, headLr: 1e-2);
        Assert.Equal(2, groups.Count);
        Assert.Equal(1e-4, groups[0].Lr);
        Assert.Equal(model.ParameterCount() - trainable, groups[0].Params.Sum(p => (long)p.NumEl));
        Assert.Equal(1e-2, groups[1].Lr);
        var adam = new Adam(groups, lr: 1);
        Assert.Equal(1e-4, adam.ParamGroups[0].Lr);
        Assert.Equal(1e-2, adam.ParamGroups[1].Lr);
    }
}
