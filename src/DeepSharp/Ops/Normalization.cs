using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>
/// Fused normalisation ops (torch.native_batch_norm, native_layer_norm, native_group_norm): one pass computes the
/// statistics and the normalised, scaled output; a dedicated kernel computes the input, weight and bias gradients.
/// When the backward itself is recorded (createGraph), the gradients are written with differentiable Tensor ops
/// instead, so double backward works. Argument checking lives in DeepSharp.NN.F.
/// </summary>
internal static class Normalization
{
    // ================================ batch norm: x as (N, C, S), statistics per channel =========================

    /// <summary>Training-mode batch norm of contiguous x viewed as (N, C, S). Returns y and the biased batch variance and mean (C,).</summary>
    public static (Tensor Y, Tensor Mean, Tensor Var) BatchNormTrain(Tensor x, Tensor? weight, Tensor? bias, double eps)
    {
        int n = x.shape[0], c = x.shape[1], s = x.NumEl / Math.Max(n * c, 1);
        var xc = x.Contiguous();
        var mean = Tensor.AllocUninit(x.DType, ShapeUtil.Interned(c));
        var variance = Tensor.AllocUninit(x.DType, ShapeUtil.Interned(c));
        var rstd = Tensor.AllocUninit(x.DType, ShapeUtil.Interned(c));
        var y = Tensor.AllocUninit(x.DType, x.shape);
        if (x.DType == DType.Float32) BatchForward<float>(xc, weight, bias, n, c, s, eps, mean, variance, rstd, y);
        else BatchForward<double>(xc, weight, bias, n, c, s, eps, mean, variance, rstd, y);

        if (Autograd.ShouldRecord([x, weight ?? x, bias ?? x]))
            RecordNorm(y, "NativeBatchNormBackward", x, weight, bias, BatchNormBackward, new NormState(xc, weight, mean, rstd, null, eps, n, 1, c, s));
        return (y, mean, variance);
    }

    /// <summary>
    /// What a norm's backward needs besides its saved input (and weight): the contiguous input the statistics came from,
    /// the weight, the statistics (batch norm: the Mean and Rstd tensors it also returns; row norm: RowStats, one storage
    /// holding the R means, then the R values of 1/std, which no tensor needs to wrap), eps and the geometry (batch norm: Rows = N, K = C channels of S elements; row norm: R
    /// rows, G groups, K chunks of S). One object as the node's state instead of a closure, its delegate and a saved array.
    /// </summary>
    sealed class NormState(Tensor xc, Tensor? weight, Tensor? mean, Tensor? rstd, Storage? rowStats, double eps, int rows, int groups, int k, int s)
    {
        public readonly Tensor Xc = xc;
        public readonly Tensor? Mean = mean, Rstd = rstd;
        public readonly Storage? RowStats = rowStats;
        public readonly Tensor? Weight = weight;
        public readonly double Eps = eps;
        public readonly int Rows = rows, Groups = groups, K = k, S = s;
    }

    static void RecordNorm(Tensor y, string name, Tensor x, Tensor? weight, Tensor? bias, BackwardFunction backward, NormState state)
    {
        if (weight != null) Autograd.Record(y, name, [x, weight, bias], backward, state, x, weight);
        else Autograd.Record(y, name, [x, weight, bias], backward, state, x);
    }

    /// <summary>The backward of <see cref="BatchNormTrain"/>: the fused kernel, or differentiable ops when recorded (createGraph).</summary>
    static InputGrads BatchNormBackward(Node node, Tensor gy)
    {
        var st = (NormState)node.State!;
        var x = node.Saved(0);
        if (Autograd.IsGradEnabled) return BatchNormBackwardComposite(gy, x, st.Weight, node.Input(2), st.Eps);
        return BatchNormBackwardFused(gy, st.Xc, st.Weight, node.Input(2), st.Rows, st.K, st.S, st.Mean!, st.Rstd!);
    }

