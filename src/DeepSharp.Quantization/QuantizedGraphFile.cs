using System.Globalization;
using System.Text.Json;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

public static partial class QuantizedFile
{
    /// <summary>The mode of a file holding a statically quantized graph model (<see cref="QuantizedGraphModel"/>).</summary>
    public const string GraphMode = "static-graph";

    /// <summary>The metadata key of a graph file's format version.</summary>
    public const string FormatKey = "deepsharp.quantized.format";

    /// <summary>The graph file format this version writes and reads.</summary>
    public const int GraphFormatVersion = 1;

    const string GraphKey = "deepsharp.quantized.graph", InputKey = "deepsharp.quantized.input", OutputKey = "deepsharp.quantized.output";

    /// <summary>One node of a graph file's "deepsharp.quantized.graph" list (docs/compression.md, "Quantized file layout").</summary>
    internal sealed record GraphNodeInfo(string Op, int[] Inputs, int[]? Kernel = null, int[]? Stride = null, int[]? Padding = null,
        int[]? Dilation = null, int InChannels = 0, bool Relu = false, float Scale = 0, int ZeroPoint = 0, int Dim = 0, int[]? Tail = null,
        int[]? OutputSize = null);

    /// <summary>
    /// Writes a statically quantized graph model (a residual or branching net converted by
    /// <see cref="PreparedModel.Convert"/> or <see cref="QatModel.Convert"/>): the int8 weights of node I as
    /// <c>nodes.I.weight</c> (I8, the float shape), <c>nodes.I.weight_scale</c>, <c>nodes.I.weight_zero_point</c> and
    /// <c>nodes.I.bias</c>; the nodes (op, input values, hyperparameters, output scale and zero point) as JSON in metadata
    /// "deepsharp.quantized.graph", the input's parameters and the output value beside them, mode "static-graph" and format
    /// version 1. <paramref name="metadata"/> (e.g. the float file's) is kept. The file replaces <paramref name="path"/>
    /// atomically. (PyTorch saves a converted model's state_dict, which needs the model's code to load; this file does not.)
    /// </summary>
    public static void SaveGraph(QuantizedGraphModel model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new Dictionary<string, RawTensor>();
        var nodes = new List<GraphNodeInfo>();
        for (int i = 0; i < model.Nodes.Count; i++)
        {
            var n = model.Nodes[i];
            int[] inputs = [.. n.Inputs];
            nodes.Add(n switch
            {
                { Layer: QuantizedConv2d c } => AddConv(tensors, $"nodes.{i}", c, inputs),
                { Layer: QuantizedLinear l } => AddLinear(tensors, $"nodes.{i}", l, inputs),
                { Layer: QuantizedMaxPool2d p } => new("maxpool2d", inputs, Pair(p.Kernel), Pair(p.Stride), Pair(p.Padding)),
                { Layer: QuantizedAdaptiveAvgPool2d a } => new("adaptive_avgpool2d", inputs, OutputSize: Pair(a.OutputSize)),
                { Layer: QuantizedReshape r } => new("reshape", inputs, Tail: [.. r.Tail]),
                { Layer: QuantizedFlatten } => new("flatten", inputs),
                { Layer: QuantizedReLU } => new("relu", inputs),
                { Layer: { } other } => throw new ArgumentException($"QuantizedFile.SaveGraph: node {i} ({other.GetType().Name}) cannot be saved", nameof(model)),
                { Functional: { } f, CatDim: >= 0 } => new("cat", inputs, Scale: f.Output.Scale, ZeroPoint: f.Output.ZeroPoint, Dim: n.CatDim),
                { Functional: { } f } => new(n.AddRelu ? "add_relu" : "add", inputs, Scale: f.Output.Scale, ZeroPoint: f.Output.ZeroPoint),
                _ => new("identity", inputs),
            });
        }
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [ModeKey] = GraphMode,
            [FormatKey] = GraphFormatVersion.ToString(CultureInfo.InvariantCulture),
            [GraphKey] = JsonSerializer.Serialize(nodes, QuantizationJsonContext.Default.ListGraphNodeInfo),
            [InputKey] = string.Create(CultureInfo.InvariantCulture, $"{model.Input.Scale:R},{model.Input.ZeroPoint}"),
            [OutputKey] = model.OutputValue.ToString(CultureInfo.InvariantCulture),
        };
        RawSafeTensors.Save(path, tensors, meta);
    }

    static int[] Pair(Size2 s) => [s.H, s.W];

    static GraphNodeInfo AddConv(Dictionary<string, RawTensor> tensors, string prefix, QuantizedConv2d c, int[] inputs)
    {
        AddWeights(tensors, prefix, c.Weights, [c.Weights.OutFeatures, c.InChannels, c.Kernel.H, c.Kernel.W]);
        return new("conv2d", inputs, Pair(c.Kernel), Pair(c.Stride), Pair(c.Padding), Pair(c.Dilation), c.InChannels, c.Relu, c.Output.Scale, c.Output.ZeroPoint);
    }

    static GraphNodeInfo AddLinear(Dictionary<string, RawTensor> tensors, string prefix, QuantizedLinear l, int[] inputs)
    {
        AddWeights(tensors, prefix, l.Weights, [l.Weights.OutFeatures, l.Weights.InFeatures]);
        return new("linear", inputs, Relu: l.Relu, Scale: l.Output.Scale, ZeroPoint: l.Output.ZeroPoint);
    }

    /// <summary>
    /// Reads a file written by <see cref="SaveGraph"/> back into a runnable <see cref="QuantizedGraphModel"/> (no float model
    /// needed; outputs bit-identical to the saved model's). A file of another mode, an unknown format version, or a
    /// malformed graph (an input that is not an earlier value, a missing or mis-shaped weight, a bad scale) is refused
    /// with an <see cref="InvalidDataException"/> naming the file and the node.
    /// </summary>
    public static QuantizedGraphModel LoadGraph(string path)
    {
        var (tensors, metadata) = RawSafeTensors.Load(path);
        string mode = metadata.GetValueOrDefault(ModeKey, "(none)");
        if (mode != GraphMode)
            throw new InvalidDataException($"{path} is not a static-graph quantized DeepSharp file ({ModeKey} is '{mode}', expected '{GraphMode}')");
        if (!metadata.TryGetValue(FormatKey, out var format))
            throw new InvalidDataException($"{path}: a static-graph file needs metadata {FormatKey}");
        if (format != GraphFormatVersion.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: static-graph format version '{format}' is not supported (this DeepSharp reads version {GraphFormatVersion})");
        string Meta(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: a static-graph file needs metadata {key}");
        List<GraphNodeInfo>? infos;
        try { infos = JsonSerializer.Deserialize(Meta(GraphKey), QuantizationJsonContext.Default.ListGraphNodeInfo); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {GraphKey} is not a valid node list ({e.Message})", e); }
        if (infos == null) throw new InvalidDataException($"{path}: {GraphKey} is null, expected a list of nodes");
        var input = ParseQParams(path, InputKey, Meta(InputKey));
        if (!int.TryParse(Meta(OutputKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out int output) || output < 0 || output > infos.Count)
            throw new InvalidDataException($"{path}: {OutputKey} '{Meta(OutputKey)}' is not a value of the graph (0 to {infos.Count})");
        var nodes = new List<QuantizedGraphModel.Node>();
        for (int i = 0; i < infos.Count; i++)
        {
            try { nodes.Add(ReadNode(tensors, infos[i], i)); }
            catch (InvalidDataException e) { throw new InvalidDataException($"{path}: node {i} {e.Message}", e); }
            catch (ArgumentException e) { throw new InvalidDataException($"{path}: node {i} cannot be built ({e.Message})", e); }
        }
        return new QuantizedGraphModel(input, nodes, output);
    }

    static OutputQParams ParseQParams(string path, string key, string value)
    {
        var parts = value.Split(',');
        if (parts.Length == 2 && float.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float scale)
            && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int zeroPoint)
            && float.IsFinite(scale) && scale > 0 && zeroPoint is >= 0 and <= 255)
            return new(scale, zeroPoint);
        throw new InvalidDataException($"{path}: {key} '{value}' is not 'scale,zero_point' with a positive scale and a zero point in [0, 255]");
    }

    /// <summary>One node, checked (messages are completed with the file and node by the caller).</summary>
    static QuantizedGraphModel.Node ReadNode(Dictionary<string, RawTensor> tensors, GraphNodeInfo? n, int i)
    {
        if (n == null) throw new InvalidDataException("is null, expected an object with Op and Inputs");
        int[] inputs = n.Inputs ?? throw new InvalidDataException($"({n.Op}) has no Inputs");
        int arity = inputs.Length;
        bool ok = n.Op switch { "add" or "add_relu" => arity == 2, "cat" => arity >= 1, _ => arity == 1 };
        if (!ok) throw new InvalidDataException($"({n.Op}) has {arity} inputs");
        foreach (var v in inputs)
            if (v < 0 || v > i) throw new InvalidDataException($"({n.Op}) reads value {v}, which is not an earlier value (0 to {i})");
        OutputQParams Output()
        {
            if (!float.IsFinite(n.Scale) || n.Scale <= 0 || n.ZeroPoint is < 0 or > 255)
                throw new InvalidDataException($"({n.Op}) has output scale {n.Scale} and zero point {n.ZeroPoint} (need a positive scale and a zero point in [0, 255])");
            return new(n.Scale, n.ZeroPoint);
        }
        Size2 S(int[]? v, string name, int min) => v is { Length: 2 } && v[0] >= min && v[1] >= min ? new Size2(v[0], v[1])
            : throw new InvalidDataException($"({n.Op}) needs {name} as two numbers of at least {min}, got {(v == null ? "none" : $"[{string.Join(", ", v)}]")}");
        string prefix = $"nodes.{i}";
        switch (n.Op)
        {
            case "conv2d":
            {
                var kernel = S(n.Kernel, "Kernel", 1);
                var w = Weight(tensors, prefix, 4);
                if (w.Shape[1] != n.InChannels || w.Shape[2] != kernel.H || w.Shape[3] != kernel.W)
                    throw new InvalidDataException($"(conv2d) has weight shape ({string.Join(", ", w.Shape)}), expected (out, {n.InChannels}, {kernel.H}, {kernel.W})");
                var weights = ReadWeights(tensors, prefix, w.Shape[0], n.InChannels * kernel.H * kernel.W);
                return new(inputs, Layer: new QuantizedConv2d(weights, n.InChannels, kernel, S(n.Stride, "Stride", 1), S(n.Padding, "Padding", 0),
                    S(n.Dilation, "Dilation", 1), Output(), n.Relu));
            }
            case "linear":
            {
                var w = Weight(tensors, prefix, 2);
                return new(inputs, Layer: new QuantizedLinear(ReadWeights(tensors, prefix, w.Shape[0], w.Shape[1]), Output(), n.Relu));
            }
            case "maxpool2d": return new(inputs, Layer: new QuantizedMaxPool2d(S(n.Kernel, "Kernel", 1), S(n.Stride, "Stride", 1), S(n.Padding, "Padding", 0)));
            case "adaptive_avgpool2d": return new(inputs, Layer: new QuantizedAdaptiveAvgPool2d(S(n.OutputSize, "OutputSize", 1)));
            case "reshape":
                if (n.Tail == null || n.Tail.Any(d => d < 0)) throw new InvalidDataException("(reshape) needs Tail, the non-negative dimensions after the batch");
                return new(inputs, Layer: new QuantizedReshape([.. n.Tail]));
            case "flatten": return new(inputs, Layer: new QuantizedFlatten());
            case "relu": return new(inputs, Layer: new QuantizedReLU());
            case "add": return new(inputs, Functional: new QFunctional(Output()));
            case "add_relu": return new(inputs, Functional: new QFunctional(Output()), AddRelu: true);
            case "cat":
                if (n.Dim < 0) throw new InvalidDataException($"(cat) has dim {n.Dim}; a saved dim is not negative");
                return new(inputs, Functional: new QFunctional(Output()), CatDim: n.Dim);
            case "identity": return new(inputs);
            default:
                throw new InvalidDataException($"has unknown op '{n.Op}' (known: conv2d, linear, maxpool2d, adaptive_avgpool2d, reshape, flatten, relu, add, add_relu, cat, identity)");
        }
    }

    /// <summary>The I8 weight tensor PREFIX.weight of the given rank.</summary>
    static RawTensor Weight(Dictionary<string, RawTensor> tensors, string prefix, int rank)
    {
        if (!tensors.TryGetValue(prefix + ".weight", out var w) || w.DType != "I8")
            throw new InvalidDataException($"has no int8 tensor '{prefix}.weight'");
        if (w.Shape.Length != rank || w.Shape.Any(d => d == 0))
            throw new InvalidDataException($"has '{prefix}.weight' of shape ({string.Join(", ", w.Shape)}), expected {rank} non-zero dimensions");
        return w;
    }
}
