using System.Runtime.CompilerServices;

namespace DeepSharp.Audio;

/// <summary>
/// The fused MelSpectrogram used when no gradient is needed: per frame, a gather with the centre padding folded in and
/// the window applied, a real FFT of even length N done as one complex FFT of length N/2 (mixed radix, recursive, with
/// the split into the real spectrum afterwards), |X|² (or |X|), and the mel filter bank applied through each filter's
/// non-zero bin range. Everything in float64 on plain arrays; no tensor op per frame.
/// </summary>
internal sealed class FastMel
{
    readonly int nFft, half, hop, bins, nMels;
    readonly int[] factors;
    readonly double[] window, twRe, twIm, splitRe, splitIm;   // window (n_fft); W_half^j; W_N^k
    readonly double[] fb;                                      // (bins, n_mels)
    readonly int[] melStart, melEnd;                           // non-zero bin range per mel filter

    public FastMel(int nFft, int hop, double[] window, double[] filterBank, int nMels)
    {
        this.nFft = nFft; half = nFft / 2; this.hop = hop; bins = half + 1; this.nMels = nMels; this.window = window; fb = filterBank;
        var f = new List<int>();
        int rest = half;
        foreach (int p in new[] { 4, 2, 3, 5 }) while (rest % p == 0) { f.Add(p); rest /= p; }
        for (int p = 7; rest > 1; p += 2) while (rest % p == 0) { f.Add(p); rest /= p; }
        factors = [.. f];
        twRe = new double[half]; twIm = new double[half];
        for (int j = 0; j < half; j++) { double a = -2 * Math.PI * j / half; twRe[j] = Math.Cos(a); twIm[j] = Math.Sin(a); }
        splitRe = new double[bins]; splitIm = new double[bins];
        for (int k = 0; k < bins; k++) { double a = -2 * Math.PI * k / nFft; splitRe[k] = Math.Cos(a); splitIm[k] = Math.Sin(a); }
        melStart = new int[nMels]; melEnd = new int[nMels];
        for (int m = 0; m < nMels; m++)
        {
            int s = 0, e = 0;
            for (int k = 0; k < bins; k++) if (fb[k * nMels + m] != 0) { if (e == 0) s = k; e = k + 1; }
            melStart[m] = s; melEnd[m] = e;
        }
    }

    /// <summary>Whether the fused path handles this configuration (even n_fft of at least 4).</summary>
    public static bool Supports(int nFft) => nFft >= 4 && nFft % 2 == 0;

    /// <summary>(B, L) samples → (B, n_mels, frames) mel power (power 2) or magnitude (power 1) spectrogram, centre padding by <paramref name="padMode"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // fully optimised from the first call: no tier-0 code in a benchmark or a short run
    public double[] Compute(double[] x, int batch, int length, bool center, PadMode padMode, double power, out int frames)
    {
        int pad = center ? nFft / 2 : 0;
        if (center && padMode == PadMode.Reflect && pad >= length)
            throw new ArgumentException($"MelSpectrogram: reflect padding of {pad} needs a signal longer than {pad} samples, got length {length}", "waveform");
        int padded = length + 2 * pad;
        if (padded < nFft) throw new ArgumentException($"MelSpectrogram: n_fft={nFft} is longer than the (padded) signal of {padded} samples", "waveform");
        int t = frames = 1 + (padded - nFft) / hop;
        var result = new double[batch * nMels * t];
        var zr = new double[half]; var zi = new double[half]; var outRe = new double[half]; var outIm = new double[half];
        var scratchRe = new double[factors.Length == 0 ? 1 : factors.Max()]; var scratchIm = new double[scratchRe.Length];
        var spec = new double[bins];
        for (int b = 0; b < batch; b++)
        {
            int baseIndex = b * length;
            for (int frame = 0; frame < t; frame++)
            {
                int start = frame * hop - pad;
                bool inside = start >= 0 && start + nFft <= length;
                for (int j = 0; j < half; j++)
                {
                    int i0 = start + 2 * j, i1 = i0 + 1;
                    double v0 = inside ? x[baseIndex + i0] : Sample(x, baseIndex, i0, length, padMode);
                    double v1 = inside ? x[baseIndex + i1] : Sample(x, baseIndex, i1, length, padMode);
                    zr[j] = v0 * window[2 * j]; zi[j] = v1 * window[2 * j + 1];
                }
                Fft(zr, zi, 0, 1, outRe, outIm, 0, half, 0, scratchRe, scratchIm);
                for (int k = 0; k < bins; k++)
                {
                    int a = k == half ? 0 : k, c = k == 0 ? 0 : half - k;
                    double ar = outRe[a], ai = outIm[a], cr = outRe[c], ci = -outIm[c];   // Z[k], conj(Z[H-k])
                    double er = 0.5 * (ar + cr), ei = 0.5 * (ai + ci);                  // even part
                    double or = 0.5 * (ai - ci), oi = -0.5 * (ar - cr);                 // odd part: (Z - conj)/(2i)
                    double re = er + splitRe[k] * or - splitIm[k] * oi, im = ei + splitRe[k] * oi + splitIm[k] * or;
                    double p2 = re * re + im * im;
                    spec[k] = power == 2.0 ? p2 : power == 1.0 ? Math.Sqrt(p2) : Math.Pow(p2, power / 2);
                }
                int outBase = b * nMels * t + frame;
                for (int m = 0; m < nMels; m++)
                {
                    double s = 0;
                    for (int k = melStart[m]; k < melEnd[m]; k++) s += spec[k] * fb[k * nMels + m];
                    result[outBase + m * t] = s;
                }
            }
        }
        return result;
    }

