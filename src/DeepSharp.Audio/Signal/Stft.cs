namespace DeepSharp.Audio;

/// <summary>How a signal is extended past its ends before framing (torch.stft's pad_mode, F.pad's mode).</summary>
public enum PadMode
{
    /// <summary>Mirror without repeating the edge sample: d c b | a b c d | c b a ("reflect", torch.stft's default).</summary>
    Reflect,
    /// <summary>Zeros ("constant").</summary>
    Constant,
    /// <summary>The edge sample repeated ("replicate").</summary>
    Replicate,
    /// <summary>Wrap around ("circular").</summary>
    Circular,
}

/// <summary>
/// Short-time Fourier transforms as recorded tensor ops, so they are differentiable to any order: the frames are one
/// gather (padding folded into the index map) and the windowed DFT of every frame is one GEMM against a cached basis
/// (so gradients flow through it). When no gradient is needed, the Spectrogram and MelSpectrogram modules take a fused
/// path instead (FastMel: a mixed-radix real FFT of 8 frames at once in SIMD lanes, then power and the mel filters;
/// docs/audio.md), which is tens of times faster. Complex
/// results are real tensors with a trailing dimension of 2 (torch.view_as_real of return_complex=True).
/// </summary>
public static partial class Spectral
{
    /// <summary>
    /// Short-time Fourier transform (torch.stft(input, n_fft, hop_length, win_length, window, center, pad_mode,
    /// normalized, onesided, return_complex=True) followed by torch.view_as_real). <paramref name="input"/> is (L) or
    /// (..., L); the result is (..., n_freq, n_frames, 2) with n_freq = n_fft/2+1 when onesided. Defaults as torch:
    /// hop n_fft/4, win_length n_fft, a rectangular window of ones when <paramref name="window"/> is null (centred and
    /// zero-padded to n_fft when shorter), centre padding of n_fft/2 by reflection. normalized multiplies by n_fft^-1/2.
    /// </summary>
    public static Tensor Stft(Tensor input, int nFft, int? hopLength = null, int? winLength = null, Tensor? window = null,
        bool center = true, PadMode padMode = PadMode.Reflect, bool normalized = false, bool onesided = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = StftPlan.Create(input, nFft, hopLength, winLength, window, onesided, "Stft");
        return plan.Forward(input, center, padMode, normalized);
    }

    /// <summary>
    /// Inverse short-time Fourier transform by windowed overlap-add (torch.istft(torch.view_as_complex(input), n_fft,
    /// hop_length, win_length, window, center, normalized, onesided, length)). <paramref name="input"/> is
    /// (..., n_freq, n_frames, 2); the result is (..., L). Throws when the squared window's overlap-add vanishes
    /// somewhere (torch's NOLA check). Differentiable.
    /// </summary>
    public static Tensor Istft(Tensor input, int nFft, int? hopLength = null, int? winLength = null, Tensor? window = null,
        bool center = true, bool normalized = false, bool onesided = true, int? length = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 3 || input.Size(-1) != 2)
            throw new ArgumentException($"Istft: input must be (..., n_freq, n_frames, 2) (a view_as_real spectrogram), got shape {Shape(input)}", nameof(input));
        var plan = StftPlan.Create(input, nFft, hopLength, winLength, window, onesided, "Istft");
        if (input.Size(-3) != plan.Bins)
            throw new ArgumentException($"Istft: input has {input.Size(-3)} frequency bins but n_fft={nFft} (onesided={onesided}) needs {plan.Bins}; shape {Shape(input)}", nameof(input));
        return plan.Inverse(input, center, normalized, length);
    }

    /// <summary>A periodic Hann window (torch.hann_window(length, periodic=True)): 0.5 - 0.5 cos(2πn/length).</summary>
    public static Tensor HannWindow(int length, bool periodic = true, DType dtype = DType.Float32)
    {
        if (length < 1) throw new ArgumentException($"HannWindow: length must be positive, got {length}", nameof(length));
        var w = new double[length];
        int denominator = periodic ? length : length - 1;
        for (int n = 0; n < length; n++) w[n] = length == 1 ? 1 : 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / denominator);
        return Tensor.FromArray(w, [length]).To(dtype);
    }

    internal static string Shape(Tensor t) => "[" + string.Join(", ", t.Shape) + "]";
}
