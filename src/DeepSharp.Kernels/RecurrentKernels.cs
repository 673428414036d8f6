using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// The element-wise ("gate") part of one step of a recurrent cell, forward and backward, over a block of
/// <c>rows</c> batch rows: everything except the two matrix products, which the caller does with <see cref="Gemm"/>.
/// Gate pre-activations arrive as rows of width gates·H in PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n),
/// already holding x·W_ihᵀ + b_ih (+ h·W_hhᵀ + b_hh for LSTM and RNN). The forward kernels overwrite them with the
/// activations, which the backward kernels read back. PyTorch equivalent: the fused cell kernels behind
/// <c>torch._thnn_fused_lstm_cell</c> / <c>_thnn_fused_gru_cell</c>. Each kernel has a scalar reference beside it.
/// </summary>
public static class RecurrentKernels
{
    // ---- LSTM ------------------------------------------------------------------------------------------------

    /// <summary>
    /// LSTM step: gates (rows, 4H) pre-activations → activations (σ(i), σ(f), tanh(g), σ(o)) in place;
    /// c = f·cPrev + i·g and h = o·tanh(c), each (rows, H).
    /// </summary>
    public static void LstmForward<T>(Span<T> gates, ReadOnlySpan<T> cPrev, Span<T> c, Span<T> h, int rows, int hidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gates, 4, cPrev, c, h, rows, hidden);
        int H = hidden;
        for (int r = 0; r < rows; r++)
        {
            var g = gates.Slice(r * 4 * H, 4 * H);
            var cp = cPrev.Slice(r * H, H); var cr = c.Slice(r * H, H); var hr = h.Slice(r * H, H);
            TensorPrimitives.Sigmoid(g[..(2 * H)], g[..(2 * H)]);
            TensorPrimitives.Tanh(g.Slice(2 * H, H), g.Slice(2 * H, H));
            TensorPrimitives.Sigmoid(g.Slice(3 * H, H), g.Slice(3 * H, H));
            TensorPrimitives.Multiply(g.Slice(H, H), cp, cr);                        // f·cPrev
            TensorPrimitives.FusedMultiplyAdd(g[..H], g.Slice(2 * H, H), cr, cr);     // + i·g
            TensorPrimitives.Tanh(cr, hr);
            TensorPrimitives.Multiply(hr, g.Slice(3 * H, H), hr);                     // o·tanh(c)
        }
    }

    /// <summary>
    /// LSTM step backward. Reads the activations in <paramref name="gates"/>, cPrev and c; <paramref name="dh"/> is the
    /// gradient reaching h, <paramref name="dc"/> the gradient reaching c from the next step, replaced by the gradient of
    /// cPrev. Writes the gradients of the four pre-activations to <paramref name="dGates"/> (rows, 4H).
    /// </summary>
    public static void LstmBackward<T>(ReadOnlySpan<T> gates, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> c, ReadOnlySpan<T> dh,
        Span<T> dc, Span<T> dGates, int rows, int hidden) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gates, 4, cPrev, c, dh, rows, hidden);
        CheckLength(dc, rows * hidden, nameof(dc)); CheckLength(dGates, rows * 4 * hidden, nameof(dGates));
        int H = hidden, w = Vector<T>.Count;
        var one = Vector<T>.One;
        for (int r = 0; r < rows; r++)
        {
            var dg = dGates.Slice(r * 4 * H, 4 * H);
            TensorPrimitives.Tanh(c.Slice(r * H, H), dg.Slice(3 * H, H));   // tanh(c), overwritten below by d(o)
            ref T gi = ref MemoryMarshal.GetReference(gates.Slice(r * 4 * H));
            ref T gf = ref Unsafe.Add(ref gi, H);
            ref T gg = ref Unsafe.Add(ref gi, 2 * H);
            ref T go = ref Unsafe.Add(ref gi, 3 * H);
            ref T cp = ref MemoryMarshal.GetReference(cPrev.Slice(r * H));
            ref T dhr = ref MemoryMarshal.GetReference(dh.Slice(r * H));
            ref T dcr = ref MemoryMarshal.GetReference(dc.Slice(r * H));
            ref T di = ref MemoryMarshal.GetReference(dg);
            ref T df = ref Unsafe.Add(ref di, H);
            ref T dgg = ref Unsafe.Add(ref di, 2 * H);
            ref T dO = ref Unsafe.Add(ref di, 3 * H);
            int j = 0;
            for (; j + w <= H; j += w)
            {
                nuint u = (nuint)j;
                var i = Vector.LoadUnsafe(ref gi, u); var f = Vector.LoadUnsafe(ref gf, u);
                var g = Vector.LoadUnsafe(ref gg, u); var o = Vector.LoadUnsafe(ref go, u);
                var tc = Vector.LoadUnsafe(ref dO, u);
                var dhv = Vector.LoadUnsafe(ref dhr, u);
                var dct = Vector.LoadUnsafe(ref dcr, u) + dhv * o * (one - tc * tc);
                (dhv * tc * o * (one - o)).StoreUnsafe(ref dO, u);
                (dct * g * i * (one - i)).StoreUnsafe(ref di, u);
                (dct * Vector.LoadUnsafe(ref cp, u) * f * (one - f)).StoreUnsafe(ref df, u);
                (dct * i * (one - g * g)).StoreUnsafe(ref dgg, u);
                (dct * f).StoreUnsafe(ref dcr, u);
            }
            for (; j < H; j++)
            {
                T i = Unsafe.Add(ref gi, j), f = Unsafe.Add(ref gf, j), g = Unsafe.Add(ref gg, j), o = Unsafe.Add(ref go, j);
                T tc = Unsafe.Add(ref dO, j), dhv = Unsafe.Add(ref dhr, j);
                T dct = Unsafe.Add(ref dcr, j) + dhv * o * (T.One - tc * tc);
                Unsafe.Add(ref dO, j) = dhv * tc * o * (T.One - o);
                Unsafe.Add(ref di, j) = dct * g * i * (T.One - i);
                Unsafe.Add(ref df, j) = dct * Unsafe.Add(ref cp, j) * f * (T.One - f);
                Unsafe.Add(ref dgg, j) = dct * i * (T.One - g * g);
                Unsafe.Add(ref dcr, j) = dct * f;
            }
        }
    }

    /// <summary>Scalar reference of <see cref="LstmForward{T}"/>.</summary>
    public static void LstmForwardReference<T>(Span<T> gates, ReadOnlySpan<T> cPrev, Span<T> c, Span<T> h, int rows, int hidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = hidden;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < H; j++)
            {
                int b = r * 4 * H + j;
                T i = Sigmoid(gates[b]), f = Sigmoid(gates[b + H]), g = T.Tanh(gates[b + 2 * H]), o = Sigmoid(gates[b + 3 * H]);
                gates[b] = i; gates[b + H] = f; gates[b + 2 * H] = g; gates[b + 3 * H] = o;
                T cv = f * cPrev[r * H + j] + i * g;
                c[r * H + j] = cv;
                h[r * H + j] = o * T.Tanh(cv);
            }
    }

    /// <summary>Scalar reference of <see cref="LstmBackward{T}"/>.</summary>
    public static void LstmBackwardReference<T>(ReadOnlySpan<T> gates, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> c, ReadOnlySpan<T> dh,
        Span<T> dc, Span<T> dGates, int rows, int hidden) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = hidden;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < H; j++)
            {
                int b = r * 4 * H + j, e = r * H + j;
                T i = gates[b], f = gates[b + H], g = gates[b + 2 * H], o = gates[b + 3 * H];
                T tc = T.Tanh(c[e]);
                T dct = dc[e] + dh[e] * o * (T.One - tc * tc);
                dGates[b] = dct * g * i * (T.One - i);
                dGates[b + H] = dct * cPrev[e] * f * (T.One - f);
                dGates[b + 2 * H] = dct * i * (T.One - g * g);
                dGates[b + 3 * H] = dh[e] * tc * o * (T.One - o);
                dc[e] = dct * f;
            }
    }

    // ---- GRU -------------------------------------------------------------------------------------------------

    /// <summary>
    /// GRU step: <paramref name="gx"/> (rows, 3H) holds x·W_ihᵀ + b_ih and becomes the activations (r, z, n);
    /// <paramref name="gh"/> (rows, 3H) holds h·W_hhᵀ + b_hh and is kept (its n part is needed backward).
    /// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r·gh_n), h = (1 − z)·n + z·hPrev.
    /// </summary>
    public static void GruForward<T>(Span<T> gx, ReadOnlySpan<T> gh, ReadOnlySpan<T> hPrev, Span<T> h, int rows, int hidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gx, 3, hPrev, hPrev, h, rows, hidden);
        CheckLength(gh, rows * 3 * hidden, nameof(gh));
        int H = hidden;
        for (int r = 0; r < rows; r++)
        {
            var x = gx.Slice(r * 3 * H, 3 * H); var hg = gh.Slice(r * 3 * H, 3 * H);
            var hp = hPrev.Slice(r * H, H); var hr = h.Slice(r * H, H);
            var rz = x[..(2 * H)]; var n = x.Slice(2 * H, H);
            TensorPrimitives.Add(rz, hg[..(2 * H)], rz);
            TensorPrimitives.Sigmoid(rz, rz);
            TensorPrimitives.FusedMultiplyAdd(x[..H], hg.Slice(2 * H, H), n, n);       // gx_n + r·gh_n
            TensorPrimitives.Tanh(n, n);
            TensorPrimitives.Subtract(hp, n, hr);                                        // hPrev − n
            TensorPrimitives.FusedMultiplyAdd(x.Slice(H, H), hr, n, hr);                 // n + z·(hPrev − n)
        }
    }

    /// <summary>
    /// GRU step backward. Reads the activations in <paramref name="gx"/>, h·W_hhᵀ + b_hh in <paramref name="gh"/> and hPrev;
    /// <paramref name="dh"/> holds the gradient reaching h and is replaced by the direct part of the gradient of hPrev (dh·z;
    /// the caller adds dGh·W_hh). Writes the gradients of the input-side pre-activations (rows, 3H) to <paramref name="dGx"/>
    /// and of the hidden-side ones to <paramref name="dGh"/> (they differ in the n part, which is scaled by r).
    /// </summary>
    public static void GruBackward<T>(ReadOnlySpan<T> gx, ReadOnlySpan<T> gh, ReadOnlySpan<T> hPrev, Span<T> dh,
        Span<T> dGx, Span<T> dGh, int rows, int hidden) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gx, 3, hPrev, hPrev, dh, rows, hidden);
        CheckLength(gh, rows * 3 * hidden, nameof(gh)); CheckLength(dGx, rows * 3 * hidden, nameof(dGx)); CheckLength(dGh, rows * 3 * hidden, nameof(dGh));
        int H = hidden, w = Vector<T>.Count;
        var one = Vector<T>.One;
        for (int r = 0; r < rows; r++)
        {
            ref T xr = ref MemoryMarshal.GetReference(gx.Slice(r * 3 * H));
            ref T xz = ref Unsafe.Add(ref xr, H);
            ref T xn = ref Unsafe.Add(ref xr, 2 * H);
            ref T hn = ref MemoryMarshal.GetReference(gh.Slice(r * 3 * H + 2 * H));
            ref T hp = ref MemoryMarshal.GetReference(hPrev.Slice(r * H));
            ref T d = ref MemoryMarshal.GetReference(dh.Slice(r * H));
            ref T dxr = ref MemoryMarshal.GetReference(dGx.Slice(r * 3 * H));
            ref T dhr = ref MemoryMarshal.GetReference(dGh.Slice(r * 3 * H));
            int j = 0;
            for (; j + w <= H; j += w)
            {
                nuint u = (nuint)j;
                var rv = Vector.LoadUnsafe(ref xr, u); var z = Vector.LoadUnsafe(ref xz, u); var n = Vector.LoadUnsafe(ref xn, u);
                var dv = Vector.LoadUnsafe(ref d, u);
                var dnPre = dv * (one - z) * (one - n * n);
                var drPre = dnPre * Vector.LoadUnsafe(ref hn, u) * rv * (one - rv);
                var dzPre = dv * (Vector.LoadUnsafe(ref hp, u) - n) * z * (one - z);
                drPre.StoreUnsafe(ref dxr, u); dzPre.StoreUnsafe(ref dxr, u + (nuint)H); dnPre.StoreUnsafe(ref dxr, u + (nuint)(2 * H));
                drPre.StoreUnsafe(ref dhr, u); dzPre.StoreUnsafe(ref dhr, u + (nuint)H); (dnPre * rv).StoreUnsafe(ref dhr, u + (nuint)(2 * H));
                (dv * z).StoreUnsafe(ref d, u);
            }
            for (; j < H; j++)
            {
                T rv = Unsafe.Add(ref xr, j), z = Unsafe.Add(ref xz, j), n = Unsafe.Add(ref xn, j), dv = Unsafe.Add(ref d, j);
                T dnPre = dv * (T.One - z) * (T.One - n * n);
                T drPre = dnPre * Unsafe.Add(ref hn, j) * rv * (T.One - rv);
                T dzPre = dv * (Unsafe.Add(ref hp, j) - n) * z * (T.One - z);
                Unsafe.Add(ref dxr, j) = drPre; Unsafe.Add(ref dxr, j + H) = dzPre; Unsafe.Add(ref dxr, j + 2 * H) = dnPre;
                Unsafe.Add(ref dhr, j) = drPre; Unsafe.Add(ref dhr, j + H) = dzPre; Unsafe.Add(ref dhr, j + 2 * H) = dnPre * rv;
                Unsafe.Add(ref d, j) = dv * z;
            }
        }
    }

    /// <summary>Scalar reference of <see cref="GruForward{T}"/>.</summary>
    public static void GruForwardReference<T>(Span<T> gx, ReadOnlySpan<T> gh, ReadOnlySpan<T> hPrev, Span<T> h, int rows, int hidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = hidden;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < H; j++)
            {
                int b = r * 3 * H + j;
                T rv = Sigmoid(gx[b] + gh[b]), z = Sigmoid(gx[b + H] + gh[b + H]);
                T n = T.Tanh(gx[b + 2 * H] + rv * gh[b + 2 * H]);
                gx[b] = rv; gx[b + H] = z; gx[b + 2 * H] = n;
                h[r * H + j] = (T.One - z) * n + z * hPrev[r * H + j];
            }
    }

    /// <summary>Scalar reference of <see cref="GruBackward{T}"/>.</summary>
    public static void GruBackwardReference<T>(ReadOnlySpan<T> gx, ReadOnlySpan<T> gh, ReadOnlySpan<T> hPrev, Span<T> dh,
        Span<T> dGx, Span<T> dGh, int rows, int hidden) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int H = hidden;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < H; j++)
            {
                int b = r * 3 * H + j, e = r * H + j;
                T rv = gx[b], z = gx[b + H], n = gx[b + 2 * H], dv = dh[e];
                T dn = dv * (T.One - z), dz = dv * (hPrev[e] - n);
                T dnPre = dn * (T.One - n * n);
                T drPre = dnPre * gh[b + 2 * H] * rv * (T.One - rv);
                T dzPre = dz * z * (T.One - z);
                dGx[b] = drPre; dGx[b + H] = dzPre; dGx[b + 2 * H] = dnPre;
                dGh[b] = drPre; dGh[b + H] = dzPre; dGh[b + 2 * H] = dnPre * rv;
                dh[e] = dv * z;
            }
    }

    // ---- Elman RNN -------------------------------------------------------------------------------------------

    /// <summary>Elman RNN step: h = tanh(pre) or relu(pre), element-wise over the values of <paramref name="pre"/>.</summary>
    public static void RnnForward<T>(ReadOnlySpan<T> pre, Span<T> h, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (h.Length < pre.Length) throw new ArgumentException($"RnnForward: output of length {h.Length} is shorter than the input ({pre.Length})", nameof(h));
        if (relu) TensorPrimitives.Max(pre, T.Zero, h[..pre.Length]);
        else TensorPrimitives.Tanh(pre, h[..pre.Length]);
    }

    /// <summary>Elman RNN step backward from the outputs h: dPre = dh·(1 − h²) (tanh) or dh·[h &gt; 0] (relu).</summary>
    public static void RnnBackward<T>(ReadOnlySpan<T> h, ReadOnlySpan<T> dh, Span<T> dPre, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = h.Length;
        if (dh.Length < n || dPre.Length < n) throw new ArgumentException($"RnnBackward: spans of lengths {h.Length}, {dh.Length}, {dPre.Length} do not match");
        int w = Vector<T>.Count, j = 0;
        ref T hr = ref MemoryMarshal.GetReference(h); ref T dr = ref MemoryMarshal.GetReference(dh); ref T pr = ref MemoryMarshal.GetReference(dPre);
        if (relu)
        {
            for (; j + w <= n; j += w)
            {
                var hv = Vector.LoadUnsafe(ref hr, (nuint)j);
                Vector.ConditionalSelect(Vector.GreaterThan(hv, Vector<T>.Zero), Vector.LoadUnsafe(ref dr, (nuint)j), Vector<T>.Zero).StoreUnsafe(ref pr, (nuint)j);
            }
            for (; j < n; j++) Unsafe.Add(ref pr, j) = Unsafe.Add(ref hr, j) > T.Zero ? Unsafe.Add(ref dr, j) : T.Zero;
        }
        else
        {
            for (; j + w <= n; j += w)
            {
                var hv = Vector.LoadUnsafe(ref hr, (nuint)j);
                (Vector.LoadUnsafe(ref dr, (nuint)j) * (Vector<T>.One - hv * hv)).StoreUnsafe(ref pr, (nuint)j);
            }
            for (; j < n; j++) { T hv = Unsafe.Add(ref hr, j); Unsafe.Add(ref pr, j) = Unsafe.Add(ref dr, j) * (T.One - hv * hv); }
        }
    }

    /// <summary>Scalar reference of <see cref="RnnForward{T}"/>.</summary>
    public static void RnnForwardReference<T>(ReadOnlySpan<T> pre, Span<T> h, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < pre.Length; j++) h[j] = relu ? (pre[j] > T.Zero ? pre[j] : T.Zero) : T.Tanh(pre[j]);
    }

    /// <summary>Scalar reference of <see cref="RnnBackward{T}"/>.</summary>
    public static void RnnBackwardReference<T>(ReadOnlySpan<T> h, ReadOnlySpan<T> dh, Span<T> dPre, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < h.Length; j++) dPre[j] = relu ? (h[j] > T.Zero ? dh[j] : T.Zero) : dh[j] * (T.One - h[j] * h[j]);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    static void Check<T>(ReadOnlySpan<T> gates, int gateCount, ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, int rows, int hidden)
    {
        if (rows < 0 || hidden < 0) throw new ArgumentException($"RecurrentKernels: negative size rows={rows} hidden={hidden}");
        CheckLength(gates, rows * gateCount * hidden, "gates");
        CheckLength(a, rows * hidden, "state"); CheckLength(b, rows * hidden, "state"); CheckLength(c, rows * hidden, "state");
    }

    static void CheckLength<T>(ReadOnlySpan<T> span, int needed, string name)
    {
        if (span.Length < needed) throw new ArgumentException($"RecurrentKernels: {name} has {span.Length} elements, needs {needed}", name);
    }
}
