namespace DeepSharp.Distributed;

/// <summary>
/// Collectives that are differentiable (torch.distributed.nn.functional): they take part in autograd, and their
/// backward is itself a collective, so every rank must run the same backward.
/// </summary>
public static class DistributedFunctional
{
    /// <summary>
    /// The sum of <paramref name="input"/> over all ranks, as a new tensor on every rank (torch.distributed.nn.functional.all_reduce
    /// with SUM). Backward: each rank's loss depends on the sum, so the gradient of every rank's input is the sum of the
    /// gradients arriving on all ranks, i.e. an all-reduce of the incoming gradient.
    /// </summary>
    public static Tensor AllReduceSum(Tensor input, ProcessGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var g = group ?? ProcessGroup.World;
        Tensor sum;
        using (Autograd.NoGrad()) sum = ReduceCopy(input, g);
        return CustomFunction.Apply(sum, "AllReduceSum", [input], gradient => [ReduceCopy(gradient, g)]);
    }

    static Tensor ReduceCopy(Tensor tensor, ProcessGroup group)
    {
        var copy = tensor.Detach().Contiguous().Clone();
        group.AllReduce(copy);
        return copy;
    }
}
