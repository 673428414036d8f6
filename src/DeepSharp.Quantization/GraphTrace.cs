using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>What one recorded step of a forward computes.</summary>
internal enum GraphOp { Module, Add, AddRelu, Cat, Reshape }

/// <summary>One recorded step: a leaf module call, a FloatFunctional call, or an add/reshape recognised by value.</summary>
internal sealed record GraphEvent(GraphOp Op, Module? Module, int[] Inputs, int Output, int Dim = 0, int[]? Tail = null)
{
    /// <summary>Same step as <paramref name="other"/> (same operation, module and data flow).</summary>
    public bool SameAs(GraphEvent other) => Op == other.Op && ReferenceEquals(Module, other.Module) && Output == other.Output
        && Dim == other.Dim && Inputs.AsSpan().SequenceEqual(other.Inputs);
}

/// <summary>
/// Records one forward of a float model as a data-flow graph: value 0 is the model input, every leaf module call (seen by
/// forward hooks) and every <see cref="FloatFunctional"/> call adds a step that consumes earlier values (by tensor
/// identity) and produces a new one. A tensor made by an operation outside modules is identified by its values: an exact
/// reshape of an earlier value (x.Flatten(1) before the classifier) or the exact sum of two earlier values of its shape
/// (x.Add(identity) in a residual block); anything else is refused with the consuming layer's name.
/// </summary>
internal sealed class GraphTrace
{
    [ThreadStatic] static GraphTrace? current;

    /// <summary>The trace recording on this thread, if any.</summary>
    public static GraphTrace? Current => current;

    readonly Dictionary<Tensor, int> ids = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<int, float[]> contents = [];
    readonly Func<Module, string> nameOf;

    /// <summary>Every value of the forward, by id.</summary>
    public List<Tensor> Values { get; } = [];
    /// <summary>The steps in the order they ran.</summary>
    public List<GraphEvent> Events { get; } = [];
    /// <summary>The id of the model's output.</summary>
    public int Output { get; private set; } = -1;

    GraphTrace(Tensor input, Func<Module, string> nameOf)
    {
        this.nameOf = nameOf;
        Add(input);
    }

    /// <summary>Starts recording with <paramref name="input"/> as value 0 (a recording left by a forward that threw is dropped).</summary>
    public static GraphTrace Begin(Tensor input, Func<Module, string> nameOf)
    {
        return current = new GraphTrace(input, nameOf);
    }

    /// <summary>Stops recording; <paramref name="output"/> (when given) becomes the graph's output.</summary>
    public void End(Tensor? output)
    {
        current = null;
        if (output != null) Output = Resolve(output, "the model's output");
    }

    /// <summary>Abandons the recording (the forward threw).</summary>
    public static void Abort() => current = null;

    int Add(Tensor t)
    {
        Values.Add(t);
        ids[t] = Values.Count - 1;
        return Values.Count - 1;
    }

    /// <summary>Records a leaf module call.</summary>
    public void Leaf(Module module, Tensor input, Tensor output)
    {
        int i = Resolve(input, $"layer '{nameOf(module)}' ({module.GetType().Name})");
        Events.Add(new GraphEvent(GraphOp.Module, module, [i], Add(output), Tail: Tail(output)));
    }

    /// <summary>Records a FloatFunctional call.</summary>
    public void Functional(FloatFunctional f, GraphOp op, Tensor[] inputs, Tensor output, int dim)
    {
        var ins = inputs.Select(t => Resolve(t, $"FloatFunctional '{nameOf(f)}'")).ToArray();
        Events.Add(new GraphEvent(op, f, ins, Add(output), dim));
    }

    static int[] Tail(Tensor t) => t.Shape.Skip(1).ToArray();

    float[] Contents(int id)
    {
        if (!contents.TryGetValue(id, out var c)) contents[id] = c = Values[id].Contiguous().To(DType.Float32).ToArray<float>();
        return c;
    }

    int Resolve(Tensor t, string consumer)
    {
        if (ids.TryGetValue(t, out int id)) return id;
        var x = t.Contiguous().To(DType.Float32).ToArray<float>();
        // an exact reshape (view) of an earlier value, most recent first
        for (int j = Values.Count - 1; j >= 0; j--)
            if (Values[j].NumEl == t.NumEl && Values[j].Shape.Count > 0 && t.Shape.Count > 0 && Values[j].Shape[0] == t.Shape[0]
                && Contents(j).AsSpan().SequenceEqual(x))
            {
                Events.Add(new GraphEvent(GraphOp.Reshape, null, [j], Add(t), Tail: Tail(t)));
                return Values.Count - 1;
            }
        // the exact sum of two earlier values of the same shape (a residual connection)
        var same = Enumerable.Range(0, Values.Count).Where(j => Values[j].Shape.SequenceEqual(t.Shape)).Reverse().ToList();
        foreach (int a in same)
            foreach (int b in same)
            {
                if (b >= a) continue;
                var xa = Contents(a); var xb = Contents(b);
                bool equal = true;
                for (int k = 0; k < x.Length && equal; k++) equal = xa[k] + xb[k] == x[k];
                if (equal)
                {
                    Events.Add(new GraphEvent(GraphOp.Add, null, [a, b], Add(t)));
                    return Values.Count - 1;
                }
            }
        throw new ArgumentException($"StaticQuantization: the input of {consumer}, shape ({string.Join(", ", t.Shape)}), is not the output of a layer, " +
            "a FloatFunctional, a reshape or the sum of two earlier values: it was made by an operation outside the model's modules " +
            "(use a module such as ReLU or a FloatFunctional for adds and concatenations)", "model");
    }
}
