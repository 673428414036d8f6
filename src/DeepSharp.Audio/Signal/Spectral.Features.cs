namespace DeepSharp.Audio;

/// <summary>Mel scales (torchaudio's mel_scale argument).</summary>
public enum MelScaleKind
{
    /// <summary>HTK: m = 2595 log10(1 + f/700) ("htk", torchaudio's default).</summary>
    Htk,
    /// <summary>Slaney's Auditory Toolbox: linear below 1 kHz, logarithmic above ("slaney", librosa's default).</summary>
    Slaney,
}

/// <summary>Mel filter bank normalisations (torchaudio's norm argument).</summary>
public enum MelNorm
{
    /// <summary>Triangles of peak 1 (norm=None).</summary>
    None,
    /// <summary>Triangles scaled to constant area, 2 / (f_{m+2} − f_m) (norm="slaney").</summary>
    Slaney,
}

public static partial class Spectral
{
    /// <summary>
    /// Spectrogram of a waveform (torchaudio.functional.spectrogram): |STFT|^power, or |STFT|² when power is 2, with
    /// shape (..., n_fft/2+1, frames). <paramref name="normalizedByWindow"/> divides the STFT by the window's L2 norm
    /// (normalized=True / "window"); <paramref name="normalizedByFrameLength"/> is normalized="frame_length".
    /// <paramref name="pad"/> zero-pads both sides first. Differentiable.
    /// </summary>
    public static Tensor Spectrogram(Tensor waveform, int nFft, int hopLength, int winLength, Tensor window, double power = 2.0,
        int pad = 0, bool center = true, PadMode padMode = PadMode.Reflect, bool normalizedByWindow = false,
        bool normalizedByFrameLength = false, bool onesided = true)
    {
        ArgumentNullException.ThrowIfNull(waveform);
        if (power <= 0) throw new ArgumentException($"Spectrogram: power must be positive, got {power}", nameof(power));
        if (pad > 0) waveform = Pad(waveform, pad);
        var spec = Stft(waveform, nFft, hopLength, winLength, window, center, padMode, normalizedByFrameLength, onesided);
        if (normalizedByWindow)
        {
            var w = window.Detach().To(DType.Float64).ToArray<double>();
            spec = spec * (1.0 / Math.Sqrt(w.Sum(v => v * v)));
        }
        var squared = spec.Square().Sum(-1);                                     // |X|²
        return power == 2.0 ? squared : power == 1.0 ? squared.Sqrt() : squared.Pow(power / 2);
    }

    static Tensor Pad(Tensor waveform, int pad)
    {
        var zeros = Tensor.Zeros([.. waveform.Shape.ToArray()[..^1], pad], waveform.DType);
        return Tensor.Cat([zeros, waveform, zeros], -1);
    }

    /// <summary>Hz to mel (torchaudio.functional._hz_to_mel).</summary>
    public static double HzToMel(double hz, MelScaleKind scale = MelScaleKind.Htk)
    {
        if (scale == MelScaleKind.Htk) return 2595.0 * Math.Log10(1.0 + hz / 700.0);
        const double fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp;
        double logStep = Math.Log(6.4) / 27.0;
        return hz >= minLogHz ? minLogMel + Math.Log(hz / minLogHz) / logStep : hz / fSp;
    }

    /// <summary>Mel to Hz (torchaudio.functional._mel_to_hz).</summary>
    public static double MelToHz(double mel, MelScaleKind scale = MelScaleKind.Htk)
    {
        if (scale == MelScaleKind.Htk) return 700.0 * (Math.Pow(10.0, mel / 2595.0) - 1.0);
        const double fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp;
        double logStep = Math.Log(6.4) / 27.0;
        return mel >= minLogMel ? minLogHz * Math.Exp(logStep * (mel - minLogMel)) : fSp * mel;
    }

