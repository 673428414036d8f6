using DeepSharp.Onnx.Proto;

namespace DeepSharp.Onnx;

/// <summary>
/// One node of a graph being imported, with typed access to its attributes (the defaults are the ONNX operator
/// specification's) and the error every unsupported op, attribute or input names: op type, node name and opset.
/// </summary>
internal sealed class OnnxNode(NodeProto proto, int index, int opset)
{
    /// <summary>The node as stored in the file.</summary>
    public NodeProto Proto { get; } = proto;

    /// <summary>The opset version of the default domain the model imports.</summary>
    public int Opset { get; } = opset;

    /// <summary>The operator (Conv, Gemm, ...).</summary>
    public string OpType => Proto.OpType;

    /// <summary>The node's name, or its position when the file leaves it empty.</summary>
    public string Name { get; } = proto.Name.Length > 0 ? proto.Name : $"#{index} ({proto.OpType})";

    /// <summary>How many inputs the node lists (optional inputs left out at the end are not counted).</summary>
    public int InputCount => Proto.Input.Count;

    /// <summary>Whether input <paramref name="i"/> is given (listed and not the empty name of a skipped optional input).</summary>
    public bool HasInput(int i) => i < Proto.Input.Count && Proto.Input[i].Length > 0;

    AttributeProto? Find(string name)
    {
        foreach (var a in Proto.Attribute) if (a.Name == name) return a;
        return null;
    }

    /// <summary>Whether the node sets attribute <paramref name="name"/>.</summary>
    public bool Has(string name) => Find(name) is not null;

    /// <summary>An INT attribute, or <paramref name="fallback"/>.</summary>
    public long Int(string name, long fallback) => Find(name) is { } a ? a.I : fallback;

    /// <summary>A FLOAT attribute, or <paramref name="fallback"/>.</summary>
    public float Float(string name, float fallback) => Find(name) is { } a ? a.F : fallback;

    /// <summary>A STRING attribute, or <paramref name="fallback"/>.</summary>
    public string String(string name, string fallback) => Find(name) is { } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>An INTS attribute, or null.</summary>
    public long[]? Ints(string name) => Find(name) is { } a ? a.Ints.ToArray() : null;

    /// <summary>An INTS attribute as ints, or <paramref name="fallback"/>.</summary>
    public int[] IntArray(string name, int[] fallback) => Ints(name) is { } v ? v.Select(ToInt).ToArray() : fallback;

    /// <summary>A FLOATS attribute, or null.</summary>
    public float[]? Floats(string name) => Find(name) is { } a ? a.Floats.ToArray() : null;

    /// <summary>A TENSOR attribute, or null.</summary>
    public TensorProto? TensorAttribute(string name) => Find(name)?.T;

    /// <summary>
    /// The error for a node the importer cannot run: <c>ONNX import: op Foo (node 'bar', opset 17) is not supported: why</c>.
    /// Thrown while loading, never while running.
    /// </summary>
    public NotSupportedException Unsupported(string why) =>
        new($"ONNX import: op {OpType} (node '{Name}', opset {Opset}) is not supported: {why}");

    /// <summary>Rejects the auto_pad modes other than NOTSET / VALID (the explicit pads torch.onnx writes).</summary>
    public void RequireExplicitPads()
    {
        var autoPad = String("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID"))
            throw Unsupported($"auto_pad={autoPad} (only explicit pads, NOTSET or VALID)");
    }

    static int ToInt(long v) => checked((int)v);
}
