namespace DeepSharp;

// The fused affine map behind F.Linear (nn.Linear): bias copy + one GEMM, recorded as one op.
public sealed partial class Tensor
{
    /// <summary>
    /// The affine map behind <see cref="NN.F.Linear"/> for floating-point operands of one dtype, as one recorded op:
    /// input (*, in) viewed as an (M, in) matrix, the bias copied into each output row and x·Wᵀ added by one GEMM
    /// (no zero fill, no separate bias pass). Backward: dx = g·W, dW = gᵀ·x (a contiguous (out, in) matrix, so the
    /// weight's gradient accumulates without a transposing copy), db = Σ rows of g; written with recorded ops, so higher
    /// derivatives work.
    /// </summary>
    internal static Tensor LinearFused(Tensor input, Tensor weight, Tensor? bias)
    {
        int inFeatures = weight.shape[1], outFeatures = weight.shape[0];
        var outShape = (int[])input.shape.Clone();
        outShape[^1] = outFeatures;
        int m = 1;
        for (int d = 0; d < input.shape.Length - 1; d++) m *= input.shape[d];   // rows, also when in = 0 (Reshape(-1, 0) cannot infer them)
        Tensor output;
        using (Autograd.NoGrad())
        {
            var x2 = input.Reshape(m, inFeatures);
            output = AllocUninit(input.DType, [m, outFeatures]);
            if (bias != null && m > 0)
            {
                var b = bias.IsContiguous ? bias : bias.Contiguous();
                var src = b.storage.Data; var dst = output.storage.Data;
                for (int r = 0; r < m; r++) System.Array.Copy(src, b.offset, dst, r * outFeatures, outFeatures);
            }
            else if (inFeatures == 0) output = Alloc(input.DType, [m, outFeatures]);
            MatMulKernel(x2, weight.T, output, bias != null ? 1 : 0);
            output = output.Reshape(outShape);
        }
        if (Autograd.ShouldRecord(bias == null ? [input, weight] : [input, weight, bias]))
        {
            Autograd.Record(output, "LinearBackward", bias == null ? [input, weight] : [input, weight, bias], g =>
            {
                var g2 = g.Reshape(m, outFeatures);
                var gx = input.RequiresGrad ? g2.MatMul(weight).Reshape(input.shape) : null;
                var gw = weight.RequiresGrad ? g2.MT.MatMul(input.Reshape(m, inFeatures)) : null;
                var gb = bias is { RequiresGrad: true } ? g2.Sum(0) : null;
                return bias == null ? [gx, gw] : [gx, gw, gb];
            }, input, weight);
        }
        return output;
    }
}
