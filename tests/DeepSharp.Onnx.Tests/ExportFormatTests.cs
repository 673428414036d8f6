using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using DeepSharp.Vision.Models;

namespace DeepSharp.Onnx.Tests;

/// <summary>What the file holds (names, axes, versions) and how unsupported models fail.</summary>
public sealed class ExportFormatTests
{
    static ModelProto Parse(byte[] bytes) => ModelProto.Parser.ParseFrom(bytes);

    [Fact]
    public void FileHasInitializersNamedInputOutputAndDynamicBatch()
    {
        var model = new LeNet5();
        var path = Path.Combine(Path.GetTempPath(), $"deepsharp-onnx-{Guid.NewGuid():N}", "lenet.onnx");
        model.ExportOnnx(path, Tensor.Randn(2, 1, 28, 28));
        var proto = Parse(File.ReadAllBytes(path));
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);

        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        Assert.Equal("DeepSharp", proto.ProducerName);
        var input = Assert.Single(proto.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([1L, 28, 28], input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        var output = Assert.Single(proto.Graph.Output);
        Assert.Equal("output", output.Name);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(10, output.Type.TensorType.Shape.Dim[1].DimValue);
        // every parameter is an initializer under its state-dict key, with its shape and values
        var state = model.StateDict();
        var initializers = proto.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.Equal(state.Keys.Order(), initializers.Keys.Order());
        foreach (var (key, tensor) in state)
        {
            Assert.Equal(tensor.Shape.Select(d => (long)d), initializers[key].Dims);
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(initializers[key].RawData.Span).ToArray();
            Assert.Equal(tensor.ToArray<float>(), values);
        }
        Assert.Equal(["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Identity"],
            proto.Graph.Node.Select(n => n.OpType));
    }

    [Fact]
    public void FixedBatchAndOtherOpset()
    {
        var proto = Parse(OnnxExport.ToBytes(new Mlp(12, [8], 3), Tensor.Randn(4, 12), opset: 13, dynamicBatch: false));
        Assert.Equal(7, proto.IrVersion);
        Assert.Equal(13, proto.OpsetImport[0].Version);
        Assert.Equal(4, proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue);
        Assert.Equal(4, proto.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimValue);
    }

    [Fact]
    public void UnsupportedModuleIsNamedWithItsPath()
    {
        var model = new Sequential(new Linear(4, 4), new Sequential(new ReLU(), new Unflatten(2, [2, 2])));
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model, Tensor.Randn(2, 1, 4)));
        Assert.Contains("Unflatten", error.Message);
        Assert.Contains("'1.1'", error.Message);
    }

    sealed class DoubledReLU : ReLU
    {
        public override Tensor Forward(Tensor input) => base.Forward(input) * 2;
    }

    [Fact]
    public void SubclassWithItsOwnForwardIsRefused()
    {
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(new Sequential(new Linear(3, 3), new DoubledReLU()), Tensor.Randn(2, 3)));
        Assert.Contains("DoubledReLU", error.Message);
    }

    [Fact]
    public void ForwardHookThatChangesTheOutputIsRefused()
    {
        var model = new Sequential(new Linear(3, 3), new ReLU());
        using var hook = model.RegisterForwardHook((_, _, output) => output + 1);
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model, Tensor.Randn(2, 3)));
        Assert.Contains("does not reproduce", error.Message);
    }

    [Fact]
    public void ExportRunsInEvalModeAndRestoresTrainingModes()
    {
        var model = new FashionCnn();
        model.Train();
        ((Module)model).GetSubmodule("classifier").Eval();
        OnnxExport.ToBytes(model, Tensor.Randn(2, 1, 28, 28));
        Assert.True(model.IsTraining);
        Assert.False(model.GetSubmodule("classifier").IsTraining);
        Assert.False(model.GetSubmodule("classifier.3").IsTraining);
        Assert.True(model.GetSubmodule("features.1").IsTraining);
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        var model = new Mlp(4, [3], 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxExport.ToBytes(model, Tensor.Randn(2, 4), opset: 11));
        Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(model, Tensor.Randn([2, 4], DType.Float64)));
        Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(model, Tensor.Randn(4)));
    }
}
