using DeepSharp.NN;

namespace DeepSharp.Audio;

/// <summary>
/// Power spectrogram module (torchaudio.transforms.Spectrogram(n_fft=400, win_length=None, hop_length=None, pad=0,
/// window_fn=hann_window, power=2.0, normalized=False, center=True, pad_mode="reflect", onesided=True)): win_length
/// defaults to n_fft and hop_length to win_length // 2 (torchaudio's default, not torch.stft's n_fft // 4).
/// (..., time) → (..., n_fft/2+1, frames). Differentiable.
/// </summary>
public sealed class Spectrogram : Module<Tensor, Tensor>
{
    /// <summary>n_fft, win_length, hop_length and pad as torchaudio names them.</summary>
    public int NFft { get; }
    /// <summary>Window length (win_length).</summary>
    public int WinLength { get; }
    /// <summary>Hop between frames (hop_length).</summary>
    public int HopLength { get; }
    /// <summary>Zero padding on both sides before the STFT (pad).</summary>
    public int Pad { get; }
    /// <summary>Exponent of the magnitude (power); 2 gives power, 1 magnitude.</summary>
    public double Power { get; }
    /// <summary>Divides by the window's L2 norm (normalized=True).</summary>
    public bool Normalized { get; }
    /// <summary>Centre padding (center) and its mode (pad_mode).</summary>
    public bool Center { get; }
    /// <summary>Padding mode used when centring (pad_mode).</summary>
    public PadMode PadMode { get; }
    /// <summary>The window (the window buffer): a periodic Hann window of win_length unless one is given.</summary>
    public Tensor Window { get; }

    /// <summary>Creates the transform (torchaudio.transforms.Spectrogram.__init__).</summary>
    public Spectrogram(int nFft = 400, int? winLength = null, int? hopLength = null, int pad = 0, double power = 2.0,
        bool normalized = false, bool center = true, PadMode padMode = PadMode.Reflect, Tensor? window = null)
    {
        if (nFft < 1) throw new ArgumentException($"Spectrogram: nFft must be positive, got {nFft}", nameof(nFft));
        NFft = nFft; WinLength = winLength ?? nFft; HopLength = hopLength ?? WinLength / 2; Pad = pad;
        Power = power; Normalized = normalized; Center = center; PadMode = padMode;
        Window = window ?? Spectral.HannWindow(WinLength, dtype: DType.Float64);   // cast to the input's dtype per call
    }

    FastMel<float>? fast32;
    FastMel<double>? fast64;

    /// <summary>
    /// (..., time) → (..., n_fft/2+1, frames) (torchaudio.transforms.Spectrogram.forward). When no gradient is needed and
    /// n_fft is even (and pad is 0, normalized false), the fused real-FFT path of MelSpectrogram computes it with an
    /// identity filter bank, in the input's precision.
    /// </summary>
    public override Tensor Forward(Tensor waveform)
    {
        ArgumentNullException.ThrowIfNull(waveform);
        if (!FastSpectral.Applies(this, waveform))
            return Spectral.Spectrogram(waveform, NFft, HopLength, WinLength, Window.To(waveform.DType), Power, Pad, Center, PadMode, Normalized);
        int bins = NFft / 2 + 1;
        return FastSpectral.Run(this, waveform, ref fast32, ref fast64, () =>
        {
            var identity = new double[bins * bins];
            for (int k = 0; k < bins; k++) identity[k * bins + k] = 1;
            return identity;
        }, bins);
    }
}

/// <summary>
/// Mel filter bank applied to a spectrogram (torchaudio.transforms.MelScale(n_mels=128, sample_rate=16000, f_min=0,
/// f_max=None, n_stft=201, norm=None, mel_scale="htk")): (..., n_stft, time) → (..., n_mels, time).
/// </summary>
public sealed class MelScale : Module<Tensor, Tensor>
{
    /// <summary>The (n_stft, n_mels) filter bank (the fb buffer).</summary>
    public Tensor FilterBank { get; }

    /// <summary>Creates the transform (torchaudio.transforms.MelScale.__init__); f_max defaults to sample_rate / 2.</summary>
    public MelScale(int nMels = 128, int sampleRate = 16000, double fMin = 0, double? fMax = null, int nStft = 201,
        MelNorm norm = MelNorm.None, MelScaleKind melScale = MelScaleKind.Htk)
    {
        FilterBank = Spectral.MelFilterBank(nStft, fMin, fMax ?? sampleRate / 2.0, nMels, sampleRate, norm, melScale, DType.Float64);
    }

