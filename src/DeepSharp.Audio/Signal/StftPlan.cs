namespace DeepSharp.Audio;

/// <summary>
/// The fixed parts of one STFT configuration: the window padded to n_fft and the real DFT bases with the window folded
/// in. Forward: frames (B, T, n_fft) · basis (n_fft, 2F) → (B, T, F, 2). Inverse: the transposed map, then overlap-add.
/// </summary>
internal sealed class StftPlan
{
    public readonly int NFft, Hop, Bins;
    public readonly bool Onesided;
    readonly double[] window;            // length n_fft, zero outside the centred win_length
    readonly DType dtype;
    Tensor? forwardBasis, inverseBasis;

    StftPlan(int nFft, int hop, double[] window, bool onesided, DType dtype)
    {
        NFft = nFft; Hop = hop; this.window = window; Onesided = onesided; this.dtype = dtype;
        Bins = onesided ? nFft / 2 + 1 : nFft;
    }

    public static StftPlan Create(Tensor like, int nFft, int? hopLength, int? winLength, Tensor? window, bool onesided, string op)
    {
        if (!like.IsFloatingPoint) throw new ArgumentException($"{op}: input must be float32 or float64, got {like.DType} of shape {Spectral.Shape(like)}", "input");
        if (nFft < 1) throw new ArgumentException($"{op}: n_fft must be positive, got {nFft}", nameof(nFft));
        int win = winLength ?? nFft, hop = hopLength ?? nFft / 4;
        if (win < 1 || win > nFft) throw new ArgumentException($"{op}: win_length must be in [1, n_fft={nFft}], got {win}", nameof(winLength));
        if (hop < 1) throw new ArgumentException($"{op}: hop_length must be positive, got {hop}", nameof(hopLength));
        var w = new double[nFft];
        int left = (nFft - win) / 2;
        if (window is null) for (int i = 0; i < win; i++) w[left + i] = 1;
        else
        {
            if (window.Rank != 1 || window.Size(0) != win)
                throw new ArgumentException($"{op}: window must be 1-D of win_length={win}, got shape {Spectral.Shape(window)}", nameof(window));
            var values = window.Detach().To(DType.Float64).Contiguous().ToArray<double>();
            Array.Copy(values, 0, w, left, win);
        }
        return new StftPlan(nFft, hop, w, onesided, like.DType);
    }

    /// <summary>Window-folded DFT basis (n_fft, 2·bins): columns (w cos θ, −w sin θ) per bin, θ = 2πkn/N.</summary>
    Tensor ForwardBasis() => forwardBasis ??= Basis((n, k, c, s) => (window[n] * c, -window[n] * s), NFft, 2 * Bins, rowsAreSamples: true);

    /// <summary>
    /// Real inverse DFT (2·bins, n_fft) with the window folded in: x_n = (1/N) Σ_k a_k (Re X_k cos θ − Im X_k sin θ),
    /// a_k = 2 for the bins whose mirror image a onesided spectrum leaves out.
    /// </summary>
    Tensor InverseBasis() => inverseBasis ??= Basis((n, k, c, s) =>
    {
        double a = !Onesided || k == 0 || 2 * k == NFft ? 1 : 2;
        return (window[n] * a * c / NFft, -window[n] * a * s / NFft);
    }, 2 * Bins, NFft, rowsAreSamples: false);

    Tensor Basis(Func<int, int, double, double, (double, double)> entry, int rows, int cols, bool rowsAreSamples)
    {
        var data = new double[rows * cols];
        for (int n = 0; n < NFft; n++)
            for (int k = 0; k < Bins; k++)
            {
                double angle = 2 * Math.PI * ((long)k * n % NFft) / NFft;
                var (re, im) = entry(n, k, Math.Cos(angle), Math.Sin(angle));
                if (rowsAreSamples) { data[n * cols + 2 * k] = re; data[n * cols + 2 * k + 1] = im; }
                else { data[2 * k * cols + n] = re; data[(2 * k + 1) * cols + n] = im; }
            }
        return Tensor.FromArray(data, [rows, cols]).To(dtype);
    }

