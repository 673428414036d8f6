using System.Collections.Concurrent;
using System.Numerics;

namespace DeepSharp.Audio;

/// <summary>
/// Complex discrete Fourier transform of any length on split real/imaginary spans (torch.fft.fft / torch.fft.ifft with
/// norm="backward"): iterative radix-2 for powers of two, Bluestein's chirp-z for every other length (three power-of-two
/// transforms of length ≥ 2n-1). Plans (twiddles, bit reversal, chirps) are cached per length and thread-safe.
/// </summary>
public static class Fft
{
    static readonly ConcurrentDictionary<int, Radix2Plan> radix2Plans = new();
    static readonly ConcurrentDictionary<int, BluesteinPlan> bluesteinPlans = new();

    /// <summary>In-place forward transform X_k = Σ_n x_n e^{-2πikn/N} (torch.fft.fft).</summary>
    public static void Forward(Span<double> re, Span<double> im) => Transform(re, im, inverse: false);

    /// <summary>In-place inverse transform x_n = (1/N) Σ_k X_k e^{+2πikn/N} (torch.fft.ifft).</summary>
    public static void Inverse(Span<double> re, Span<double> im)
    {
        Transform(re, im, inverse: true);
        double scale = 1.0 / re.Length;
        for (int i = 0; i < re.Length; i++) { re[i] *= scale; im[i] *= scale; }
    }

    /// <summary>
    /// Real-input transform (torch.fft.rfft): writes the n/2+1 non-negative-frequency bins of <paramref name="input"/>.
    /// </summary>
    public static void Rfft(ReadOnlySpan<double> input, Span<double> re, Span<double> im)
    {
        int n = input.Length, bins = n / 2 + 1;
        if (re.Length < bins || im.Length < bins)
            throw new ArgumentException($"Fft.Rfft: outputs need {bins} bins for a length-{n} input, got {re.Length} and {im.Length}");
        var fr = new double[n]; var fi = new double[n];
        input.CopyTo(fr);
        Forward(fr, fi);
        fr.AsSpan(0, bins).CopyTo(re); fi.AsSpan(0, bins).CopyTo(im);
    }

    /// <summary>Unnormalised transform in either direction (the sign of the exponent only).</summary>
    public static void Transform(Span<double> re, Span<double> im, bool inverse)
    {
        if (re.Length != im.Length)
            throw new ArgumentException($"Fft: real and imaginary parts differ in length ({re.Length} vs {im.Length})", nameof(im));
        int n = re.Length;
        if (n <= 1) return;
        if (BitOperations.IsPow2(n)) radix2Plans.GetOrAdd(n, k => new Radix2Plan(k)).Run(re, im, inverse);
        else bluesteinPlans.GetOrAdd(n, k => new BluesteinPlan(k)).Run(re, im, inverse);
    }

    sealed class Radix2Plan
    {
        readonly int n;
        readonly int[] reversed;
        readonly double[] cos, sin;   // e^{-2πik/n} for k < n/2

        public Radix2Plan(int n)
        {
            this.n = n;
            int bits = BitOperations.Log2((uint)n);
            reversed = new int[n];
            for (int i = 0; i < n; i++) reversed[i] = (int)(ReverseBits((uint)i) >> (32 - bits));
            cos = new double[n / 2]; sin = new double[n / 2];
            for (int k = 0; k < n / 2; k++) { cos[k] = Math.Cos(2 * Math.PI * k / n); sin[k] = -Math.Sin(2 * Math.PI * k / n); }
        }

        static uint ReverseBits(uint v)
        {
            v = (v >> 1) & 0x55555555u | (v & 0x55555555u) << 1;
            v = (v >> 2) & 0x33333333u | (v & 0x33333333u) << 2;
            v = (v >> 4) & 0x0F0F0F0Fu | (v & 0x0F0F0F0Fu) << 4;
            v = (v >> 8) & 0x00FF00FFu | (v & 0x00FF00FFu) << 8;
            return v >> 16 | v << 16;
        }

        public void Run(Span<double> re, Span<double> im, bool inverse)
        {
            for (int i = 0; i < n; i++)
            {
                int j = reversed[i];
                if (j > i) { (re[i], re[j]) = (re[j], re[i]); (im[i], im[j]) = (im[j], im[i]); }
            }
            double sign = inverse ? -1 : 1;
            for (int size = 2; size <= n; size <<= 1)
            {
                int half = size >> 1, step = n / size;
                for (int start = 0; start < n; start += size)
                    for (int k = 0, t = 0; k < half; k++, t += step)
                    {
                        double wr = cos[t], wi = sign * sin[t];
                        int a = start + k, b = a + half;
                        double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                        re[b] = re[a] - xr; im[b] = im[a] - xi;
                        re[a] += xr; im[a] += xi;
                    }
            }
        }
    }

    /// <summary>X_k = conj(w_k) Σ_n (x_n conj(w_n)) w_{k-n} with the chirp w_m = e^{iπm²/N}: a convolution done by radix-2.</summary>
    sealed class BluesteinPlan
    {
        readonly int n, m;
        readonly double[] chirpRe, chirpIm;      // e^{-iπk²/n}
        readonly double[] kernelRe, kernelIm;    // FFT of the conjugate chirp, wrapped to length m

        public BluesteinPlan(int n)
        {
            this.n = n;
            m = (int)BitOperations.RoundUpToPowerOf2((uint)(2 * n - 1));
            chirpRe = new double[n]; chirpIm = new double[n];
            for (int k = 0; k < n; k++)
            {
                double angle = Math.PI * ((long)k * k % (2L * n)) / n;   // k² mod 2n keeps the angle exact for large k
                chirpRe[k] = Math.Cos(angle); chirpIm[k] = -Math.Sin(angle);
            }
            kernelRe = new double[m]; kernelIm = new double[m];
            kernelRe[0] = 1;
            for (int k = 1; k < n; k++)
            {
                kernelRe[k] = kernelRe[m - k] = chirpRe[k];
                kernelIm[k] = kernelIm[m - k] = -chirpIm[k];
            }
            Transform(kernelRe, kernelIm, inverse: false);
        }

        public void Run(Span<double> re, Span<double> im, bool inverse)
        {
            // The inverse transform is the forward one on the conjugated input, conjugated back.
            double sign = inverse ? -1 : 1;
            var ar = new double[m]; var ai = new double[m];
            for (int k = 0; k < n; k++)
            {
                double xr = re[k], xi = sign * im[k];
                ar[k] = xr * chirpRe[k] - xi * chirpIm[k];
                ai[k] = xr * chirpIm[k] + xi * chirpRe[k];
            }
            Transform(ar, ai, inverse: false);
            for (int k = 0; k < m; k++)
            {
                double pr = ar[k] * kernelRe[k] - ai[k] * kernelIm[k], pi = ar[k] * kernelIm[k] + ai[k] * kernelRe[k];
                ar[k] = pr; ai[k] = pi;
            }
            Transform(ar, ai, inverse: true);
            double scale = 1.0 / m;
            for (int k = 0; k < n; k++)
            {
                double cr = ar[k] * scale, ci = ai[k] * scale;
                re[k] = cr * chirpRe[k] - ci * chirpIm[k];
                im[k] = sign * (cr * chirpIm[k] + ci * chirpRe[k]);
            }
        }
    }
}