    /// <summary>(..., n_stft, time) → (..., n_mels, time) (torchaudio.transforms.MelScale.forward).</summary>
    public override Tensor Forward(Tensor specgram) => Spectral.ApplyMel(specgram, FilterBank);
}

/// <summary>
/// Spectrogram followed by MelScale (torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, win_length=None,
/// hop_length=None, f_min=0, f_max=None, pad=0, n_mels=128, power=2.0, normalized=False, center=True,
/// pad_mode="reflect", norm=None, mel_scale="htk")): (..., time) → (..., n_mels, frames). Differentiable.
/// </summary>
public sealed class MelSpectrogram : Module<Tensor, Tensor>
{
    /// <summary>The spectrogram stage (spectrogram).</summary>
    public Spectrogram Spectrogram { get; }
    /// <summary>The mel stage (mel_scale).</summary>
    public MelScale MelScale { get; }

    /// <summary>Creates the transform (torchaudio.transforms.MelSpectrogram.__init__).</summary>
    public MelSpectrogram(int sampleRate = 16000, int nFft = 400, int? winLength = null, int? hopLength = null, double fMin = 0,
        double? fMax = null, int pad = 0, int nMels = 128, double power = 2.0, bool normalized = false, bool center = true,
        PadMode padMode = PadMode.Reflect, MelNorm norm = MelNorm.None, MelScaleKind melScale = MelScaleKind.Htk)
    {
        Spectrogram = new Spectrogram(nFft, winLength, hopLength, pad, power, normalized, center, padMode);
        MelScale = new MelScale(nMels, sampleRate, fMin, fMax, nFft / 2 + 1, norm, melScale);
    }

    FastMel<float>? fast32;
    FastMel<double>? fast64;

    /// <summary>
    /// (..., time) → (..., n_mels, frames) (torchaudio.transforms.MelSpectrogram.forward). When no gradient is needed
    /// (under <see cref="Autograd.NoGrad"/> or for an input that does not require one) and n_fft is even, a fused
    /// real-FFT path computes the same values in the input's precision without recording tensor ops (docs/audio.md: speed).
    /// </summary>
    public override Tensor Forward(Tensor waveform)
    {
        ArgumentNullException.ThrowIfNull(waveform);
        if (!FastSpectral.Applies(Spectrogram, waveform)) return MelScale.Call(Spectrogram.Call(waveform));
        var fb = MelScale.FilterBank;
        return FastSpectral.Run(Spectrogram, waveform, ref fast32, ref fast64, () => fb.Detach().To(DType.Float64).Contiguous().ToArray<double>(), fb.Size(1));
    }
}

/// <summary>The fused no-gradient path shared by Spectrogram (identity filter bank) and MelSpectrogram (<see cref="FastMel{T}"/>).</summary>
internal static class FastSpectral
{
    /// <summary>Whether the fused path computes this call: no gradient needed, even n_fft, no extra pad, not normalised, a 1-D window of win_length ≤ n_fft, power &gt; 0.</summary>
    public static bool Applies(Spectrogram sp, Tensor waveform) =>
        (!Autograd.IsGradEnabled || !waveform.RequiresGrad) && waveform.IsFloatingPoint && waveform.Rank >= 1 && sp.Pad == 0 && !sp.Normalized
        && FastMel<float>.Supports(sp.NFft) && sp.Window.Rank == 1 && sp.Window.Size(0) == sp.WinLength && sp.WinLength <= sp.NFft && sp.Power > 0;

    /// <summary>(..., time) → (..., nOut, frames) with the (n_fft/2+1, nOut) <paramref name="filterBank"/> (made on first use), in the input's precision.</summary>
    public static Tensor Run(Spectrogram sp, Tensor waveform, ref FastMel<float>? fast32, ref FastMel<double>? fast64, Func<double[]> filterBank, int nOut)
    {
        var shape = waveform.Shape.ToArray();
        int length = shape[^1], batch = length == 0 ? 0 : waveform.NumEl / length;
        var x = waveform.Detach().Contiguous();
        int[] OutShape(int frames) => [.. shape[..^1], nOut, frames];
        if (x.DType == DType.Float64)
        {
            fast64 ??= Create<double>(sp, filterBank(), nOut);
            var r64 = fast64.Compute(x.AsReadOnlySpan<double>(), batch, length, sp.Center, sp.PadMode, out int frames64);
            return Tensor.FromArray(r64, OutShape(frames64));
        }
        fast32 ??= Create<float>(sp, filterBank(), nOut);
        var r32 = fast32.Compute(x.AsReadOnlySpan<float>(), batch, length, sp.Center, sp.PadMode, out int frames32);
        return Tensor.FromArray(r32, OutShape(frames32));
    }