    static void BatchForward<T>(Tensor x, Tensor? weight, Tensor? bias, int n, int c, int s, double eps,
        Tensor meanT, Tensor varT, Tensor rstdT, Tensor yT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> xs = x.Span<T>();
        Span<T> mean = meanT.Span<T>(), variance = varT.Span<T>(), rstd = rstdT.Span<T>(), y = yT.Span<T>();
        double count = (double)n * s;
        if (s == 1)
        {
            // (N, C): vectorise across channels, rows accumulate
            mean.Clear(); variance.Clear();
            for (int i = 0; i < n; i++) TensorPrimitives.Add(mean, xs.Slice(i * c, c), mean);
            TensorPrimitives.Divide(mean, T.CreateChecked(count), mean);
            var centered = y.Slice(0, c);   // scratch: row 0 of y is rewritten below
            for (int i = 0; i < n; i++)
            {
                TensorPrimitives.Subtract(xs.Slice(i * c, c), mean, centered);
                TensorPrimitives.MultiplyAdd(centered, centered, variance, variance);
            }
            TensorPrimitives.Divide(variance, T.CreateChecked(count), variance);
        }
        else
        {
            for (int ch = 0; ch < c; ch++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += double.CreateTruncating(TensorPrimitives.Sum(xs.Slice((i * c + ch) * s, s)));
                var m = T.CreateChecked(sum / count);
                double sq = 0;
                for (int i = 0; i < n; i++)
                {
                    var dst = y.Slice((i * c + ch) * s, s);   // scratch: overwritten by the output below
                    TensorPrimitives.Subtract(xs.Slice((i * c + ch) * s, s), m, dst);
                    sq += double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(dst));
                }
                mean[ch] = m;
                variance[ch] = T.CreateChecked(sq / count);
            }
        }
        // y = x * scale + shift with scale = w·rstd, shift = b − mean·scale
        Span<T> scale = c <= 256 ? stackalloc T[c] : new T[c], shift = c <= 256 ? stackalloc T[c] : new T[c];
        for (int ch = 0; ch < c; ch++)
        {
            rstd[ch] = T.One / T.Sqrt(variance[ch] + T.CreateChecked(eps));
            scale[ch] = rstd[ch] * (weight != null ? Elem<T>(weight, ch) : T.One);
            shift[ch] = (bias != null ? Elem<T>(bias, ch) : T.Zero) - mean[ch] * scale[ch];
        }
        ApplyChannelAffine(xs, n, c, s, scale, shift, y);
    }

    /// <summary>y[i, ch, :] = x[i, ch, :]·scale[ch] + shift[ch].</summary>
    static void ApplyChannelAffine<T>(ReadOnlySpan<T> x, int n, int c, int s, ReadOnlySpan<T> scale, ReadOnlySpan<T> shift, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (s == 1)
        {
            for (int i = 0; i < n; i++) TensorPrimitives.MultiplyAdd(x.Slice(i * c, c), scale, shift, y.Slice(i * c, c));
            return;
        }
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                var dst = y.Slice((i * c + ch) * s, s);
                TensorPrimitives.Multiply(x.Slice((i * c + ch) * s, s), scale[ch], dst);
                TensorPrimitives.Add(dst, shift[ch], dst);
            }
    }

    static T Elem<T>(Tensor t, int i) where T : unmanaged => t.Array<T>()[t.offset + i * t.strides[0]];

    static InputGrads BatchNormBackwardFused(Tensor gy, Tensor x, Tensor? weight, Tensor? bias, int n, int c, int s, Tensor mean, Tensor rstd)
    {
        var g = gy.Contiguous();
        var dx = Tensor.AllocUninit(x.DType, x.shape);
        // a parameter's gradient is added straight into its Grad when the engine allows it (no gradient tensor of its own)
        bool needW = weight is { RequiresGrad: true }, needB = bias is { RequiresGrad: true };
        Tensor? wGrad = needW ? Autograd.LeafGrad(weight) : null, bGrad = needB ? Autograd.LeafGrad(bias) : null;
        Tensor? dw = needW && wGrad == null ? Tensor.AllocUninit(x.DType, weight!.shape) : null;
        Tensor? db = needB && bGrad == null ? Tensor.AllocUninit(x.DType, bias!.shape) : null;
        if (x.DType == DType.Float32) BatchBackward<float>(g, x, weight, n, c, s, mean, rstd, dx, dw, db, wGrad, bGrad);
        else BatchBackward<double>(g, x, weight, n, c, s, mean, rstd, dx, dw, db, wGrad, bGrad);
        return [x.RequiresGrad ? Autograd.Fresh(dx) : null,
                wGrad != null ? Autograd.MarkAccumulated(wGrad) : dw,
                bGrad != null ? Autograd.MarkAccumulated(bGrad) : db];
    }

    /// <summary>
    /// The fused batch norm backward: dx, and the weight and bias gradients written into <paramref name="dwT"/> and
    /// <paramref name="dbT"/> (when given) or added into the parameters' own gradients <paramref name="wGrad"/> and
    /// <paramref name="bGrad"/> (when given; the same sum as adding a new gradient to them).
    /// </summary>
    static void BatchBackward<T>(Tensor gyT, Tensor xT, Tensor? weight, int n, int c, int s, Tensor meanT, Tensor rstdT,
        Tensor dxT, Tensor? dwT, Tensor? dbT, Tensor? wGrad, Tensor? bGrad) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> gy = gyT.Span<T>(), x = xT.Span<T>(), mean = meanT.Span<T>(), rstd = rstdT.Span<T>();
        Span<T> dx = dxT.Span<T>();
        Span<T> dw = dwT != null ? dwT.Span<T>() : c <= 256 ? stackalloc T[c] : new T[c];
        Span<T> db = dbT != null ? dbT.Span<T>() : c <= 256 ? stackalloc T[c] : new T[c];   // also Σ gy per channel below
        Span<T> dot = c <= 256 ? stackalloc T[c] : new T[c];   // Σ gy·x per channel
        dot.Clear();
        if (s == 1)
        {
            db.Clear();
            for (int i = 0; i < n; i++)
            {
                TensorPrimitives.Add(db, gy.Slice(i * c, c), db);
                TensorPrimitives.MultiplyAdd(gy.Slice(i * c, c), x.Slice(i * c, c), dot, dot);
            }
        }
        else
        {
            for (int ch = 0; ch < c; ch++)
            {
                double sg = 0, sgx = 0;
                for (int i = 0; i < n; i++)
                {
                    int o = (i * c + ch) * s;
                    sg += double.CreateTruncating(TensorPrimitives.Sum(gy.Slice(o, s)));
                    sgx += double.CreateTruncating(TensorPrimitives.Dot(gy.Slice(o, s), x.Slice(o, s)));
                }
                db[ch] = T.CreateChecked(sg); dot[ch] = T.CreateChecked(sgx);
            }
        }
        // D = Σ gy·(x − mean); dw = rstd·D; dx = a·gy + b·x + k with a = w·rstd, b = −w·rstd³·D/M, k = −a·Σgy/M − b·mean
        T count = T.CreateChecked((double)n * s);
        Span<T> a = c <= 256 ? stackalloc T[c] : new T[c], bcoef = c <= 256 ? stackalloc T[c] : new T[c], k = c <= 256 ? stackalloc T[c] : new T[c];
        for (int ch = 0; ch < c; ch++)
        {
            T d = dot[ch] - mean[ch] * db[ch];
            T w = weight != null ? Elem<T>(weight, ch) : T.One;
            T r = rstd[ch];
            dw[ch] = r * d;
            a[ch] = w * r;
            bcoef[ch] = -w * r * r * r * d / count;
            k[ch] = -a[ch] * db[ch] / count - bcoef[ch] * mean[ch];
        }
        if (wGrad != null) { var dst = wGrad.Span<T>(); TensorPrimitives.Add(dst, dw, dst); }
        if (bGrad != null) { var dst = bGrad.Span<T>(); TensorPrimitives.Add(dst, db, dst); }
        if (s == 1)
        {
            for (int i = 0; i < n; i++)
            {
                var dst = dx.Slice(i * c, c);
                TensorPrimitives.Multiply(gy.Slice(i * c, c), a, dst);
                TensorPrimitives.MultiplyAdd(x.Slice(i * c, c), bcoef, dst, dst);
                TensorPrimitives.Add(dst, k, dst);
            }
            return;
        }
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                int o = (i * c + ch) * s;
                var dst = dx.Slice(o, s);
                TensorPrimitives.Multiply(gy.Slice(o, s), a[ch], dst);
                TensorPrimitives.MultiplyAdd(x.Slice(o, s), bcoef[ch], dst, dst);
                TensorPrimitives.Add(dst, k[ch], dst);
            }
    }

    /// <summary>1/√(v + eps) written with differentiable ops (exp(−½·log(v + eps))).</summary>
    static Tensor RsqrtComposite(Tensor v, double eps) => v.Add(eps).Log().Mul(-0.5).Exp();

    /// <summary>Batch-norm gradients from differentiable ops, used when the backward is itself recorded.</summary>
    static InputGrads BatchNormBackwardComposite(Tensor gy, Tensor x, Tensor? weight, Tensor? bias, double eps)
    {
        int n = x.shape[0], c = x.shape[1], s = x.NumEl / Math.Max(n * c, 1);
        int[] dims = [0, 2];
        var x3 = x.Reshape(n, c, s);
        var g3 = gy.Reshape(n, c, s);
        var centered = x3.Sub(x3.Mean(dims, keepDim: true));
        var rstd = RsqrtComposite(centered.Mul(centered).Mean(dims, keepDim: true), eps);
        var xhat = centered.Mul(rstd);
        var gp = weight != null ? g3.Mul(weight.Reshape(1, c, 1)) : g3;
        Tensor? dx = null;
        if (x.RequiresGrad)
            dx = rstd.Mul(gp.Sub(gp.Mean(dims, keepDim: true)).Sub(xhat.Mul(gp.Mul(xhat).Mean(dims, keepDim: true)))).Reshape(x.shape);
        var dw = weight is { RequiresGrad: true } ? g3.Mul(xhat).Sum(dims).Reshape(weight.shape) : null;
        var db = bias is { RequiresGrad: true } ? g3.Sum(dims).Reshape(bias.shape) : null;
        return [dx, dw, db];
    }

    // ============ row norm (layer norm, group norm): x as (R, D) rows normalised on their own ====================
    //
    // A row of length D = K·S holds K affine "chunks" of S elements: chunk k of row r uses weight[(r mod G)·K + k].
    // LayerNorm: G = 1, K = D, S = 1 (a weight per element). GroupNorm on (N, C, *): rows are (n, group), G groups,
    // K = C/G channels of S spatial elements each.

    /// <summary>Normalises each row of x viewed as (R, K·S) and returns y.</summary>
    public static Tensor RowNorm(Tensor x, int rows, int groups, int k, int s, Tensor? weight, Tensor? bias, double eps, string nodeName)
    {
        var xc = x.Contiguous();
        // the per-row statistics the backward reads, one storage (no tensor wraps it): the R means, then the R values of 1/std
        var stats = Storage.AllocateUninitialized(x.DType, 2 * rows);
        var y = Tensor.AllocUninit(x.DType, x.shape);
        var w = weight?.Contiguous(); var b = bias?.Contiguous();
        if (x.DType == DType.Float32) RowForward<float>(xc, w, b, rows, groups, k, s, eps, stats, y);
        else RowForward<double>(xc, w, b, rows, groups, k, s, eps, stats, y);

        if (Autograd.ShouldRecord([x, weight ?? x, bias ?? x]))
            RecordNorm(y, nodeName, x, weight, bias, RowNormBackward, new NormState(xc, w, null, null, stats, eps, rows, groups, k, s));
        return y;
    }

    /// <summary>The backward of <see cref="RowNorm"/> (state: the contiguous weight); differentiable ops when recorded.</summary>
    static InputGrads RowNormBackward(Node node, Tensor gy)
    {
        var st = (NormState)node.State!;
        var x = node.Saved(0);
        Tensor? weight = node.InputCount > 1 && st.Weight != null ? node.Saved(1) : null, bias = node.Input(2);
        int rows = st.Rows, groups = st.Groups, k = st.K, s = st.S;
        if (Autograd.IsGradEnabled) return RowNormBackwardComposite(gy, x, weight, bias, rows, groups, k, s, st.Eps);
        var g = gy.Contiguous();
        var dx = Tensor.AllocUninit(x.DType, x.shape);
        int affine = groups * k;
        // the kernel adds the weight and bias gradients, row by row, into what it is given: a parameter's own Grad when
        // the engine allows it (the same sums as a new gradient added to a zero Grad), else a zeroed tensor
        Tensor? wGrad = weight is { RequiresGrad: true } ? Autograd.LeafGrad(weight) : null;
        Tensor? bGrad = bias is { RequiresGrad: true } ? Autograd.LeafGrad(bias) : null;
        var dw = wGrad ?? Tensor.Alloc(x.DType, ShapeUtil.Interned(affine));
        var db = bGrad ?? Tensor.Alloc(x.DType, ShapeUtil.Interned(affine));
        if (x.DType == DType.Float32) RowBackward<float>(g, st.Xc, st.Weight, rows, groups, k, s, st.RowStats!, dx, dw, db);
        else RowBackward<double>(g, st.Xc, st.Weight, rows, groups, k, s, st.RowStats!, dx, dw, db);
        return [x.RequiresGrad ? Autograd.Fresh(dx) : null,
                wGrad != null ? Autograd.MarkAccumulated(wGrad) : weight is { RequiresGrad: true } ? ShapedLike(dw, weight) : null,
                bGrad != null ? Autograd.MarkAccumulated(bGrad) : bias is { RequiresGrad: true } ? ShapedLike(db, bias) : null];
    }

    /// <summary><paramref name="t"/> reshaped to <paramref name="like"/>'s shape; t itself when it has that shape already (a layer norm's (D,) weight).</summary>
    static Tensor ShapedLike(Tensor t, Tensor like) => ShapeUtil.SameShape(t.shape, like.shape) ? t : t.Reshape(like.shape);

    // Rows are independent, so both kernels split them over the kernel thread pool in blocks of whole rows (a
    // block of at least RowBlockElements elements); each row's arithmetic is the serial one, whatever the split.
    // The weight and bias gradients, sums over rows, are accumulated afterwards in row order from per-row partials.
    const int RowBlockElements = 8192;

    /// <summary>A row norm's statistics: the R means, then the R values of 1/std.</summary>
    static Span<T> StatsSpan<T>(Storage stats, int rows) => new((T[])stats.Data, 0, 2 * rows);

    static int RowsPerBlock(int rows, int d) => Math.Clamp(RowBlockElements / Math.Max(d, 1), 1, Math.Max(rows, 1));

    static unsafe void RowForward<T>(Tensor xT, Tensor? wT, Tensor? bT, int rows, int groups, int k, int s, double eps,
        Storage statsS, Tensor yT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = k * s, perBlock = RowsPerBlock(rows, d);
        fixed (T* x = xT.Span<T>(), w = wT != null ? wT.Span<T>() : default, b = bT != null ? bT.Span<T>() : default)
        fixed (T* stats = StatsSpan<T>(statsS, rows), y = yT.Span<T>())
        {
            var body = new RowForwardBlock<T>
            {
                X = x, W = wT != null ? w : null, B = bT != null ? b : null, Mean = stats, Rstd = stats + rows, Y = y,
                Rows = rows, Groups = groups, K = k, S = s, Eps = T.CreateChecked(eps), PerBlock = perBlock,
            };
            KernelThreadPool.ParallelFor((rows + perBlock - 1) / perBlock, ref body);
        }
    }

    unsafe struct RowForwardBlock<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* X, W, B, Mean, Rstd, Y;
        public int Rows, Groups, K, S, PerBlock;
        public T Eps;

        public readonly void Invoke(int block)
        {
            int d = K * S, k = K, s = S;
            T dT = T.CreateChecked(d);
            var w = W != null ? new ReadOnlySpan<T>(W, Groups * k) : default;
            var b = B != null ? new ReadOnlySpan<T>(B, Groups * k) : default;
            for (int r = block * PerBlock, end = Math.Min(Rows, r + PerBlock); r < end; r++)
            {
                var src = new ReadOnlySpan<T>(X + (long)r * d, d);
                var dst = new Span<T>(Y + (long)r * d, d);
                T m = TensorPrimitives.Sum(src) / dT;
                TensorPrimitives.Subtract(src, m, dst);
                T rs = T.One / T.Sqrt(TensorPrimitives.SumOfSquares<T>(dst) / dT + Eps);
                TensorPrimitives.Multiply(dst, rs, dst);                          // x̂
                Mean[r] = m; Rstd[r] = rs;
                int w0 = r % Groups * k;
                if (s == 1)
                {
                    if (W != null && B != null) TensorPrimitives.MultiplyAdd(dst, w.Slice(w0, k), b.Slice(w0, k), dst);
                    else if (W != null) TensorPrimitives.Multiply(dst, w.Slice(w0, k), dst);
                    else if (B != null) TensorPrimitives.Add(dst, b.Slice(w0, k), dst);
                }
                else if (W != null || B != null)
                {
                    for (int j = 0; j < k; j++)
                    {
                        var chunk = dst.Slice(j * s, s);
                        if (W != null) TensorPrimitives.Multiply(chunk, w[w0 + j], chunk);
                        if (B != null) TensorPrimitives.Add(chunk, b[w0 + j], chunk);
                    }
                }
            }
        }
    }

    static unsafe void RowBackward<T>(Tensor gyT, Tensor xT, Tensor? wT, int rows, int groups, int k, int s, Storage statsS,
        Tensor dxT, Tensor dwT, Tensor dbT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = k * s;
        Span<T> dw = dwT.Span<T>(), db = dbT.Span<T>();
        if (s == 1)
        {
            // layer norm: the weight gradient is a fused multiply-add per element across rows; kept serial
            fixed (T* gy = gyT.Span<T>(), x = xT.Span<T>(), w = wT != null ? wT.Span<T>() : default, stats = StatsSpan<T>(statsS, rows), dx = dxT.Span<T>())
            fixed (T* dwp = dw, dbp = db)
            {
                var body = new RowBackwardBlock<T>
                {
                    Gy = gy, X = x, W = wT != null ? w : null, Mean = stats, Rstd = stats + rows, Dx = dx, Dw = dwp, Db = dbp,
                    Rows = rows, Groups = groups, K = k, S = s, PerBlock = rows,
                };
                body.Invoke(0);
            }
            return;
        }
        // group norm: per-row partial sums (rows, K) in parallel, then summed over rows in row order
        var partialBuf = ArrayPool<T>.Shared.Rent(2 * rows * k);
        try
        {
            int perBlock = RowsPerBlock(rows, d);
            fixed (T* gy = gyT.Span<T>(), x = xT.Span<T>(), w = wT != null ? wT.Span<T>() : default, stats = StatsSpan<T>(statsS, rows), dx = dxT.Span<T>())
            fixed (T* partial = partialBuf)
            {
                var body = new RowBackwardBlock<T>
                {
                    Gy = gy, X = x, W = wT != null ? w : null, Mean = stats, Rstd = stats + rows, Dx = dx, Dw = partial, Db = partial + rows * k,
                    Rows = rows, Groups = groups, K = k, S = s, PerBlock = perBlock,
                };
                KernelThreadPool.ParallelFor((rows + perBlock - 1) / perBlock, ref body);
            }
            for (int r = 0; r < rows; r++)
            {
                int w0 = r % groups * k;
                for (int j = 0; j < k; j++)
                {
                    dw[w0 + j] += partialBuf[r * k + j];
                    db[w0 + j] += partialBuf[rows * k + r * k + j];
                }
            }
        }
        finally { ArrayPool<T>.Shared.Return(partialBuf); }
    }

    /// <summary>
    /// Input gradient of a block of rows. With S = 1 it accumulates the weight and bias gradients into Dw/Db (G·K);
    /// with S &gt; 1 it writes each row's partial sums to Dw[r·K + j] and Db[r·K + j] instead.
    /// </summary>
    unsafe struct RowBackwardBlock<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Gy, X, W, Mean, Rstd, Dx, Dw, Db;
        public int Rows, Groups, K, S, PerBlock;

        public readonly void Invoke(int block)
        {
            int d = K * S, k = K, s = S;
            T dT = T.CreateChecked(d);
            var w = W != null ? new ReadOnlySpan<T>(W, Groups * k) : default;
            var xhatBuf = ArrayPool<T>.Shared.Rent(d);
            var gpBuf = ArrayPool<T>.Shared.Rent(d);
            try
            {
                var xhat = xhatBuf.AsSpan(0, d);
                var gp = gpBuf.AsSpan(0, d);
                for (int r = block * PerBlock, end = Math.Min(Rows, r + PerBlock); r < end; r++)
                {
                    var g = new ReadOnlySpan<T>(Gy + (long)r * d, d);
                    var dst = new Span<T>(Dx + (long)r * d, d);
                    T rs = Rstd[r];
                    TensorPrimitives.Subtract(new ReadOnlySpan<T>(X + (long)r * d, d), Mean[r], xhat);
                    TensorPrimitives.Multiply(xhat, rs, xhat);
                    int w0 = r % Groups * k;
                    // weight and bias gradients: Σ over rows of gy·x̂ and gy, per affine element
                    if (s == 1)
                    {
                        var dw = new Span<T>(Dw + w0, k); var db = new Span<T>(Db + w0, k);
                        TensorPrimitives.MultiplyAdd(g, xhat, dw, dw);
                        TensorPrimitives.Add(db, g, db);
                        if (W != null) TensorPrimitives.Multiply(g, w.Slice(w0, k), gp); else g.CopyTo(gp);
                    }
                    else
                    {
                        for (int j = 0; j < k; j++)
                        {
                            var gc = g.Slice(j * s, s);
                            Dw[(long)r * k + j] = TensorPrimitives.Dot(gc, xhat.Slice(j * s, s));
                            Db[(long)r * k + j] = TensorPrimitives.Sum(gc);
                            if (W != null) TensorPrimitives.Multiply(gc, w[w0 + j], gp.Slice(j * s, s)); else gc.CopyTo(gp.Slice(j * s, s));
                        }
                    }
                    // dx = rstd·(gp − mean(gp) − x̂·mean(gp·x̂))
                    T meanGp = TensorPrimitives.Sum<T>(gp) / dT;
                    T meanGpX = TensorPrimitives.Dot<T>(gp, xhat) / dT;
                    TensorPrimitives.Multiply<T>(gp, rs, dst);
                    TensorPrimitives.MultiplyAdd<T>(xhat, -rs * meanGpX, dst, dst);
                    TensorPrimitives.Add<T>(dst, -rs * meanGp, dst);
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(xhatBuf);
                ArrayPool<T>.Shared.Return(gpBuf);
            }
        }
    }

    static Tensor?[] RowNormBackwardComposite(Tensor gy, Tensor x, Tensor? weight, Tensor? bias, int rows, int groups, int k, int s, double eps)
    {
        int d = k * s;
        var xr = x.Reshape(rows, d);
        var gr = gy.Reshape(rows, d);
        var centered = xr.Sub(xr.Mean(1, keepDim: true));
        var rstd = RsqrtComposite(centered.Mul(centered).Mean(1, keepDim: true), eps);
        var xhat = centered.Mul(rstd);
        // (rows/G, G·K, S) lines every element up with its affine index
        int[] affineView = [rows / groups, groups * k, s];
        var gp = weight != null ? gr.Reshape(affineView).Mul(weight.Reshape(groups * k, 1)).Reshape(rows, d) : gr;
        Tensor? dx = null;
        if (x.RequiresGrad)
            dx = rstd.Mul(gp.Sub(gp.Mean(1, keepDim: true)).Sub(xhat.Mul(gp.Mul(xhat).Mean(1, keepDim: true)))).Reshape(x.shape);
        var dw = weight is { RequiresGrad: true } ? gr.Mul(xhat).Reshape(affineView).Sum([0, 2]).Reshape(weight.shape) : null;
        var db = bias is { RequiresGrad: true } ? gr.Reshape(affineView).Sum([0, 2]).Reshape(bias.shape) : null;
        return [dx, dw, db];
    }
}
