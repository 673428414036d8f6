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

    /// <summary>
    /// <see cref="LinearFused"/> for float16/bfloat16 operands of one dtype (torch.autocast's linear): the GEMM runs on
    /// transient float32 copies with float32 accumulation and the output is rounded once to the 16-bit dtype. Autograd
    /// saves the 16-bit input and weight, not float32 copies, so the activation memory is 2 bytes per element; the
    /// backward widens them again (dx = g·W, dW = gᵀ·x in float32, each rounded once) and db sums g in float32.
    /// </summary>
    internal static Tensor LinearReduced(Tensor input, Tensor weight, Tensor? bias)
    {
        var dtype = input.DType;
        int inFeatures = weight.shape[1], outFeatures = weight.shape[0];
        int m = 1;
        for (int d = 0; d < input.shape.Length - 1; d++) m *= input.shape[d];
        var output = ReducedFloat.Compute(dtype, t => LinearFused(t[0]!, t[1]!, t[2]), input, weight, bias);
        if (Autograd.ShouldRecord(bias == null ? [input, weight] : [input, weight, bias]))
        {
            Autograd.Record(output, "LinearBackward", bias == null ? [input, weight] : [input, weight, bias], g =>
            {
                var g2 = g.Reshape(m, outFeatures);
                var x2 = input.Reshape(m, inFeatures);
                bool graph = Autograd.IsGradEnabled;   // create_graph: recorded 16-bit ops, so higher derivatives work
                var gx = !input.RequiresGrad ? null
                    : (graph ? g2.MatMul(weight) : ReducedFloat.Compute(dtype, t => t[0]!.MatMul(t[1]!), g2, weight)).Reshape(input.shape);
                var gw = !weight.RequiresGrad ? null
                    : graph ? g2.MT.MatMul(x2) : ReducedFloat.Compute(dtype, t => t[0]!.MT.MatMul(t[1]!), g2, x2);
                var gb = bias is { RequiresGrad: true } ? g2.Sum(0) : null;
                return bias == null ? [gx, gw] : [gx, gw, gb];
            }, input, weight);
        }
        return output;
    }
}
