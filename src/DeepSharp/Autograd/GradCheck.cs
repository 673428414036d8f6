namespace DeepSharp;

/// <summary>
/// Numerical gradient checking (torch.autograd.gradcheck): compares the analytical gradients from backward with
/// central finite differences, in float64.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks the gradients of <paramref name="function"/> with respect to every float64 input that requires grad.
    /// The function's output may have any shape: a random projection vector reduces it to a scalar.
    /// Returns true when every entry agrees within <c>atol + rtol * |numerical|</c>; otherwise throws with the worst entry
    /// (or returns false when <paramref name="raiseException"/> is false).
    /// </summary>
    public static bool Check(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true)
    {
        foreach (var x in inputs)
            if (x.RequiresGrad && x.DType != DType.Float64)
                throw new ArgumentException($"GradCheck: inputs that require grad must be float64 for a meaningful check, got {x.DType.TorchName()}", nameof(inputs));
        var probe = function(inputs);
        var gen = new Generator(1234);
        var projection = Tensor.RandnLike(probe.Detach().To(DType.Float64), gen);
        Tensor Scalarize(Tensor output) => output.To(DType.Float64).Mul(projection).Sum();

        for (int which = 0; which < inputs.Length; which++)
        {
            var x = inputs[which];
            if (!x.RequiresGrad) continue;
            var analytical = Autograd.Grad([Scalarize(function(inputs))], [x], allowUnused: true)[0]
                ?? Tensor.ZerosLike(x);
            analytical = analytical.Contiguous();
            var data = x.Array<double>();
            int n = x.NumEl;
            var idx = new int[x.Rank];
            for (int e = 0; e < n; e++)
            {
                // position of the e-th element in row-major order
                int rem = e, pos = x.offset;
                for (int d = x.Rank - 1; d >= 0; d--) { idx[d] = rem % x.shape[d]; rem /= x.shape[d]; pos += idx[d] * x.strides[d]; }
                double orig = data[pos];
                double plus, minus;
                using (Autograd.NoGrad())
                {
                    data[pos] = orig + eps; plus = Scalarize(function(inputs)).Item();
                    data[pos] = orig - eps; minus = Scalarize(function(inputs)).Item();
                    data[pos] = orig;
                }
                double numerical = (plus - minus) / (2 * eps);
                double got = analytical.Array<double>()[analytical.offset + e];
                if (Math.Abs(got - numerical) > atol + rtol * Math.Abs(numerical) || double.IsNaN(got) != double.IsNaN(numerical))
                {
                    if (!raiseException) return false;
                    throw new InvalidOperationException(
                        $"GradCheck: Jacobian mismatch for input {which} (shape {ShapeUtil.Format(x.shape)}) at element [{string.Join(", ", idx)}]: analytical {got:G10}, numerical {numerical:G10}");
                }
            }
        }
        return true;
    }
}
