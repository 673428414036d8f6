using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using Google.Protobuf;

namespace DeepSharp.Onnx;

/// <summary>
/// An ONNX model imported as a DeepSharp module (what onnx2torch's <c>convert</c> gives PyTorch users): its graph runs
/// node by node on DeepSharp tensor ops, so it runs, trains and fine-tunes like any module. Every float initializer with
/// at least one dimension becomes a parameter, except the running mean and variance of BatchNormalization nodes, which
/// become buffers; they are named by the initializer names, so a model DeepSharp or torch.onnx exported has its original
/// state-dict keys ("layer1.0.conv1.weight") and <see cref="Module.LoadStateDict"/> of the original weights works.
/// Integer initializers, 0-d constants and Constant nodes stay constants. Training mode makes BatchNormalization use
/// batch statistics (and update the running ones) and Dropout drop, as the PyTorch layers they came from.
/// See docs/interop.md.
/// </summary>
public sealed partial class OnnxModel : Module<Tensor, Tensor>
{
    /// <summary>One compiled node: the kernel, the value slots it reads (−1: an optional input left out), writes and frees.</summary>
    sealed record Step(OnnxNode Node, OnnxKernel Kernel, int[] Inputs, int[] Outputs, int[] Release);

    /// <summary>A graph input: its name, value slot, declared element type and dims (null: symbolic such as "batch").</summary>
    sealed record GraphInput(string Name, int Slot, DType? DType, int?[] Dims);

    readonly Step[] steps;
    readonly Tensor?[] constants;
    readonly Dictionary<string, int> stateSlots;
    readonly GraphInput[] inputs;
    readonly (string Name, int Slot)[] outputs;

    /// <summary>The opset version of the default ONNX domain the file imports.</summary>
    public int Opset { get; }

    /// <summary>The file's producer ("pytorch", "DeepSharp", ...).</summary>
    public string ProducerName { get; }

    /// <summary>The file's metadata_props (`deepsharp export` records the model and dataset there).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The graph's input names (initializers listed as inputs are not counted), in order.</summary>
    public IReadOnlyList<string> InputNames => inputs.Select(i => i.Name).ToArray();

    /// <summary>The graph's output names, in order.</summary>
    public IReadOnlyList<string> OutputNames => outputs.Select(o => o.Name).ToArray();

    /// <summary>The op types of the graph's nodes, in execution order.</summary>
    public IReadOnlyList<string> NodeOpTypes => steps.Select(s => s.Node.OpType).ToArray();

    /// <summary>
    /// Loads the ONNX file at <paramref name="path"/> (onnx.load + onnx2torch.convert). Throws <see cref="NotSupportedException"/>
    /// naming the op type, node name and opset of the first node DeepSharp cannot run, and <see cref="InvalidDataException"/>
    /// for a file that is not a valid ONNX model.
    /// </summary>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX import: no file at {path}", path);
        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    /// <summary>Loads an ONNX model from its bytes; see <see cref="Load(string)"/>.</summary>
    public static OnnxModel Load(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Load(new MemoryStream(bytes, writable: false));
    }

    /// <summary>Loads an ONNX model from a stream; see <see cref="Load(string)"/>.</summary>
    public static OnnxModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(stream); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"ONNX import: the data is not an ONNX model ({e.Message})", e); }
        if (proto.Graph is null) throw new InvalidDataException("ONNX import: the model has no graph");
        return new OnnxModel(proto);
    }

    /// <summary>
    /// Runs the graph on its one input and returns its first output (torch.nn.Module.forward of the converted model).
    /// Models with several inputs run through <see cref="Run"/>.
    /// </summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (inputs.Length != 1)
            throw new InvalidOperationException($"OnnxModel: the graph has {inputs.Length} inputs ({string.Join(", ", InputNames)}); call Run with a value for each");
        return Run(new Dictionary<string, Tensor> { [inputs[0].Name] = input })[outputs[0].Name];
    }

    /// <summary>
    /// Runs the graph on named inputs and returns every graph output by name (ONNX Runtime's InferenceSession.Run).
    /// Each input must have the declared element type, rank and fixed dims.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> feeds)
    {
        ArgumentNullException.ThrowIfNull(feeds);
        var values = (Tensor?[])constants.Clone();
        foreach (var (name, t) in NamedParameters()) if (stateSlots.TryGetValue(name, out int slot)) values[slot] = t;
        foreach (var (name, t) in NamedBuffers()) if (stateSlots.TryGetValue(name, out int slot)) values[slot] = t;
        foreach (var input in inputs)
            values[input.Slot] = CheckInput(input, feeds.TryGetValue(input.Name, out var t) ? t
                : throw new ArgumentException($"OnnxModel: no value for input '{input.Name}' (inputs: {string.Join(", ", InputNames)})", nameof(feeds)));
        foreach (var step in steps) Execute(step, values);
        return outputs.ToDictionary(o => o.Name, o => values[o.Slot]!);
    }

    void Execute(Step step, Tensor?[] values)
    {
        var args = new Tensor?[step.Inputs.Length];
        for (int i = 0; i < args.Length; i++) args[i] = step.Inputs[i] < 0 ? null : values[step.Inputs[i]];
        Tensor[] results;
        try { results = step.Kernel(args, IsTraining); }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"OnnxModel: node '{step.Node.Name}' ({step.Node.OpType}) failed on inputs of shapes " +
                string.Join(", ", args.Select(a => a is null ? "-" : "(" + string.Join(", ", a.Shape) + ")")) + $": {e.Message}", e);
        }
        for (int i = 0; i < step.Outputs.Length; i++)
            if (step.Outputs[i] >= 0)
                values[step.Outputs[i]] = i < results.Length ? results[i]
                    : throw new InvalidOperationException($"OnnxModel: node '{step.Node.Name}' ({step.Node.OpType}) gave {results.Length} outputs, the graph reads output {i}");
        foreach (int slot in step.Release) values[slot] = null;   // its last reader has run
    }

    static Tensor CheckInput(GraphInput input, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value, input.Name);
        bool fits = value.Rank == input.Dims.Length && input.Dims.Select((d, i) => d is null || d == value.Shape[i]).All(ok => ok);
        if (!fits)
            throw new ArgumentException($"OnnxModel: input '{input.Name}' expects shape ({string.Join(", ", input.Dims.Select(d => d?.ToString() ?? "?"))}), " +
                $"got ({string.Join(", ", value.Shape)})", input.Name);
        if (input.DType is { } dtype && value.DType != dtype)
            throw new ArgumentException($"OnnxModel: input '{input.Name}' expects {dtype.TorchName()}, got {value.DType.TorchName()}", input.Name);
        return value;
    }

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"opset={Opset}, producer={ProducerName}, nodes={steps.Length}, inputs=[{string.Join(", ", InputNames)}], outputs=[{string.Join(", ", OutputNames)}]";
}
