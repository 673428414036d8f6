using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Quantization.Tests;

/// <summary>QuantizedFile.SaveGraph / LoadGraph: a static-graph file runs bit-identically to the model that wrote it, and a
/// malformed or unknown-version file is refused with an InvalidDataException naming the file and the node.</summary>
public class QuantizedGraphFileTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), $"deepsharp-qgraph-{Guid.NewGuid():N}");

    public QuantizedGraphFileTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Every node kind the file holds that the residual net lacks: a plain add, a ReLU on its own, an identity
    /// (Dropout), adaptive average pooling, a Flatten module, Linear+ReLU and a concatenation along the last dim.</summary>
    sealed class OtherOpsNet : Module<Tensor, Tensor>
    {
        readonly Conv2d a = new(3, 6, 3, padding: 1), b = new(3, 6, 1), c = new(6, 6, 3, stride: 2);
        readonly FloatFunctional sum = new(), join = new();
        readonly MaxPool2d pool = new(2, stride: 1, padding: 1);
        readonly ReLU relu = new(), relu2 = new();
        readonly Dropout drop = new(0.5);
        readonly AdaptiveAvgPool2d avg = new((3, 2));
        readonly Flatten flatten = new();
        readonly Linear fc1 = new(72, 16), fc2 = new(16, 4);

        public override Tensor Forward(Tensor x)
        {
            var y = relu.Call(pool.Call(sum.Add(a.Call(x), b.Call(x))));      // add (no ReLU after it), pool, ReLU on its own
            y = drop.Call(c.Call(y));
            y = join.Cat([avg.Call(y), avg.Call(y)], 3);                      // (N, 6, 3, 4)
            return fc2.Call(relu2.Call(fc1.Call(flatten.Call(y))));
        }
    }

    string Path_(string name) => Path.Combine(dir, name);

    static void AssertBitIdentical(Module<Tensor, Tensor> expected, Module<Tensor, Tensor> actual, Tensor x)
    {
        var y0 = expected.Call(x); var y1 = actual.Call(x);
        Assert.Equal(y0.Shape, y1.Shape);
        Assert.Equal(y0.ToArray<float>(), y1.ToArray<float>());
    }

    static void AssertSameGraph(QuantizedGraphModel expected, QuantizedGraphModel actual)
    {
        Assert.Equal(expected.Input, actual.Input);
        Assert.Equal(expected.OutputValue, actual.OutputValue);
        Assert.Equal(expected.Nodes.Count, actual.Nodes.Count);
        for (int i = 0; i < expected.Nodes.Count; i++)
        {
            var (e, a) = (expected.Nodes[i], actual.Nodes[i]);
            Assert.Equal(e.Inputs, a.Inputs);
            Assert.Equal(e.Layer?.GetType(), a.Layer?.GetType());
            Assert.Equal(e.Functional?.Output, a.Functional?.Output);
            Assert.Equal((e.AddRelu, e.CatDim), (a.AddRelu, a.CatDim));
        }
        Assert.Equal(expected.WeightBytes(), actual.WeightBytes());
    }

    [Fact]
    public void ResidualNetRoundTripsBitIdentically()
    {
        DeepSharp.Random.Seed(3);
        var net = new ResidualNet();
        var calibration = Enumerable.Range(0, 3).Select(_ => Tensor.Randn(4, 2, 8, 8)).ToList();
        using (Autograd.NoGrad()) foreach (var batch in calibration) net.Call(batch);   // batch-norm statistics
        var q = StaticQuantization.QuantizeGraph(net, calibration);
        Assert.Contains(q.Nodes, n => n.CatDim >= 0);
        Assert.Contains(q.Nodes, n => n.AddRelu);
        var path = Path_("residual.safetensors");
        QuantizedFile.SaveGraph(q, path, new Dictionary<string, string> { ["deepsharp.model"] = "residual" });
        var metadata = RawSafeTensors.ReadMetadata(path);
        Assert.Equal("static-graph", metadata[QuantizedFile.ModeKey]);
        Assert.Equal("1", metadata[QuantizedFile.FormatKey]);
        Assert.Equal("residual", metadata["deepsharp.model"]);
        var (tensors, _) = RawSafeTensors.Load(path);
        Assert.Equal([8, 2, 3, 3], tensors["nodes.0.weight"].Shape);
        Assert.Equal("I8", tensors["nodes.0.weight"].DType);
        Assert.Equal([8], tensors["nodes.0.weight_scale"].Shape);

        var loaded = QuantizedFile.LoadGraph(path);
        AssertSameGraph(q, loaded);
        AssertBitIdentical(q, loaded, Tensor.Randn(5, 2, 8, 8));
        AssertBitIdentical(q, loaded, Tensor.Randn(1, 2, 8, 8) * 3);
    }

    [Fact]
    public void EveryOtherNodeKindRoundTripsBitIdentically()
    {
        DeepSharp.Random.Seed(4);
        var net = new OtherOpsNet();
        net.Eval();
        var calibration = Enumerable.Range(0, 2).Select(_ => Tensor.Randn(3, 3, 9, 9)).ToList();
        var q = StaticQuantization.QuantizeGraph(net, calibration);
        var path = Path_("ops.safetensors");
        QuantizedFile.SaveGraph(q, path);
        var ops = RawSafeTensors.ReadMetadata(path)["deepsharp.quantized.graph"];
        foreach (var op in new[] { "\"add\"", "\"maxpool2d\"", "\"relu\"", "\"identity\"", "\"adaptive_avgpool2d\"", "\"cat\"", "\"reshape\"", "\"linear\"", "\"conv2d\"" })
            Assert.Contains(op, ops);
        var loaded = QuantizedFile.LoadGraph(path);
        AssertSameGraph(q, loaded);
        AssertBitIdentical(q, loaded, Tensor.Randn(4, 3, 9, 9));
    }

    [Fact]
    public void FashionCnnRoundTripsBitIdentically()
    {
        DeepSharp.Random.Seed(5);
        var model = new FashionCnn();
        var images = Enumerable.Range(0, 2).Select(_ => Tensor.Rand(8, 1, 28, 28)).ToList();
        using (Autograd.NoGrad()) foreach (var b in images) model.Call(b);   // batch-norm statistics
        model.Eval();
        var q = StaticQuantization.QuantizeGraph(model, images);
        Assert.Equal(4, q.Nodes.Count(n => n.Layer is QuantizedConv2d));
        var path = Path_("fashion.safetensors");
        QuantizedFile.SaveGraph(q, path);
        var loaded = QuantizedFile.LoadGraph(path);
        AssertSameGraph(q, loaded);
        AssertBitIdentical(q, loaded, Tensor.Rand(16, 1, 28, 28));
        // 4× smaller than float32, give or take the scales and float biases
        long floatBytes = model.Parameters().Sum(p => p.NumEl) * 4L;
        Assert.True(new FileInfo(path).Length < floatBytes / 3.5, $"{new FileInfo(path).Length} bytes vs {floatBytes} float32");
    }

    /// <summary>A valid graph file of a small residual net, then <paramref name="edit"/> applied to its tensors and metadata.</summary>
    string Corrupted(Action<Dictionary<string, RawTensor>, Dictionary<string, string>> edit)
    {
        DeepSharp.Random.Seed(6);
        var net = new ResidualNet();
        net.Eval();
        var q = StaticQuantization.QuantizeGraph(net, [Tensor.Randn(2, 2, 8, 8)]);
        var path = Path_($"{Guid.NewGuid():N}.safetensors");
        QuantizedFile.SaveGraph(q, path);
        var (tensors, metadata) = RawSafeTensors.Load(path);
        edit(tensors, metadata);
        RawSafeTensors.Save(path, tensors, metadata);
        return path;
    }

    static string Graph(Dictionary<string, string> m) => m["deepsharp.quantized.graph"];

    public static TheoryData<string, string> Corruptions => new()
    {
        { "version", "format version '2' is not supported" },
        { "no-version", "needs metadata deepsharp.quantized.format" },
        { "mode", "is not a static-graph quantized DeepSharp file" },
        { "json", "is not a valid node list" },
        { "null-graph", "is null" },
        { "later-input", "node 0 (conv2d) reads value 5, which is not an earlier value" },
        { "unknown-op", "node 0 has unknown op 'conv3d'" },
        { "no-weight", "node 0 has no int8 tensor 'nodes.0.weight'" },
        { "weight-shape", "node 0 (conv2d) has weight shape (8, 2, 3, 1)" },
        { "scale-count", "3 scales and 8 zero points" },
        { "zero-point", "non-zero weight zero point" },
        { "no-scale", "has no F32 tensor 'nodes.0.weight_scale'" },
        { "bias", "values in 'nodes.0.bias' for 8 output channels" },
        { "output-scale", "output scale -1" },
        { "input", "deepsharp.quantized.input 'x,3' is not 'scale,zero_point'" },
        { "output", "deepsharp.quantized.output '99' is not a value of the graph" },
        { "add-arity", "(add_relu) has 1 inputs" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void AMalformedFileIsRefusedNamingTheFileAndNode(string corruption, string words)
    {
        var path = Corrupted((t, m) =>
        {
            switch (corruption)
            {
                case "version": m[QuantizedFile.FormatKey] = "2"; break;
                case "no-version": m.Remove(QuantizedFile.FormatKey); break;
                case "mode": m[QuantizedFile.ModeKey] = "static"; break;
                case "json": m["deepsharp.quantized.graph"] = Graph(m)[..^3]; break;
                case "null-graph": m["deepsharp.quantized.graph"] = "null"; break;
                case "later-input": m["deepsharp.quantized.graph"] = Graph(m).Replace("\"Inputs\":[0]", "\"Inputs\":[5]"); break;
                case "unknown-op": m["deepsharp.quantized.graph"] = ReplaceFirst(Graph(m), "\"conv2d\"", "\"conv3d\""); break;
                case "no-weight": t.Remove("nodes.0.weight"); break;
                case "weight-shape": t["nodes.0.weight"] = new RawTensor("I8", [8, 2, 3, 1], new byte[48]); break;
                case "scale-count": t["nodes.0.weight_scale"] = RawTensor.F32([1f, 1f, 1f], 3); break;
                case "zero-point": t["nodes.0.weight_zero_point"] = RawTensor.I64([0, 0, 0, 0, 0, 0, 0, 1], 8); break;
                case "no-scale": t.Remove("nodes.0.weight_scale"); break;
                case "bias": t["nodes.0.bias"] = RawTensor.F32([1f], 1); break;
                case "output-scale": m["deepsharp.quantized.graph"] = ReplaceFirst(Graph(m), "\"Scale\":", "\"Scale\":-1,\"Ignored\":"); break;
                case "input": m["deepsharp.quantized.input"] = "x,3"; break;
                case "output": m["deepsharp.quantized.output"] = "99"; break;
                case "add-arity": m["deepsharp.quantized.graph"] = System.Text.RegularExpressions.Regex.Replace(Graph(m), "\"Op\":\"add_relu\",\"Inputs\":\\[(\\d+),\\d+\\]", "\"Op\":\"add_relu\",\"Inputs\":[$1]"); break;
            }
        });
        var e = Assert.Throws<InvalidDataException>(() => QuantizedFile.LoadGraph(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(words, e.Message);
    }

    static string ReplaceFirst(string s, string what, string with)
    {
        int i = s.IndexOf(what, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{what}' not in {s}");
        return s[..i] + with + s[(i + what.Length)..];
    }

    [Fact]
    public void AGraphFileIsNotAChainFileAndViceVersa()
    {
        var path = Corrupted((_, _) => { });
        Assert.Contains("is not a statically quantized DeepSharp file", Assert.Throws<InvalidDataException>(() => QuantizedFile.LoadStatic(path)).Message);
        var chain = Path_("chain.safetensors");
        QuantizedFile.SaveStatic(new QuantizedModel(new(0.1f, 3), [new QuantizedReLU()]), chain);
        Assert.Contains("'static', expected 'static-graph'", Assert.Throws<InvalidDataException>(() => QuantizedFile.LoadGraph(chain)).Message);
    }
}
