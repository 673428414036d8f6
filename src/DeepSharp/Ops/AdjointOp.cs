namespace DeepSharp;

/// <summary>
/// Records ops that are linear in one tensor input (pooling, resampling, scatter/gather, transposed maps). Such an op's
/// backward is its adjoint, which is linear too and whose backward is the op again, so recording each as the other's
/// backward makes any order of derivative work at no extra cost. ("Linear" as in linear map: this has nothing to do
/// with nn.Linear, whose fused op is in Ops/Linear.cs.)
/// </summary>
internal static class AdjointOp
{
    /// <summary>A contiguous tensor with the values of <paramref name="t"/> (t itself when already contiguous); not recorded.</summary>
    internal static Tensor Dense(Tensor t) => t.IsContiguous ? t : Tensor.CopyToContiguous(t);

    /// <summary>
    /// Runs <paramref name="kernel"/>(contiguous input, fresh output of <paramref name="outputShape"/>) and records
    /// <paramref name="adjoint"/> as the backward. The output is zero-filled before the kernel runs when <paramref name="zeroed"/>.
    /// </summary>
    internal static Tensor Apply(Tensor input, int[] outputShape, string name, Action<Tensor, Tensor> kernel, Func<Tensor, Tensor> adjoint, bool zeroed = false)
    {
        var output = zeroed ? Tensor.Alloc(input.DType, outputShape) : Tensor.AllocUninit(input.DType, outputShape);
        kernel(Dense(input), output);
        if (Autograd.ShouldRecord(input)) Autograd.Record(output, name, [input], g => [adjoint(g)]);
        return output;
    }

    /// <summary>Throws a clear error unless the tensor is float32 or float64.</summary>
    internal static void CheckFloat(Tensor t, string op, string arg)
    {
        if (!t.IsFloatingPoint)
            throw new ArgumentException($"{op}: {arg} must be a floating point tensor (float32 or float64), got {t.DType.TorchName()} of shape {ShapeUtil.Format(t.shape)}", arg);
    }
}
