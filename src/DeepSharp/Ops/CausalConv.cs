using System.Numerics;
using System.Runtime.InteropServices;

namespace DeepSharp;

/// <summary>
/// Causal depthwise convolution over time on a channels-last sequence (behind
/// <see cref="NN.F.CausalDepthwiseConv1d"/>): x (N, T, F), weight (F, 1, k), bias (F) or null,
/// y[n, t, f] = b[f] + Σⱼ w[f, 0, j]·x[n, t − (k−1) + j, f] with x = 0 before the first step. It is
/// nn.Conv1d(F, F, k, groups=F, padding=k−1) on x transposed to (N, F, T), keeping the first T outputs, without the
/// transposes. One pass forward; backward makes one pass for dx and one for dw and db.
/// </summary>
internal static class CausalConvOp
{
    internal static Tensor Apply(Tensor x, Tensor weight, Tensor? bias)
    {
        int n = x.shape[0], t = x.shape[1], f = x.shape[2], k = weight.shape[2];
        var xs = x.strides[2] == 1 || f <= 1 ? x : x.Contiguous();
        var taps = TapsOf(weight);                                  // (k, F) contiguous, detached
        var b = bias == null ? null : (bias.IsContiguous ? bias : bias.Contiguous()).Detach();
        var output = Tensor.AllocUninit(x.DType, [n, t, f]);
        if (x.DType == DType.Float32) Forward<float>(xs, taps, b, output);
        else Forward<double>(xs, taps, b, output);

        Tensor[] inputs = bias == null ? [x, weight] : [x, weight, bias];
        if (Autograd.ShouldRecord(inputs))
        {
            Autograd.Record(output, "CausalDepthwiseConv1dBackward", inputs, g =>
            {
                if (Autograd.IsGradEnabled && (g.RequiresGrad || x.RequiresGrad || weight.RequiresGrad || bias is { RequiresGrad: true }))
                {
                    // createGraph: the same gradients from the composed form, so they can be differentiated again
                    var composed = Composed(x, weight, bias);
                    var wanted = inputs.Where(i => i.RequiresGrad).ToArray();
                    var grads = Autograd.Grad([composed], wanted, [g], createGraph: true, allowUnused: true);
                    return inputs.Select(i => i.RequiresGrad ? grads[Array.IndexOf(wanted, i)] : null).ToArray();
                }
                var gs = g.IsContiguous ? g : g.Contiguous();
                var gx = x.RequiresGrad ? Tensor.AllocUninit(x.DType, [n, t, f]) : null;
                var gTaps = weight.RequiresGrad ? Tensor.Alloc(x.DType, [k, f]) : null;        // zeroed: partials are added in
                var gb = bias is { RequiresGrad: true } ? Tensor.Alloc(x.DType, [f]) : null;
                if (x.DType == DType.Float32) Backward<float>(xs, taps, gs, gx, gTaps, gb);
                else Backward<double>(xs, taps, gs, gx, gTaps, gb);
                var gw = gTaps?.Transpose(0, 1).Contiguous().Reshape(f, 1, k);
                return bias == null ? [gx, gw] : [gx, gw, gb];
            }, x, weight);
        }
        return output;
    }

    /// <summary>The weight (F, 1, k) as a contiguous (k, F) table: row j holds every channel's tap j.</summary>
    static Tensor TapsOf(Tensor weight)
    {
        using (Autograd.NoGrad()) return weight.Detach().Reshape(weight.shape[0], weight.shape[2]).Transpose(0, 1).Contiguous();
    }

    /// <summary>The same map from differentiable ops (zero-padded shifts times taps), for higher derivatives and tests.</summary>
    internal static Tensor Composed(Tensor x, Tensor weight, Tensor? bias)
    {
        int n = x.shape[0], t = x.shape[1], f = x.shape[2], k = weight.shape[2];
        var taps = weight.Reshape(f, k).Transpose(0, 1);            // (k, F)
        Tensor? y = bias?.Reshape(1, 1, f).Expand(n, t, f);
        for (int j = 0; j < k; j++)
        {
            int shift = k - 1 - j;
            if (shift >= t) continue;
            var src = shift == 0 ? x : Tensor.Cat([Tensor.Zeros([n, shift, f], x.DType), x.Narrow(1, 0, t - shift)], 1);
            var term = src.Mul(taps.Narrow(0, j, 1).Reshape(1, 1, f));
            y = y == null ? term : y.Add(term);
        }
        return y ?? Tensor.Zeros([n, t, f], x.DType);
    }

    static void Forward<T>(Tensor x, Tensor taps, Tensor? bias, Tensor output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var body = new ForwardBody<T>
        {
            X = x.Array<T>(), XOffset = x.offset, XStrideN = x.strides[0], XStrideT = x.strides[1],
            W = taps.Array<T>(), WOffset = taps.offset, B = bias?.Array<T>(), BOffset = bias?.offset ?? 0, Y = output.Array<T>(),
            N = x.shape[0], T_ = x.shape[1], F = x.shape[2], K = taps.shape[0],
        };
        Run(body.N, ref body, (long)body.N * body.T_ * body.F * body.K);
    }

