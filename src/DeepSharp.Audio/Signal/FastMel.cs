using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Audio;

/// <summary>
/// The fused MelSpectrogram used when no gradient is needed, in the input's precision (<typeparamref name="T"/> is float
/// for float32 input, as torchaudio computes, and double for float64). Frames are processed
/// <see cref="Vector{T}.Count"/> at a time, one frame per SIMD lane (structure of arrays: element j of a buffer holds
/// sample j of every frame of the group), so every butterfly is plain vector arithmetic with broadcast twiddles and no
/// shuffle. Per group: a gather from the centre-padded signal with the window applied; a real FFT of even length N as
/// one complex FFT of N/2 (iterative Stockham, mixed radix with hard-coded 2/3/4/5 butterflies and a generic radix for
/// other primes, twiddles precomputed per stage); the split into the real spectrum fused with |X|^power; and the mel
/// filter bank applied over each filter's non-zero bins. No tensor op per frame, no allocation per call but the result
/// (the work buffer is pooled).
/// </summary>
internal sealed class FastMel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly int nFft, half, hop, bins, nMels, maxRadix;
    readonly double power;
    readonly int[] radix, span;            // per stage: the radix p and the length l of the transforms it combines
    readonly T[][] twRe, twIm;             // per stage: W_{p·l}^{r·k} at [k·(p−1) + r−1]
    readonly T[]?[] dftRe, dftIm;          // per generic stage: W_p^j
    readonly T[] window, splitRe, splitIm; // window (n_fft); W_N^k for k < bins
    readonly int[] melStart, melEnd, melOffset;
    readonly T[] melWeights;               // each filter's non-zero run, scaled by 2^−power (the split works on 2·X)

    public FastMel(int nFft, int hop, double[] window, double[] filterBank, int nMels, double power)
    {
        this.nFft = nFft; half = nFft / 2; this.hop = hop; bins = half + 1; this.nMels = nMels; this.power = power;
        this.window = [.. window.Select(T.CreateChecked)];
        var f = new List<int>();
        int rest = half;
        foreach (int p in new[] { 4, 2, 3, 5 }) while (rest % p == 0) { f.Add(p); rest /= p; }
        for (int p = 7; rest > 1; p += 2) while (rest % p == 0) { f.Add(p); rest /= p; }
        radix = [.. f];
        maxRadix = radix.Length == 0 ? 1 : radix.Max();
        span = new int[radix.Length]; twRe = new T[radix.Length][]; twIm = new T[radix.Length][];
        dftRe = new T[radix.Length][]; dftIm = new T[radix.Length][];
        for (int s = 0, l = 1; s < radix.Length; l *= radix[s], s++)
        {
            int p = radix[s];
            span[s] = l;
            twRe[s] = new T[l * (p - 1)]; twIm[s] = new T[l * (p - 1)];
            for (int k = 0; k < l; k++)
                for (int r = 1; r < p; r++)
                {
                    double a = -2 * Math.PI * ((long)r * k % (p * l)) / (p * l);
                    twRe[s][k * (p - 1) + r - 1] = T.CreateChecked(Math.Cos(a)); twIm[s][k * (p - 1) + r - 1] = T.CreateChecked(Math.Sin(a));
                }
            if (p > 5)
            {
                dftRe[s] = new T[p]; dftIm[s] = new T[p];
                for (int j = 0; j < p; j++) { double a = -2 * Math.PI * j / p; dftRe[s]![j] = T.CreateChecked(Math.Cos(a)); dftIm[s]![j] = T.CreateChecked(Math.Sin(a)); }
            }
        }
        splitRe = new T[bins]; splitIm = new T[bins];
        for (int k = 0; k < bins; k++) { double a = -2 * Math.PI * k / nFft; splitRe[k] = T.CreateChecked(Math.Cos(a)); splitIm[k] = T.CreateChecked(Math.Sin(a)); }
        melStart = new int[nMels]; melEnd = new int[nMels]; melOffset = new int[nMels];
        var weights = new List<T>();
        double scale = Math.Pow(2, -power);   // |2X|^power = 2^power·|X|^power
        for (int m = 0; m < nMels; m++)
        {
            int s = 0, e = 0;
            for (int k = 0; k < bins; k++) if (filterBank[k * nMels + m] != 0) { if (e == 0) s = k; e = k + 1; }
            melStart[m] = s; melEnd[m] = e; melOffset[m] = weights.Count;
            for (int k = s; k < e; k++) weights.Add(T.CreateChecked(filterBank[k * nMels + m] * scale));
        }
        melWeights = [.. weights];
    }

    /// <summary>Whether the fused path handles this configuration (even n_fft of at least 4).</summary>
    public static bool Supports(int nFft) => nFft >= 4 && nFft % 2 == 0;

    /// <summary>(B, L) samples → (B, n_mels, frames) mel spectrogram of |X|^power, centre padding by <paramref name="padMode"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // fully optimised from the first call: no tier-0 code in a benchmark or a short run
    public T[] Compute(ReadOnlySpan<T> x, int batch, int length, bool center, PadMode padMode, out int frames)
    {
        int pad = center ? nFft / 2 : 0;
        if (center && padMode == PadMode.Reflect && pad >= length)
            throw new ArgumentException($"MelSpectrogram: reflect padding of {pad} needs a signal longer than {pad} samples, got length {length}", "waveform");
        int padded = length + 2 * pad;
        if (padded < nFft) throw new ArgumentException($"MelSpectrogram: n_fft={nFft} is longer than the (padded) signal of {padded} samples", "waveform");
        int t = frames = 1 + (padded - nFft) / hop;
        var result = new T[batch * nMels * t];
        if (result.Length == 0) return result;
        int w = Vector<T>.Count, vectors = 4 * half + bins + 2 * maxRadix;
        var work = ArrayPool<T>.Shared.Rent(padded + (vectors + 1) * w);
        try
        {
            var sig = work.AsSpan(0, padded);
            var vec = MemoryMarshal.Cast<T, Vector<T>>(work.AsSpan(padded, vectors * w));
            Span<Vector<T>> aRe = vec[..half], aIm = vec.Slice(half, half), bRe = vec.Slice(2 * half, half), bIm = vec.Slice(3 * half, half);
            Span<Vector<T>> pw = vec.Slice(4 * half, bins), scratch = vec.Slice(4 * half + bins, 2 * maxRadix);
            for (int b = 0; b < batch; b++)
            {
                Pad(x.Slice(b * length, length), sig, pad, padMode);
                for (int f0 = 0; f0 < t; f0 += w)
                {
                    int count = Math.Min(w, t - f0);
                    Gather(sig, f0, count, aRe, aIm);
                    bool inB = Transform(aRe, aIm, bRe, bIm, scratch);
                    if (inB) Spectrum(bRe, bIm, pw); else Spectrum(aRe, aIm, pw);
                    Mel(pw, result, b * nMels * t + f0, t, count);
                }
            }
        }
        finally { ArrayPool<T>.Shared.Return(work); }
        return result;
    }

    /// <summary>The signal with pad samples on both sides (reflect/replicate/circular/constant), into <paramref name="sig"/>.</summary>
    static void Pad(ReadOnlySpan<T> x, Span<T> sig, int pad, PadMode mode)
    {
        int length = x.Length;
        x.CopyTo(sig[pad..]);
        for (int i = -pad; i < 0; i++) sig[i + pad] = Sample(x, i, mode);
        for (int i = length; i < length + pad; i++) sig[i + pad] = Sample(x, i, mode);
    }

    static T Sample(ReadOnlySpan<T> x, int i, PadMode mode)
    {
        int length = x.Length;
        int j = mode switch
        {
            PadMode.Reflect => i < 0 ? -i : 2 * (length - 1) - i,
            PadMode.Replicate => i < 0 ? 0 : length - 1,
            PadMode.Circular => ((i % length) + length) % length,
            _ => -1,
        };
        return j < 0 ? T.Zero : x[j];
    }

    /// <summary>Windowed frames f0..f0+count−1 as z_j = x_{2j} + i·x_{2j+1}, one frame per lane (the last frame repeats in unused lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Gather(ReadOnlySpan<T> sig, int f0, int count, Span<Vector<T>> re, Span<Vector<T>> im)
    {
        int w = Vector<T>.Count, h = half;
        ref T dr = ref Unsafe.As<Vector<T>, T>(ref MemoryMarshal.GetReference(re));
        ref T di = ref Unsafe.As<Vector<T>, T>(ref MemoryMarshal.GetReference(im));
        ref T win = ref MemoryMarshal.GetArrayDataReference(window);
        for (int lane = 0; lane < w; lane++)
        {
            var src = sig.Slice((f0 + Math.Min(lane, count - 1)) * hop, nFft);
            ref T s = ref MemoryMarshal.GetReference(src);
            for (int j = 0, o = lane; j < h; j++, o += w)
            {
                Unsafe.Add(ref dr, o) = Unsafe.Add(ref s, 2 * j) * Unsafe.Add(ref win, 2 * j);
                Unsafe.Add(ref di, o) = Unsafe.Add(ref s, 2 * j + 1) * Unsafe.Add(ref win, 2 * j + 1);
            }
        }
    }

    /// <summary>Complex FFT of length n_fft/2 of every lane, Stockham: each stage reads one buffer pair and writes the other. True when the result ends in b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    bool Transform(Span<Vector<T>> aRe, Span<Vector<T>> aIm, Span<Vector<T>> bRe, Span<Vector<T>> bIm, Span<Vector<T>> scratch)
    {
        bool inB = false;
        for (int s = 0; s < radix.Length; s++)
        {
            int p = radix[s], l = span[s], m = half / (p * l);
            if (inB) Stage(s, p, l, m, bRe, bIm, aRe, aIm, scratch);
            else Stage(s, p, l, m, aRe, aIm, bRe, bIm, scratch);
            inB = !inB;
        }
        return inB;
    }

    /// <summary>
    /// One decimation-in-time stage: the input holds, at [k·S + j], bin k of the length-l DFT of the samples j, j+S, ... (S = p·m);
    /// the output holds, at [(k + q·l)·m + j], bin k + q·l of the length-p·l DFT of the samples j, j+m, ...
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Stage(int s, int p, int l, int m, Span<Vector<T>> inRe, Span<Vector<T>> inIm, Span<Vector<T>> outRe, Span<Vector<T>> outIm, Span<Vector<T>> scratch)
    {
        ref var xr = ref MemoryMarshal.GetReference(inRe); ref var xi = ref MemoryMarshal.GetReference(inIm);
        ref var yr = ref MemoryMarshal.GetReference(outRe); ref var yi = ref MemoryMarshal.GetReference(outIm);
        var tr = twRe[s]; var ti = twIm[s];
        int lm = l * m;
        switch (p)
        {
            case 2:
                for (int k = 0; k < l; k++)
                {
                    var w1r = new Vector<T>(tr[k]); var w1i = new Vector<T>(ti[k]);
                    for (int j = 0, i = k * 2 * m, o = k * m; j < m; j++, i++, o++)
                    {
                        var ar = Unsafe.Add(ref xr, i); var ai = Unsafe.Add(ref xi, i);
                        var cr = Unsafe.Add(ref xr, i + m); var ci = Unsafe.Add(ref xi, i + m);
                        var br = cr * w1r - ci * w1i; var bi = cr * w1i + ci * w1r;
                        Unsafe.Add(ref yr, o) = ar + br; Unsafe.Add(ref yi, o) = ai + bi;
                        Unsafe.Add(ref yr, o + lm) = ar - br; Unsafe.Add(ref yi, o + lm) = ai - bi;
                    }
                }
                break;
            case 3:
            {
                var sn = new Vector<T>(T.CreateChecked(Math.Sin(2 * Math.PI / 3))); var halfV = new Vector<T>(T.CreateChecked(0.5));
                for (int k = 0; k < l; k++)
                {
                    var w1r = new Vector<T>(tr[2 * k]); var w1i = new Vector<T>(ti[2 * k]);
                    var w2r = new Vector<T>(tr[2 * k + 1]); var w2i = new Vector<T>(ti[2 * k + 1]);
                    for (int j = 0, i = k * 3 * m, o = k * m; j < m; j++, i++, o++)
                    {
                        var x0r = Unsafe.Add(ref xr, i); var x0i = Unsafe.Add(ref xi, i);
                        var ur = Unsafe.Add(ref xr, i + m); var ui = Unsafe.Add(ref xi, i + m);
                        var x1r = ur * w1r - ui * w1i; var x1i = ur * w1i + ui * w1r;
                        ur = Unsafe.Add(ref xr, i + 2 * m); ui = Unsafe.Add(ref xi, i + 2 * m);
                        var x2r = ur * w2r - ui * w2i; var x2i = ur * w2i + ui * w2r;
                        var t1r = x1r + x2r; var t1i = x1i + x2i;
                        var br = sn * (x1r - x2r); var bi = sn * (x1i - x2i);
                        var ar = x0r - halfV * t1r; var ai = x0i - halfV * t1i;
                        Unsafe.Add(ref yr, o) = x0r + t1r; Unsafe.Add(ref yi, o) = x0i + t1i;
                        Unsafe.Add(ref yr, o + lm) = ar + bi; Unsafe.Add(ref yi, o + lm) = ai - br;
                        Unsafe.Add(ref yr, o + 2 * lm) = ar - bi; Unsafe.Add(ref yi, o + 2 * lm) = ai + br;
                    }
                }
                break;
            }
            case 4:
                for (int k = 0; k < l; k++)
                {
                    if (k == 0) { Radix4(ref xr, ref xi, ref yr, ref yi, 0, 0, m, lm, default, default, default, default, default, default, false); continue; }
                    Radix4(ref xr, ref xi, ref yr, ref yi, k * 4 * m, k * m, m, lm,
                        new Vector<T>(tr[3 * k]), new Vector<T>(ti[3 * k]), new Vector<T>(tr[3 * k + 1]), new Vector<T>(ti[3 * k + 1]),
                        new Vector<T>(tr[3 * k + 2]), new Vector<T>(ti[3 * k + 2]), true);
                }
                break;
            case 5:
                for (int k = 0; k < l; k++)
                {
                    if (k == 0) { Radix5(ref xr, ref xi, ref yr, ref yi, 0, 0, m, lm, tr, ti, 0, false); continue; }
                    Radix5(ref xr, ref xi, ref yr, ref yi, k * 5 * m, k * m, m, lm, tr, ti, 4 * k, true);
                }
                break;
            default:
                Generic(s, p, l, m, ref xr, ref xi, ref yr, ref yi, scratch);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Radix4(ref Vector<T> xr, ref Vector<T> xi, ref Vector<T> yr, ref Vector<T> yi, int i0, int o0, int m, int lm,
        Vector<T> w1r, Vector<T> w1i, Vector<T> w2r, Vector<T> w2i, Vector<T> w3r, Vector<T> w3i, bool twiddle)
    {
        for (int j = 0, i = i0, o = o0; j < m; j++, i++, o++)
        {
            var x0r = Unsafe.Add(ref xr, i); var x0i = Unsafe.Add(ref xi, i);
            var x1r = Unsafe.Add(ref xr, i + m); var x1i = Unsafe.Add(ref xi, i + m);
            var x2r = Unsafe.Add(ref xr, i + 2 * m); var x2i = Unsafe.Add(ref xi, i + 2 * m);
            var x3r = Unsafe.Add(ref xr, i + 3 * m); var x3i = Unsafe.Add(ref xi, i + 3 * m);
            if (twiddle)
            {
                (x1r, x1i) = (x1r * w1r - x1i * w1i, x1r * w1i + x1i * w1r);
                (x2r, x2i) = (x2r * w2r - x2i * w2i, x2r * w2i + x2i * w2r);
                (x3r, x3i) = (x3r * w3r - x3i * w3i, x3r * w3i + x3i * w3r);
            }
            var ar = x0r + x2r; var ai = x0i + x2i; var br = x0r - x2r; var bi = x0i - x2i;
            var cr = x1r + x3r; var ci = x1i + x3i; var dr = x1r - x3r; var di = x1i - x3i;
            Unsafe.Add(ref yr, o) = ar + cr; Unsafe.Add(ref yi, o) = ai + ci;
            Unsafe.Add(ref yr, o + lm) = br + di; Unsafe.Add(ref yi, o + lm) = bi - dr;          // b − i·d
            Unsafe.Add(ref yr, o + 2 * lm) = ar - cr; Unsafe.Add(ref yi, o + 2 * lm) = ai - ci;
            Unsafe.Add(ref yr, o + 3 * lm) = br - di; Unsafe.Add(ref yi, o + 3 * lm) = bi + dr;  // b + i·d
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Radix5(ref Vector<T> xr, ref Vector<T> xi, ref Vector<T> yr, ref Vector<T> yi, int i0, int o0, int m, int lm,
        T[] tr, T[] ti, int t0, bool twiddle)
    {
        var c1 = new Vector<T>(T.CreateChecked(Math.Cos(2 * Math.PI / 5))); var c2 = new Vector<T>(T.CreateChecked(Math.Cos(4 * Math.PI / 5)));
        var s1 = new Vector<T>(T.CreateChecked(Math.Sin(2 * Math.PI / 5))); var s2 = new Vector<T>(T.CreateChecked(Math.Sin(4 * Math.PI / 5)));
        Vector<T> w1r = default, w1i = default, w2r = default, w2i = default, w3r = default, w3i = default, w4r = default, w4i = default;
        if (twiddle)
        {
            w1r = new(tr[t0]); w1i = new(ti[t0]); w2r = new(tr[t0 + 1]); w2i = new(ti[t0 + 1]);
            w3r = new(tr[t0 + 2]); w3i = new(ti[t0 + 2]); w4r = new(tr[t0 + 3]); w4i = new(ti[t0 + 3]);
        }
        for (int j = 0, i = i0, o = o0; j < m; j++, i++, o++)
        {
            var x0r = Unsafe.Add(ref xr, i); var x0i = Unsafe.Add(ref xi, i);
            var x1r = Unsafe.Add(ref xr, i + m); var x1i = Unsafe.Add(ref xi, i + m);
            var x2r = Unsafe.Add(ref xr, i + 2 * m); var x2i = Unsafe.Add(ref xi, i + 2 * m);
            var x3r = Unsafe.Add(ref xr, i + 3 * m); var x3i = Unsafe.Add(ref xi, i + 3 * m);
            var x4r = Unsafe.Add(ref xr, i + 4 * m); var x4i = Unsafe.Add(ref xi, i + 4 * m);
            if (twiddle)
            {
                (x1r, x1i) = (x1r * w1r - x1i * w1i, x1r * w1i + x1i * w1r);
                (x2r, x2i) = (x2r * w2r - x2i * w2i, x2r * w2i + x2i * w2r);
                (x3r, x3i) = (x3r * w3r - x3i * w3i, x3r * w3i + x3i * w3r);
                (x4r, x4i) = (x4r * w4r - x4i * w4i, x4r * w4i + x4i * w4r);
            }
            var t1r = x1r + x4r; var t1i = x1i + x4i; var t2r = x2r + x3r; var t2i = x2i + x3i;
            var t3r = x1r - x4r; var t3i = x1i - x4i; var t4r = x2r - x3r; var t4i = x2i - x3i;
            var a1r = x0r + c1 * t1r + c2 * t2r; var a1i = x0i + c1 * t1i + c2 * t2i;
            var a2r = x0r + c2 * t1r + c1 * t2r; var a2i = x0i + c2 * t1i + c1 * t2i;
            var b1r = s1 * t3r + s2 * t4r; var b1i = s1 * t3i + s2 * t4i;
            var b2r = s2 * t3r - s1 * t4r; var b2i = s2 * t3i - s1 * t4i;
            Unsafe.Add(ref yr, o) = x0r + t1r + t2r; Unsafe.Add(ref yi, o) = x0i + t1i + t2i;
            Unsafe.Add(ref yr, o + lm) = a1r + b1i; Unsafe.Add(ref yi, o + lm) = a1i - b1r;            // a1 − i·b1
            Unsafe.Add(ref yr, o + 2 * lm) = a2r + b2i; Unsafe.Add(ref yi, o + 2 * lm) = a2i - b2r;    // a2 − i·b2
            Unsafe.Add(ref yr, o + 3 * lm) = a2r - b2i; Unsafe.Add(ref yi, o + 3 * lm) = a2i + b2r;    // a2 + i·b2
            Unsafe.Add(ref yr, o + 4 * lm) = a1r - b1i; Unsafe.Add(ref yi, o + 4 * lm) = a1i + b1r;    // a1 + i·b1
        }
    }

    /// <summary>Any radix p: twiddle the p inputs, then the O(p²) DFT with W_p^{(r·q) mod p} (index kept by addition, no modulo).</summary>
    void Generic(int s, int p, int l, int m, ref Vector<T> xr, ref Vector<T> xi, ref Vector<T> yr, ref Vector<T> yi, Span<Vector<T>> scratch)
    {
        var tr = twRe[s]; var ti = twIm[s]; var dr = dftRe[s]!; var di = dftIm[s]!;
        var ur = scratch[..p]; var ui = scratch.Slice(p, p);
        int lm = l * m;
        for (int k = 0; k < l; k++)
            for (int j = 0; j < m; j++)
            {
                int i = k * p * m + j, o = k * m + j;
                ur[0] = Unsafe.Add(ref xr, i); ui[0] = Unsafe.Add(ref xi, i);
                for (int r = 1; r < p; r++)
                {
                    var vr = Unsafe.Add(ref xr, i + r * m); var vi = Unsafe.Add(ref xi, i + r * m);
                    var wr = new Vector<T>(tr[k * (p - 1) + r - 1]); var wi = new Vector<T>(ti[k * (p - 1) + r - 1]);
                    ur[r] = vr * wr - vi * wi; ui[r] = vr * wi + vi * wr;
                }
                for (int q = 0; q < p; q++)
                {
                    Vector<T> accR = ur[0], accI = ui[0];
                    for (int r = 1, e = q; r < p; r++, e = e + q >= p ? e + q - p : e + q)
                    {
                        var wr = new Vector<T>(dr[e]); var wi = new Vector<T>(di[e]);
                        accR += ur[r] * wr - ui[r] * wi; accI += ur[r] * wi + ui[r] * wr;
                    }
                    Unsafe.Add(ref yr, o + q * lm) = accR; Unsafe.Add(ref yi, o + q * lm) = accI;
                }
            }
    }

    /// <summary>
    /// Real spectrum from the half-length complex one, fused with |·|^power: 2·X_k = (Z_k + conj Z_{H−k}) − i·W_N^k·(Z_k − conj Z_{H−k})
    /// (indices mod H); the factor 2^power is folded into the mel weights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Spectrum(Span<Vector<T>> zRe, Span<Vector<T>> zIm, Span<Vector<T>> pw)
    {
        ref var zr = ref MemoryMarshal.GetReference(zRe); ref var zi = ref MemoryMarshal.GetReference(zIm);
        ref var o = ref MemoryMarshal.GetReference(pw);
        int h = half;
        for (int k = 0; k < bins; k++)
        {
            int a = k == h ? 0 : k, c = k == 0 ? 0 : h - k;
            var ar = Unsafe.Add(ref zr, a); var ai = Unsafe.Add(ref zi, a);
            var cr = Unsafe.Add(ref zr, c); var ci = Unsafe.Add(ref zi, c);     // conj Z_{H−k} = (cr, −ci)
            var sr = ar + cr; var si = ai - ci;                                   // Z_k + conj Z_{H−k}
            var dr = ai + ci; var di = cr - ar;                                   // −i·(Z_k − conj Z_{H−k})
            var wr = new Vector<T>(splitRe[k]); var wi = new Vector<T>(splitIm[k]);
            var re = sr + wr * dr - wi * di; var im = si + wr * di + wi * dr;
            Unsafe.Add(ref o, k) = re * re + im * im;
        }
        if (power == 2.0) return;
        if (power == 1.0) { for (int k = 0; k < bins; k++) pw[k] = Vector.SquareRoot(pw[k]); return; }
        var e = T.CreateChecked(power / 2);
        var lanes = MemoryMarshal.Cast<Vector<T>, T>(pw);
        for (int i = 0; i < lanes.Length; i++) lanes[i] = T.Pow(lanes[i], e);
    }

    /// <summary>Each mel filter over its non-zero bins; frames f0.. are consecutive in the (n_mels, frames) output, so one vector store per filter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Mel(Span<Vector<T>> pw, T[] result, int outBase, int t, int count)
    {
        ref var pv = ref MemoryMarshal.GetReference(pw);
        ref T wt = ref MemoryMarshal.GetArrayDataReference(melWeights);
        for (int m = 0; m < nMels; m++)
        {
            var acc = Vector<T>.Zero;
            int start = melStart[m], n = melEnd[m] - start;
            ref T wm = ref Unsafe.Add(ref wt, melOffset[m]);
            for (int k = 0; k < n; k++) acc += Unsafe.Add(ref pv, start + k) * new Vector<T>(Unsafe.Add(ref wm, k));
            int o = outBase + m * t;
            if (count == Vector<T>.Count) acc.CopyTo(result.AsSpan(o));
            else for (int lane = 0; lane < count; lane++) result[o + lane] = acc[lane];
        }
    }
}
