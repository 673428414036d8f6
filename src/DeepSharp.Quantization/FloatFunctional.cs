using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Float add and concatenation that static quantization can see (torch.ao.nn.quantized.FloatFunctional): a residual or
/// multi-branch model calls <c>skip.Add(x, identity)</c> or <c>merge.Cat([a, b], 1)</c> on one of these instead of
/// <c>x.Add(identity)</c> / <c>Tensor.Cat</c>. In float it is the plain operation; while a
/// <see cref="StaticQuantization.Prepare"/>d model runs, each call is recorded so an observer measures its output, and
/// <see cref="PreparedModel.Convert"/> turns it into a <see cref="QFunctional"/> with the calibrated scale and zero point.
/// Give each add/cat site its own instance (as in PyTorch: one observer per instance).
/// </summary>
public sealed class FloatFunctional : Module
{
    /// <summary>Applied to each call's result (quantization-aware training puts its fake quantization here).</summary>
    internal Func<Tensor, Tensor>? PostProcess;

    /// <summary>a + b (FloatFunctional.add).</summary>
    public Tensor Add(Tensor a, Tensor b)
    {
        var y = a.Add(b);
        GraphTrace.Current?.Functional(this, GraphOp.Add, [a, b], y, 0);
        return PostProcess?.Invoke(y) ?? y;
    }

    /// <summary>relu(a + b) (FloatFunctional.add_relu).</summary>
    public Tensor AddRelu(Tensor a, Tensor b)
    {
        var y = a.Add(b).Relu();
        GraphTrace.Current?.Functional(this, GraphOp.AddRelu, [a, b], y, 0);
        return PostProcess?.Invoke(y) ?? y;
    }

    /// <summary>Concatenation along <paramref name="dim"/> (FloatFunctional.cat).</summary>
    public Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        var y = Tensor.Cat(tensors, dim);
        GraphTrace.Current?.Functional(this, GraphOp.Cat, [.. tensors], y, dim < 0 ? dim + y.Shape.Count : dim);
        return PostProcess?.Invoke(y) ?? y;
    }
}