    static FastMel<T> Create<T>(Spectrogram sp, double[] filterBank, int nOut) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var window = new double[sp.NFft];
        Array.Copy(sp.Window.Detach().To(DType.Float64).Contiguous().ToArray<double>(), 0, window, (sp.NFft - sp.WinLength) / 2, sp.WinLength);
        return new FastMel<T>(sp.NFft, sp.HopLength, window, filterBank, nOut, sp.Power);
    }
}

/// <summary>
/// Power or amplitude to decibels (torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)): 10·log10 for
/// power, 20·log10 for amplitude, amin 1e-10, reference 1.
/// </summary>
public sealed class AmplitudeToDB : Module<Tensor, Tensor>
{
    /// <summary>10 for stype="power", 20 for "magnitude".</summary>
    public double Multiplier { get; }
    /// <summary>The dynamic range kept below the per-item maximum (top_db); null keeps everything.</summary>
    public double? TopDb { get; }

    /// <summary>Creates the transform (torchaudio.transforms.AmplitudeToDB.__init__); <paramref name="power"/> is stype=="power".</summary>
    public AmplitudeToDB(bool power = true, double? topDb = null)
    {
        if (topDb is < 0) throw new ArgumentException($"AmplitudeToDB: topDb must be non-negative, got {topDb}", nameof(topDb));
        Multiplier = power ? 10.0 : 20.0; TopDb = topDb;
    }

    /// <summary>(torchaudio.transforms.AmplitudeToDB.forward).</summary>
    public override Tensor Forward(Tensor x) => Spectral.AmplitudeToDb(x, Multiplier, 1e-10, 0.0, TopDb);
}

/// <summary>
/// Mel-frequency cepstral coefficients (torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=40, dct_type=2,
/// norm="ortho", log_mels=False, melkwargs=None)): a MelSpectrogram with its defaults, decibels with top_db 80 (or
/// log(mel + 1e-6) when logMels), then a DCT-II over the mel axis. (..., time) → (..., n_mfcc, frames).
/// </summary>
public sealed class Mfcc : Module<Tensor, Tensor>
{
    /// <summary>The mel spectrogram stage (MelSpectrogram).</summary>
    public MelSpectrogram MelSpectrogram { get; }
    readonly AmplitudeToDB toDb = new(power: true, topDb: 80.0);
    /// <summary>The (n_mels, n_mfcc) DCT matrix (the dct_mat buffer).</summary>
    public Tensor DctMatrix { get; }
    /// <summary>log(mel + 1e-6) instead of decibels (log_mels).</summary>
    public bool LogMels { get; }

    /// <summary>Creates the transform (torchaudio.transforms.MFCC.__init__); <paramref name="melSpectrogram"/> stands for melkwargs.</summary>
    public Mfcc(int sampleRate = 16000, int nMfcc = 40, bool ortho = true, bool logMels = false, MelSpectrogram? melSpectrogram = null)
    {
        MelSpectrogram = melSpectrogram ?? new MelSpectrogram(sampleRate);
        int nMels = MelSpectrogram.MelScale.FilterBank.Size(1);
        if (nMfcc > nMels) throw new ArgumentException($"MFCC: nMfcc={nMfcc} cannot exceed n_mels={nMels}", nameof(nMfcc));
        DctMatrix = Spectral.CreateDct(nMfcc, nMels, ortho, DType.Float64);
        LogMels = logMels;
    }

    /// <summary>(..., time) → (..., n_mfcc, frames) (torchaudio.transforms.MFCC.forward).</summary>
    public override Tensor Forward(Tensor waveform)
    {
        var mel = MelSpectrogram.Call(waveform);
        mel = LogMels ? (mel + 1e-6).Log() : toDb.Call(mel);
        return mel.Transpose(-1, -2).MatMul(DctMatrix.To(mel.DType)).Transpose(-1, -2);
    }
}
