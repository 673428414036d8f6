using DeepSharp.Onnx.Proto;
using Google.Protobuf;

namespace DeepSharp.Onnx;

/// <summary>
/// A value of the graph being written: its ONNX name and the tensor DeepSharp computed for it on the sample input
/// (its shape drives the attributes that need one, and the export checks the walk against the model with it).
/// </summary>
internal sealed record OnnxValue(string Name, Tensor Sample);

/// <summary>
/// Collects the nodes and initializers of one ONNX graph (GraphProto): unique node and value names, float32
/// initializers stored as little-endian raw_data, small int64 constants, and attribute helpers.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    readonly List<NodeProto> nodes = [];
    readonly List<TensorProto> initializers = [];
    readonly HashSet<string> names = [];
    readonly Dictionary<string, int> counters = [];

    /// <summary>The nodes written so far, in topological (execution) order.</summary>
    public IReadOnlyList<NodeProto> Nodes => nodes;

    /// <summary>The initializers written so far.</summary>
    public IReadOnlyList<TensorProto> Initializers => initializers;

    /// <summary>Reserves <paramref name="name"/> (a graph input or output name) so no node output takes it.</summary>
    public void Reserve(string name)
    {
        if (!names.Add(name)) throw new ArgumentException($"ONNX export: the name '{name}' is used twice", nameof(name));
    }

    /// <summary>A fresh name from <paramref name="stem"/>: the stem itself when free, else stem_1, stem_2, ...</summary>
    public string Fresh(string stem)
    {
        if (names.Add(stem)) return stem;
        int n = counters.GetValueOrDefault(stem);
        string candidate;
        do candidate = $"{stem}_{++n}"; while (names.Contains(candidate));
        counters[stem] = n;
        names.Add(candidate);
        return candidate;
    }

    /// <summary>Adds a float32 initializer (a parameter or buffer) under a fresh name near <paramref name="name"/>.</summary>
    public string Initializer(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var data = value.Detach().ToArray<float>();
        var bytes = new byte[data.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(bytes);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX export writes raw_data little-endian and needs a little-endian machine");
        var tensor = new TensorProto { Name = Fresh(name), DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(value.Shape.Select(d => (long)d));
        initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a float32 scalar constant (0-d initializer).</summary>
    public string Scalar(string name, float value) => Initializer(name, Tensor.Scalar(value));

    /// <summary>Adds a 1-D int64 constant, such as the target shape of a Reshape.</summary>
    public string Int64s(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = Fresh(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>
    /// Adds a node of <paramref name="opType"/> (default domain) reading <paramref name="inputs"/>; its one output gets a
    /// fresh name from <paramref name="outputStem"/>, which is returned. The node is named after its output.
    /// </summary>
    public string Node(string opType, string[] inputs, string outputStem, params AttributeProto[] attributes)
    {
        var output = Fresh(outputStem);
        AddNode(opType, inputs, output, attributes);
        return output;
    }

    /// <summary>Adds a node writing the already reserved name <paramref name="output"/> (a graph output).</summary>
    public void AddNode(string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}:{output}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        nodes.Add(node);
    }

    /// <summary>Adds a node with several outputs, each already named (by <see cref="Fresh"/>).</summary>
    public void AddNode(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}:{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        nodes.Add(node);
    }

    /// <summary>
    /// A float32 constant written as a Constant node rather than an initializer (a causal mask): ONNX import keeps it a
    /// constant instead of making it a trainable parameter.
    /// </summary>
    public string ConstantNode(string stem, Tensor value)
    {
        var data = value.Detach().ToArray<float>();
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(value.Shape.Select(d => (long)d));
        tensor.FloatData.AddRange(data);
        return Node("Constant", [], stem, new AttributeProto { Name = "value", Type = AttributeType.Tensor, T = tensor });
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeType.Int, I = value };

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeType.Float, F = value };

    /// <summary>A STRING attribute.</summary>
    public static AttributeProto Attr(string name, string value) => new() { Name = name, Type = AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>A STRINGS attribute.</summary>
    public static AttributeProto Attr(string name, params string[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Attr(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