    static double Sample(double[] x, int baseIndex, int i, int length, PadMode mode)
    {
        if (i >= 0 && i < length) return x[baseIndex + i];
        int j = mode switch
        {
            PadMode.Reflect => i < 0 ? -i : 2 * (length - 1) - i,
            PadMode.Replicate => i < 0 ? 0 : length - 1,
            PadMode.Circular => ((i % length) + length) % length,
            _ => -1,
        };
        return j < 0 ? 0 : x[baseIndex + j];
    }

    /// <summary>Complex DFT of n points read at inOff + stride·j, written to out[outOff..outOff+n): decimation in time by factors[fi..].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Fft(double[] re, double[] im, int inOff, int stride, double[] ore, double[] oim, int outOff, int n, int fi, double[] sr, double[] si)
    {
        if (n == 1) { ore[outOff] = re[inOff]; oim[outOff] = im[inOff]; return; }
        int p = factors[fi], m = n / p, step = half / n;
        for (int r = 0; r < p; r++) Fft(re, im, inOff + r * stride, stride * p, ore, oim, outOff + r * m, m, fi + 1, sr, si);
        for (int k = 0; k < m; k++)
        {
            for (int r = 0; r < p; r++)   // Y_r[k] · W_n^{rk}
            {
                double yr = ore[outOff + r * m + k], yi = oim[outOff + r * m + k];
                int e = r * k * step;
                sr[r] = yr * twRe[e] - yi * twIm[e]; si[r] = yr * twIm[e] + yi * twRe[e];
            }
            if (p == 2)
            {
                ore[outOff + k] = sr[0] + sr[1]; oim[outOff + k] = si[0] + si[1];
                ore[outOff + m + k] = sr[0] - sr[1]; oim[outOff + m + k] = si[0] - si[1];
            }
            else if (p == 4)
            {
                double ar = sr[0] + sr[2], ai = si[0] + si[2], br = sr[0] - sr[2], bi = si[0] - si[2];
                double cr = sr[1] + sr[3], ci = si[1] + si[3], dr = sr[1] - sr[3], di = si[1] - si[3];
                ore[outOff + k] = ar + cr; oim[outOff + k] = ai + ci;
                ore[outOff + m + k] = br + di; oim[outOff + m + k] = bi - dr;           // b − i·d
                ore[outOff + 2 * m + k] = ar - cr; oim[outOff + 2 * m + k] = ai - ci;
                ore[outOff + 3 * m + k] = br - di; oim[outOff + 3 * m + k] = bi + dr;   // b + i·d
            }
            else
            {
                int pStep = half / p;
                for (int q = 0; q < p; q++)
                {
                    double accR = 0, accI = 0;
                    for (int r = 0; r < p; r++)
                    {
                        int e = (r * q % p) * pStep;
                        accR += sr[r] * twRe[e] - si[r] * twIm[e]; accI += sr[r] * twIm[e] + si[r] * twRe[e];
                    }
                    ore[outOff + q * m + k] = accR; oim[outOff + q * m + k] = accI;
                }
            }
        }
    }
}