    /// <summary>
    /// Triangular mel filter bank of shape (n_freqs, n_mels) (torchaudio.functional.melscale_fbanks(n_freqs, f_min,
    /// f_max, n_mels, sample_rate, norm, mel_scale)): n_mels+2 points equally spaced in mel between f_min and f_max,
    /// evaluated on n_freqs bins spread linearly over [0, sample_rate // 2].
    /// </summary>
    public static Tensor MelFilterBank(int nFreqs, double fMin, double fMax, int nMels, int sampleRate,
        MelNorm norm = MelNorm.None, MelScaleKind melScale = MelScaleKind.Htk, DType dtype = DType.Float32)
    {
        if (nFreqs < 2) throw new ArgumentException($"MelFilterBank: nFreqs must be at least 2, got {nFreqs}", nameof(nFreqs));
        if (nMels < 1) throw new ArgumentException($"MelFilterBank: nMels must be positive, got {nMels}", nameof(nMels));
        if (!(fMin >= 0 && fMin < fMax)) throw new ArgumentException($"MelFilterBank: need 0 <= fMin < fMax, got fMin={fMin}, fMax={fMax}", nameof(fMin));
        double mMin = HzToMel(fMin, melScale), mMax = HzToMel(fMax, melScale);
        var fPts = new double[nMels + 2];
        for (int i = 0; i < fPts.Length; i++) fPts[i] = MelToHz(mMin + (mMax - mMin) * i / (nMels + 1), melScale);
        var fb = new double[nFreqs * nMels];
        double nyquist = sampleRate / 2;     // integer division, as torchaudio's linspace(0, sample_rate // 2, n_freqs)
        for (int f = 0; f < nFreqs; f++)
        {
            double freq = nyquist * f / (nFreqs - 1);
            for (int m = 0; m < nMels; m++)
            {
                double down = (freq - fPts[m]) / (fPts[m + 1] - fPts[m]);
                double up = (fPts[m + 2] - freq) / (fPts[m + 2] - fPts[m + 1]);
                double value = Math.Max(0, Math.Min(down, up));
                if (norm == MelNorm.Slaney) value *= 2.0 / (fPts[m + 2] - fPts[m]);
                fb[f * nMels + m] = value;
            }
        }
        return Tensor.FromArray(fb, [nFreqs, nMels]).To(dtype);
    }

    /// <summary>Applies a (n_freqs, n_mels) filter bank to a (..., n_freqs, time) spectrogram: (..., n_mels, time) (torchaudio.transforms.MelScale.forward).</summary>
    public static Tensor ApplyMel(Tensor spectrogram, Tensor filterBank)
    {
        if (spectrogram.Rank < 2 || spectrogram.Size(-2) != filterBank.Size(0))
            throw new ArgumentException($"MelScale: spectrogram (..., n_freqs, time) must have n_freqs={filterBank.Size(0)}, got shape {Shape(spectrogram)}", nameof(spectrogram));
        return spectrogram.Transpose(-1, -2).MatMul(filterBank.To(spectrogram.DType)).Transpose(-1, -2);
    }

    /// <summary>
    /// Decibels (torchaudio.functional.amplitude_to_DB(x, multiplier, amin, db_multiplier, top_db)):
    /// multiplier·log10(max(x, amin)) − multiplier·db_multiplier, then, with top_db, floored at (max − top_db) where the
    /// max is taken per item over the last three dimensions (the last two for a 2-D input).
    /// </summary>
    public static Tensor AmplitudeToDb(Tensor x, double multiplier, double amin, double dbMultiplier, double? topDb = null)
    {
        var db = x.ClampMin(amin).Log() * (multiplier / Math.Log(10));
        if (dbMultiplier != 0) db = db - multiplier * dbMultiplier;
        if (topDb is not { } top) return db;
        if (db.Rank < 2) throw new ArgumentException($"AmplitudeToDB: top_db needs a (..., freq, time) input, got shape {Shape(db)}", nameof(x));
        var shape = db.Shape.ToArray();
        int channels = db.Rank > 2 ? shape[^3] : 1;
        var packed = db.Reshape(-1, channels, shape[^2], shape[^1]);
        var floor = (packed.Amax([1, 2, 3], keepDim: true) - top).Expand(packed.Shape.ToArray());
        return Tensor.Where(packed.Lt(floor), floor, packed).Reshape(shape);
    }

    /// <summary>
    /// DCT-II matrix of shape (n_mels, n_mfcc) (torchaudio.functional.create_dct(n_mfcc, n_mels, norm)): entry (n, k) =
    /// cos(π/n_mels (n + ½) k), scaled for an orthonormal transform when <paramref name="ortho"/> (norm="ortho") and
    /// by 2 otherwise (norm=None).
    /// </summary>
    public static Tensor CreateDct(int nMfcc, int nMels, bool ortho = true, DType dtype = DType.Float32)
    {
        if (nMfcc < 1 || nMels < 1) throw new ArgumentException($"CreateDct: nMfcc and nMels must be positive, got {nMfcc} and {nMels}", nameof(nMfcc));
        var dct = new double[nMels * nMfcc];
        for (int n = 0; n < nMels; n++)
            for (int k = 0; k < nMfcc; k++)
            {
                double v = Math.Cos(Math.PI / nMels * (n + 0.5) * k);
                v = ortho ? v * Math.Sqrt(2.0 / nMels) * (k == 0 ? 1 / Math.Sqrt(2) : 1) : v * 2.0;
                dct[n * nMfcc + k] = v;
            }
        return Tensor.FromArray(dct, [nMels, nMfcc]).To(dtype);
    }
}
