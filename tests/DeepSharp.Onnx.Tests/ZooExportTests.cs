using DeepSharp.NN;
using DeepSharp.Text.Models;
using DeepSharp.Vision.Models;

namespace DeepSharp.Onnx.Tests;

/// <summary>
/// The rest of the zoo exported and run in ONNX Runtime against DeepSharp's eval-mode output, at batch sizes other than
/// the export sample's (2), with the tolerance of <see cref="ModelExportTests"/>.
/// </summary>
public sealed class ZooExportTests
{
    [Fact]
    public void Vgg11WithBatchNormOnSmallImages()
    {
        // 32×32 images leave 1×1 features, which adaptive pooling to 7×7 broadcasts (Expand) into the 25088-wide classifier
        var model = new VGG(11, batchNorm: true, numClasses: 10);
        var classifier = (Sequential)model.GetSubmodule("classifier");   // narrower hidden layers: 411 MB of weights would only slow the test
        classifier[0] = new Linear(512 * 7 * 7, 64);
        classifier[3] = new Linear(64, 64);
        classifier[6] = new Linear(64, 10);
        OrtRunner.WarmBatchNorm(model, [3, 32, 32]);
        OrtRunner.ExportAndCompare(model, [3, 32, 32], batches: [3]);   // the heaviest test here: one batch size other than the sample's
    }

    [Fact]
    public void GoogLeNetWithoutAuxiliaryHeads()
    {
        var model = new GoogLeNet(numClasses: 10, auxLogits: true);   // the aux heads only run in training mode
        OrtRunner.WarmBatchNorm(model, [3, 32, 32]);
        OrtRunner.ExportAndCompare(model, [3, 32, 32], batches: [1, 3]);
    }

    [Fact]
    public void MobileNetV2HalfWidth()
    {
        var model = new MobileNetV2(numClasses: 10, widthMult: 0.5);
        OrtRunner.WarmBatchNorm(model, [3, 32, 32]);
        OrtRunner.ExportAndCompare(model, [3, 32, 32], batches: [1, 3]);
    }

    [Fact]
    public void VisionTransformer()
    {
        var model = new VisionTransformer(imageSize: 16, patchSize: 4, numLayers: 2, numHeads: 2, hiddenDim: 16, mlpDim: 32, numClasses: 5);
        foreach (var p in model.Parameters()) using (Autograd.NoGrad()) p.AddInPlace(Tensor.RandnLike(p) * 0.1);   // zero head and class token hide mistakes
        OrtRunner.ExportAndCompare(model, [3, 16, 16], batches: [1, 3]);
    }

    [Theory]
    [InlineData(false, "gelu")]
    [InlineData(true, "relu")]
    public void TransformerEncoder(bool normFirst, string activation)
    {
        var layer = new TransformerEncoderLayer(16, 2, 32, dropout: 0.1, activation: activation, batchFirst: true, normFirst: normFirst);
        var model = new TransformerEncoder(layer, 2, norm: new LayerNorm(16));
        OrtRunner.ExportAndCompare(model, [6, 16], batches: [1, 3]);
    }

    [Theory]
    [InlineData(true, true, "gelu")]
    [InlineData(false, false, "relu")]
    public void GptWithCausalMask(bool preNorm, bool tiedHead, string activation)
    {
        var model = new Gpt(new GptConfig(VocabSize: 40, ContextLength: 16, Layers: 2, Heads: 2, Width: 16, PreNorm: preNorm, TiedHead: tiedHead, Activation: activation));
        OrtRunner.ExportAndCompare(model, [9], batches: [1, 3], makeInput: shape => Tensor.RandInt(0, 40, shape));
    }

    /// <summary>LSTM as ONNX LSTM ops (gates reordered from PyTorch's i f g o to ONNX's i o f c); then imported back.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void LstmLanguageModel(int layers)
    {
        var model = new LstmLanguageModel(new LstmLanguageModelConfig(VocabSize: 20, EmbeddingDim: 8, HiddenSize: 12, Layers: layers));
        OrtRunner.ExportAndCompare(model, [6], batches: [1, 3], makeInput: shape => Tensor.RandInt(0, 20, shape));
        model.Eval();
        var imported = OnnxModel.Load(OnnxExport.ToBytes(model, Tensor.RandInt(0, 20, [2, 6])));
        var ids = Tensor.RandInt(0, 20, [3, 6]);
        Tensor expected, actual;
        using (Autograd.NoGrad()) { expected = model.Call(ids); actual = imported.Call(ids); }
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());   // the importer runs the LSTM's fused kernel
    }

    [Fact]
    public void UnmappedModuleIsNamed()
    {
        var model = new Gpt(new GptConfig(VocabSize: 40, ContextLength: 16, Layers: 1, Heads: 2, Width: 16, Rotary: true));
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model, Tensor.RandInt(0, 40, [2, 5])));
        Assert.Contains("Gpt", error.Message);
        Assert.Contains("rotary", error.Message);
    }
}
