using DeepSharp.Kernels;

namespace DeepSharp;

// The fused affine map behind F.Linear (nn.Linear): bias copy + one GEMM, recorded as one op.
public sealed partial class Tensor
{
    /// <summary>
    /// The affine map behind <see cref="NN.F.Linear"/> for floating-point operands of one dtype, as one recorded op:
    /// input (*, in) viewed as an (M, in) matrix, the bias copied into each output row and x·Wᵀ added by one GEMM
    /// (no zero fill, no separate bias pass). Backward: dx = g·W, dW = gᵀ·x (a contiguous (out, in) matrix, so the
    /// weight's gradient accumulates without a transposing copy), db = Σ rows of g. With contiguous float operands both
    /// directions call the GEMM on the arrays directly (no reshaped or transposed views); while a graph of the backward
    /// itself is being recorded (createGraph) the backward is written with recorded ops, so higher derivatives work.
    /// </summary>
    internal static Tensor LinearFused(Tensor input, Tensor weight, Tensor? bias)
    {
        int inFeatures = weight.shape[1], outFeatures = weight.shape[0];
        int m = 1;
        for (int d = 0; d < input.shape.Length - 1; d++) m *= input.shape[d];   // rows, also when in = 0 (Reshape(-1, 0) cannot infer them)
        Tensor output;
        using (Autograd.NoGrad())
        {
            bool direct = input.IsContiguous && weight.IsContiguous && input.DType is DType.Float32 or DType.Float64 && m > 0 && inFeatures > 0;
            var x2 = direct ? input : input.Reshape(m, inFeatures);
            int[] outShape;
            if (input.Rank == 2) outShape = ShapeUtil.Interned(m, outFeatures);
            else
            {
                Span<int> shape = input.Rank <= 16 ? stackalloc int[input.Rank] : new int[input.Rank];
                input.shape.CopyTo(shape); shape[^1] = outFeatures;
                outShape = ShapeUtil.Interned(shape);
            }
            output = AllocUninit(input.DType, direct ? outShape : ShapeUtil.Interned(m, outFeatures));
            if (bias != null && m > 0)
            {
                var b = bias.IsContiguous ? bias : bias.Contiguous();
                var src = b.storage.Data; var dst = output.storage.Data;
                for (int r = 0; r < m; r++) System.Array.Copy(src, b.offset, dst, r * outFeatures, outFeatures);
            }
            else if (inFeatures == 0) output = Alloc(input.DType, [m, outFeatures]);
            if (direct) Gemm2D(x2, false, weight, true, m, outFeatures, inFeatures, output, bias != null ? 1 : 0);
            else
            {
                MatMulKernel(x2, weight.T, output, bias != null ? 1 : 0);
                if (input.Rank != 2) output = output.Reshape(outShape);
            }
        }
        if (Autograd.ShouldRecord(bias == null ? [input, weight] : [input, weight, bias]))
            Autograd.Record(output, "LinearBackward", bias == null ? [input, weight] : [input, weight, bias], LinearBackward, null, input, weight);
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

    /// <summary>The backward of <see cref="LinearFused"/>; saved: input, weight; a third edge is the bias.</summary>
    static InputGrads LinearBackward(Node node, Tensor g)
    {
        Tensor input = node.Saved(0), weight = node.Saved(1);
        int inFeatures = weight.shape[1], outFeatures = weight.shape[0];
        int m = g.NumEl / Math.Max(outFeatures, 1);
        bool hasBias = node.InputCount == 3;
        Tensor? gx, gw, gb;
        if (!Autograd.IsGradEnabled && g.IsContiguous && input.IsContiguous && weight.IsContiguous && g.DType == input.DType
            && input.DType is DType.Float32 or DType.Float64 && m > 0 && inFeatures > 0 && outFeatures > 0)
        {
            gx = input.RequiresGrad ? Autograd.Fresh(Gemm2D(g, false, weight, false, m, inFeatures, outFeatures, AllocUninit(g.DType, input.shape), 0)) : null;
            // a parameter's gradient goes straight into its Grad (C += gᵀ·x; the same sums as a new gradient added to it
            // when Grad is zero, as after ZeroGrad)
            if (!weight.RequiresGrad) gw = null;
            else if (Autograd.LeafGrad(weight) is { } wGrad)
                gw = Autograd.MarkAccumulated(Gemm2D(g, true, input, false, outFeatures, inFeatures, m, wGrad, 1));
            else gw = Gemm2D(g, true, input, false, outFeatures, inFeatures, m, AllocUninit(g.DType, weight.shape), 0);
            if (!hasBias || node.Input(2) is not { } bias) gb = null;
            else if (outFeatures == 1) gb = g.Reshape(m, outFeatures).Sum(0);
            else if (Autograd.LeafGrad(bias) is { } bGrad)
            {
                SumRows(g, m, outFeatures, bGrad);
                gb = Autograd.MarkAccumulated(bGrad);
            }
            else gb = SumRows(g, m, outFeatures, Alloc(g.DType, bias.shape));
        }
        else
        {
            var g2 = g.Reshape(m, outFeatures);
            gx = input.RequiresGrad ? g2.MatMul(weight).Reshape(input.shape) : null;
            gw = weight.RequiresGrad ? g2.MT.MatMul(input.Reshape(m, inFeatures)) : null;
            gb = hasBias && node.Input(2) != null ? g2.Sum(0) : null;
        }
        return hasBias ? [gx, gw, gb] : [gx, gw];
    }

    /// <summary>
    /// Adds the m rows of a contiguous (m, n) float matrix, n &gt; 1, in order into <paramref name="result"/> (n,): into a zeroed
    /// result, what <c>g.Reshape(m, n).Sum(0)</c> computes, without the reshaped view; into a parameter's gradient, that sum
    /// accumulated. (With n = 1 Sum reduces the column with one vector sum instead, so the caller keeps Sum there.)
    /// </summary>
    static Tensor SumRows(Tensor g, int m, int n, Tensor result)
    {
        if (g.DType == DType.Float32) SumRows<float>(g, m, n, result);
        else SumRows<double>(g, m, n, result);
        return result;
    }

    static void SumRows<T>(Tensor g, int m, int n, Tensor result) where T : unmanaged, System.Numerics.INumber<T>
        => AddRows(new ReadOnlySpan<T>(g.Array<T>(), g.offset, m * n), m, n, result.Span<T>());

    /// <summary>Adds the rows of the (rows, cols) matrix <paramref name="m"/>, in order, into <paramref name="dst"/> (cols): column sums.</summary>
    internal static void AddRows<T>(ReadOnlySpan<T> m, int rows, int cols, Span<T> dst) where T : unmanaged, System.Numerics.INumber<T>
    {
        for (int r = 0; r < rows; r++) System.Numerics.Tensors.TensorPrimitives.Add(dst, m.Slice(r * cols, cols), dst);
    }

    /// <summary>
    /// c = op(a)·op(b) + beta·c on contiguous row-major float arrays (op = transpose when the flag is set): a holds an
    /// (m, k) matrix, or (k, m) when transposed; b an (k, n) one, or (n, k). No views, nothing recorded. Returns c.
    /// </summary>
    static Tensor Gemm2D(Tensor a, bool transA, Tensor b, bool transB, int m, int n, int k, Tensor c, double beta)
    {
        int lda = transA ? m : k, ldb = transB ? k : n;
        if (a.DType == DType.Float32)
            Gemm.Sgemm(transA, transB, m, n, k, 1f, new ReadOnlySpan<float>(a.Array<float>(), a.offset, m * k), lda,
                new ReadOnlySpan<float>(b.Array<float>(), b.offset, k * n), ldb, (float)beta, new Span<float>(c.Array<float>(), c.offset, m * n), n);
        else
            Gemm.Dgemm(transA, transB, m, n, k, 1.0, new ReadOnlySpan<double>(a.Array<double>(), a.offset, m * k), lda,
                new ReadOnlySpan<double>(b.Array<double>(), b.offset, k * n), ldb, beta, new Span<double>(c.Array<double>(), c.offset, m * n), n);
        return c;
    }
}
