namespace DeepSharp;

/// <summary>
/// User-defined differentiable operations (torch.autograd.Function): a result computed outside the graph (a kernel, an
/// FFT, a dynamic programme) gets a hand-written backward. Used by the families outside the core (DeepSharp.Audio's
/// STFT and CTC loss) that cannot reach the internal recording API.
/// </summary>
public static class CustomFunction
{
    /// <summary>
    /// Attaches <paramref name="backward"/> to <paramref name="result"/> when grad mode is on and an input requires grad
    /// (torch.autograd.Function.apply). The backward receives the result's gradient and returns one gradient per input
    /// (null where none is needed); build it from recorded tensor ops (or another custom function) to allow higher
    /// derivatives. Returns <paramref name="result"/>.
    /// </summary>
    public static Tensor Apply(Tensor result, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(backward);
        if (result.RequiresGrad || result.GradFn != null)
            throw new ArgumentException($"CustomFunction.Apply({name}): the result must be computed outside the graph (under Autograd.NoGrad or from detached data)", nameof(result));
        return Autograd.ShouldRecord(inputs) ? Autograd.Record(result, name, inputs, backward) : result;
    }
}