    public Tensor Forward(Tensor input, bool center, PadMode padMode, bool normalized)
    {
        var batchShape = input.Shape.ToArray()[..^1];
        int length = input.Size(-1);
        var x = input.Reshape(-1, length);                                   // (B, L)
        int pad = center ? NFft / 2 : 0;
        if (center && padMode == PadMode.Reflect && pad >= length)
            throw new ArgumentException($"Stft: reflect padding of {pad} needs a signal longer than {pad} samples, got length {length} (shape {Spectral.Shape(input)})", nameof(input));
        int padded = length + 2 * pad;
        if (padded < NFft)
            throw new ArgumentException($"Stft: n_fft={NFft} is longer than the (padded) signal of {padded} samples (shape {Spectral.Shape(input)})", nameof(input));
        int frames = 1 + (padded - NFft) / Hop;
        var index = new long[frames * NFft];
        for (int t = 0; t < frames; t++)
            for (int n = 0; n < NFft; n++) index[t * NFft + n] = Source(t * Hop + n - pad, length, padMode);
        if (padMode == PadMode.Constant && center) x = Tensor.Cat([x, Tensor.Zeros([x.Size(0), 1], x.DType)], 1);  // index L reads 0
        var framed = x.IndexSelect(1, Tensor.FromArray(index, [index.Length])).Reshape(-1, frames, NFft);   // (B, T, N)
        var basis = ForwardBasis();
        if (normalized) basis = basis * (1.0 / Math.Sqrt(NFft));
        var spec = framed.MatMul(basis).Reshape(-1, frames, Bins, 2).Permute(0, 2, 1, 3);   // (B, F, T, 2)
        return spec.Reshape([.. batchShape, Bins, frames, 2]);
    }

    static long Source(int i, int length, PadMode mode)
    {
        if (i >= 0 && i < length) return i;
        return mode switch
        {
            PadMode.Reflect => i < 0 ? -i : 2 * (length - 1) - i,
            PadMode.Replicate => i < 0 ? 0 : length - 1,
            PadMode.Circular => ((i % length) + length) % length,
            _ => length,
        };
    }

    public Tensor Inverse(Tensor input, bool center, bool normalized, int? length)
    {
        var batchShape = input.Shape.ToArray()[..^3];
        int frames = input.Size(-2);
        var spec = input.Reshape(-1, Bins, frames, 2).Permute(0, 2, 1, 3).Reshape(-1, frames, 2 * Bins);   // (B, T, 2F)
        var basis = InverseBasis();
        if (normalized) basis = basis * Math.Sqrt(NFft);
        var framed = spec.MatMul(basis);                                     // (B, T, N), windowed
        int expected = NFft + Hop * (frames - 1);
        var index = new long[frames * NFft];
        var envelope = new double[expected];
        for (int t = 0; t < frames; t++)
            for (int n = 0; n < NFft; n++) { index[t * NFft + n] = t * Hop + n; envelope[t * Hop + n] += window[n] * window[n]; }
        var signal = Tensor.Zeros([framed.Size(0), expected], framed.DType)
            .IndexAdd(1, Tensor.FromArray(index, [index.Length]), framed.Reshape(framed.Size(0), -1));
        int start = center ? NFft / 2 : 0;
        int end = length is { } l ? start + l : center ? expected - NFft / 2 : expected;
        int kept = Math.Min(end, expected) - start;
        if (kept < 0) kept = 0;
        for (int i = start; i < start + kept; i++)
            if (Math.Abs(envelope[i]) < 1e-11)
                throw new ArgumentException($"Istft: the window's squared overlap-add is zero at sample {i} (window overlap add min); hop {Hop} is too large for this window", "window");
        var env = Tensor.FromArray(envelope[start..(start + kept)], [kept]).To(framed.DType);
        var output = signal.Narrow(1, start, kept) / env;
        if (length is { } want && want > kept) output = Tensor.Cat([output, Tensor.Zeros([output.Size(0), want - kept], output.DType)], 1);
        return output.Reshape([.. batchShape, output.Size(1)]);
    }
}