    static void Backward<T>(Tensor x, Tensor taps, Tensor g, Tensor? gx, Tensor? gTaps, Tensor? gb) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.shape[0], f = x.shape[2], k = taps.shape[0];
        var body = new BackwardBody<T>
        {
            X = x.Array<T>(), XOffset = x.offset, XStrideN = x.strides[0], XStrideT = x.strides[1],
            W = taps.Array<T>(), WOffset = taps.offset, G = g.Array<T>(), GOffset = g.offset, GX = gx?.Array<T>(),
            // per-sequence partial sums of dw (k rows) and db (1 row), reduced below in sequence order
            Partials = gTaps != null || gb != null ? Tensor.AllocUninit(x.DType, [n * (k + 1) * f]).Array<T>() : null,   // pooled, cleared per task
            WantW = gTaps != null, WantB = gb != null,
            N = n, T_ = x.shape[1], F = f, K = k,
        };
        Run(n, ref body, 2L * n * body.T_ * f * k);
        if (body.Partials is { } partials)
        {
            int stride = (k + 1) * f;
            for (int s = 0; s < n; s++)
            {
                if (gTaps != null) Add<T>(partials.AsSpan(s * stride, k * f), gTaps.Array<T>().AsSpan(0, k * f));
                if (gb != null) Add<T>(partials.AsSpan(s * stride + k * f, f), gb.Array<T>().AsSpan(0, f));
            }
        }
    }

    static void Run<TBody>(int tasks, ref TBody body, long work) where TBody : struct, Kernels.IParallelBody
    {
        if (tasks > 1 && work >= 1 << 15) Kernels.KernelThreadPool.ParallelFor(tasks, ref body);
        else for (int t = 0; t < tasks; t++) body.Invoke(t);
    }

    /// <summary>One sequence per task: each output row is the bias plus k whole-row multiply-adds.</summary>
    struct ForwardBody<T> : Kernels.IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] X, W, Y; public T[]? B;
        public int XOffset, XStrideN, XStrideT, WOffset, BOffset, N, T_, F, K;

        public readonly void Invoke(int s)
        {
            for (int step = 0; step < T_; step++)
            {
                var yRow = Y.AsSpan((s * T_ + step) * F, F);
                if (B != null) B.AsSpan(BOffset, F).CopyTo(yRow); else yRow.Clear();
                for (int j = Math.Max(0, K - 1 - step); j < K; j++)
                {
                    int src = step - (K - 1) + j;
                    MultiplyAdd<T>(X.AsSpan(XOffset + s * XStrideN + src * XStrideT, F), W.AsSpan(WOffset + j * F, F), yRow);
                }
            }
        }
    }

    /// <summary>One sequence per task: its rows of dx, and its partial sums of dw and db (no sharing between tasks, so
    /// the result does not depend on the thread count).</summary>
    struct BackwardBody<T> : Kernels.IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] X, W, G; public T[]? GX, Partials;
        public bool WantW, WantB;
        public int XOffset, XStrideN, XStrideT, WOffset, GOffset, N, T_, F, K;

        public readonly void Invoke(int s)
        {
            Span<T> partial = Partials == null ? default : Partials.AsSpan(s * (K + 1) * F, (K + 1) * F);
            partial.Clear();
            for (int step = 0; step < T_; step++)
            {
                var gRow = G.AsSpan(GOffset + (s * T_ + step) * F, F);
                if (WantB) Add<T>(gRow, partial.Slice(K * F, F));
                // y[step] read x[step − (k−1) + j]: dw_j += g[step]·x[src]
                if (WantW)
                    for (int j = Math.Max(0, K - 1 - step); j < K; j++)
                    {
                        int src = step - (K - 1) + j;
                        MultiplyAdd<T>(gRow, X.AsSpan(XOffset + s * XStrideN + src * XStrideT, F), partial.Slice(j * F, F));
                    }
                if (GX != null)
                {
                    // dx[step] = Σⱼ g[step + (k−1) − j]·w_j over the outputs that read this step
                    var dst = GX.AsSpan((s * T_ + step) * F, F);
                    dst.Clear();
                    for (int j = 0; j < K; j++)
                    {
                        int reader = step + (K - 1) - j;
                        if (reader >= T_) continue;
                        MultiplyAdd<T>(G.AsSpan(GOffset + (s * T_ + reader) * F, F), W.AsSpan(WOffset + j * F, F), dst);
                    }
                }
            }
        }
    }

    /// <summary>acc += a ∘ b.</summary>
    static void MultiplyAdd<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = a.Length;
        ref T ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rc = ref MemoryMarshal.GetReference(acc);
        if (Vector.IsHardwareAccelerated && b.Length >= n && acc.Length >= n)
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                (Vector.LoadUnsafe(ref rc, (nuint)i) + Vector.LoadUnsafe(ref ra, (nuint)i) * Vector.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rc, (nuint)i);
        for (; i < n; i++) acc[i] += a[i] * b[i];
    }

    /// <summary>acc += a.</summary>
    static void Add<T>(ReadOnlySpan<T> a, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = a.Length;
        ref T ra = ref MemoryMarshal.GetReference(a), rc = ref MemoryMarshal.GetReference(acc);
        if (Vector.IsHardwareAccelerated && acc.Length >= n)
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                (Vector.LoadUnsafe(ref rc, (nuint)i) + Vector.LoadUnsafe(ref ra, (nuint)i)).StoreUnsafe(ref rc, (nuint)i);
        for (; i < n; i++) acc[i] += a[i];
    }
}
