using DeepSharp.NN;
using DeepSharp.Onnx.Proto;

namespace DeepSharp.Onnx;

/// <summary>
/// A plain container of imported parameters and buffers (the submodules an initializer name such as "layer1.0.conv1.weight"
/// implies, so state-dict keys keep the file's names). It has no forward: the graph of <see cref="OnnxModel"/> reads it.
/// </summary>
internal sealed class OnnxWeights : Module { }

// Building the module from a ModelProto: opset, initializers, constants, value slots and compiled steps.
public sealed partial class OnnxModel
{
    /// <summary>The default-domain opsets the importer reads (torch.onnx writes 7 to 17).</summary>
    public const int MinOpset = 7, MaxOpset = 21;

    OnnxModel(ModelProto proto)
    {
        var graph = proto.Graph;
        Opset = DefaultOpset(proto);
        ProducerName = proto.ProducerName;
        Metadata = proto.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var constantValues = new List<Tensor?>();
        int Define(string name, Tensor? constant = null)
        {
            slots[name] = constantValues.Count;
            constantValues.Add(constant);
            return slots[name];
        }
        stateSlots = new Dictionary<string, int>(StringComparer.Ordinal);
        var runningStats = graph.Node.Where(n => n.OpType == "BatchNormalization").SelectMany(n => n.Input.Skip(3).Take(2)).ToHashSet();
        var placement = new WeightPlacement(this);
        foreach (var init in graph.Initializer)
        {
            if (init.Name.Length == 0) throw new InvalidDataException("ONNX import: an initializer has no name");
            var value = OnnxTensors.Read(init, $"initializer '{init.Name}'");
            if (!value.IsFloatingPoint || value.Rank == 0) { Define(init.Name, value); continue; }
            var key = placement.Place(init.Name, value, parameter: !runningStats.Contains(init.Name));
            stateSlots[key] = Define(init.Name);
        }
        inputs = graph.Input.Where(i => !slots.ContainsKey(i.Name)).Select(i => new GraphInput(i.Name, Define(i.Name), InputDType(i), InputDims(i))).ToArray();
        var stepList = new List<(OnnxNode Node, OnnxKernel Kernel, int[] Inputs, int[] Outputs)>();
        for (int index = 0; index < graph.Node.Count; index++)
        {
            var node = new OnnxNode(graph.Node[index], index, Opset);
            var reads = node.Proto.Input.Select(name => name.Length == 0 ? -1 : slots.TryGetValue(name, out int s) ? s
                : throw new InvalidDataException($"ONNX import: node '{node.Name}' ({node.OpType}) reads '{name}', which no input, initializer or earlier node defines")).ToArray();
            if (node.OpType == "Constant" && node.Proto.Domain is "" or "ai.onnx")
            {
                Define(node.Proto.Output[0], ConstantValue(node));
                continue;
            }
            var kernel = OnnxOps.Compile(node);
            stepList.Add((node, kernel, reads, node.Proto.Output.Select(o => o.Length == 0 ? -1 : Define(o)).ToArray()));
        }
        outputs = graph.Output.Select(o => (o.Name, slots.TryGetValue(o.Name, out int s) ? s
            : throw new InvalidDataException($"ONNX import: no node writes the graph output '{o.Name}'"))).ToArray();
        if (outputs.Length == 0) throw new InvalidDataException("ONNX import: the graph has no output");
        constants = constantValues.ToArray();
        steps = Schedule(stepList, outputs.Select(o => o.Slot).ToHashSet());
        Eval();   // an imported model is ready for inference, as torch.onnx exported it; Train() for fine-tuning
    }

    static int DefaultOpset(ModelProto proto)
    {
        var imports = proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (imports.Count == 0) throw new InvalidDataException("ONNX import: the model imports no default-domain opset");
        int opset = (int)imports.Max(o => o.Version);
        if (opset < MinOpset || opset > MaxOpset)
            throw new NotSupportedException($"ONNX import: opset {opset} is outside the supported {MinOpset} to {MaxOpset}");
        return opset;
    }

    /// <summary>Steps with, for each, the slots whose last reader it is (not graph outputs or weights: those stay).</summary>
    Step[] Schedule(List<(OnnxNode Node, OnnxKernel Kernel, int[] Inputs, int[] Outputs)> list, HashSet<int> keep)
    {
        var lastReader = new Dictionary<int, int>();
        for (int i = 0; i < list.Count; i++) foreach (int s in list[i].Inputs) if (s >= 0) lastReader[s] = i;
        var producedBySteps = list.SelectMany(s => s.Outputs).Where(s => s >= 0).ToHashSet();
        foreach (var input in inputs) producedBySteps.Add(input.Slot);
        return list.Select((s, i) => new Step(s.Node, s.Kernel, s.Inputs, s.Outputs,
            s.Inputs.Where(slot => slot >= 0 && producedBySteps.Contains(slot) && !keep.Contains(slot) && lastReader[slot] == i).Distinct().ToArray())).ToArray();
    }

    /// <summary>The value of a Constant node: value (a tensor), value_float(s) or value_int(s).</summary>
    static Tensor ConstantValue(OnnxNode node)
    {
        if (node.TensorAttribute("value") is { } tensor) return OnnxTensors.Read(tensor, $"the value of Constant node '{node.Name}'");
        if (node.Has("value_float")) return OnnxTensors.Create(new[] { node.Float("value_float", 0) }, []);
        if (node.Has("value_int")) return OnnxTensors.Create(new[] { node.Int("value_int", 0) }, []);
        if (node.Floats("value_floats") is { } floats) return Tensor.FromArray(floats, [floats.Length]);
        if (node.Ints("value_ints") is { } ints) return Tensor.FromArray(ints, [ints.Length]);
        throw node.Unsupported("a value other than a tensor, float(s) or int(s) (sparse or string constants)");
    }

    static DType? InputDType(ValueInfoProto info) =>
        info.Type?.TensorType is { } t && t.ElemType != 0 ? OnnxTensors.DTypeOf(t.ElemType) : null;

    static int?[] InputDims(ValueInfoProto info) =>
        info.Type?.TensorType?.Shape is { } shape
            ? shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? (int?)d.DimValue : null).ToArray()
            : [];

    /// <summary>
    /// Registers each weight under its initializer name split at the dots (submodules <see cref="OnnxWeights"/> for the
    /// prefixes), or, when the name cannot be a state-dict key (an empty part, or a clash with another name's prefix),
    /// directly on the model with the dots replaced by underscores.
    /// </summary>
    sealed class WeightPlacement(OnnxModel root)
    {
        readonly HashSet<string> tensors = [], modules = [];

        public string Place(string name, Tensor value, bool parameter)
        {
            var parts = name.Split('.');
            bool nested = parts.All(p => p.Length > 0) && !modules.Contains(name) && !tensors.Contains(name)
                && Enumerable.Range(1, parts.Length - 1).All(i => !tensors.Contains(string.Join('.', parts[..i])));
            if (!nested)
            {
                var flat = name.Replace('.', '_');
                while (tensors.Contains(flat) || modules.Contains(flat)) flat += "_";
                parts = [flat];
            }
            Module owner = root;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                var path = string.Join('.', parts[..(i + 1)]);
                owner = modules.Add(path) ? owner.RegisterModule(parts[i], new OnnxWeights())! : owner.GetSubmodule(parts[i]);
            }
            if (parameter) owner.RegisterParameter(parts[^1], value);
            else owner.RegisterBuffer(parts[^1], value);
            var key = string.Join('.', parts);
            tensors.Add(key);
            return key;
        }
    }
}
