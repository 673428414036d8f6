using DeepSharp.Vision;

namespace DeepSharp.Audio;

/// <summary>Spectrogram pictures (librosa.display.specshow's idea): low frequencies at the bottom, an inferno-like colour ramp.</summary>
public static class SpectrogramImage
{
    /// <summary>
    /// Writes a (freq, time) spectrogram (any scale; dB reads best) as a PNG, each bin drawn as <paramref name="scale"/>×<paramref name="scale"/>
    /// pixels, colours spanning the values' [max − <paramref name="dynamicRange"/>, max].
    /// </summary>
    public static void Save(Tensor spectrogram, string path, int scale = 3, double dynamicRange = 80)
    {
        ArgumentNullException.ThrowIfNull(spectrogram);
        if (spectrogram.Rank != 2) throw new ArgumentException($"SpectrogramImage.Save: need a (freq, time) tensor, got shape {Spectral.Shape(spectrogram)}", nameof(spectrogram));
        if (scale < 1) throw new ArgumentException($"SpectrogramImage.Save: scale must be positive, got {scale}", nameof(scale));
        int rows = spectrogram.Size(0), cols = spectrogram.Size(1);
        var v = spectrogram.Detach().To(DType.Float64).Contiguous().ToArray<double>();
        double high = v.Max(), low = high - dynamicRange;
        int h = rows * scale, w = cols * scale;
        var rgb = new float[3 * h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double t = Math.Clamp((v[(rows - 1 - y / scale) * cols + x / scale] - low) / (high - low), 0, 1);
                rgb[y * w + x] = (float)Math.Clamp(1.6 * t - 0.1, 0, 1);                      // red rises first
                rgb[h * w + y * w + x] = (float)Math.Clamp(t * t * 1.1, 0, 1);               // then green
                rgb[2 * h * w + y * w + x] = (float)Math.Clamp(0.5 * Math.Sin(Math.PI * t) + (t > 0.85 ? (t - 0.85) * 4 : 0), 0, 1);
            }
        Utils.SaveImage(Tensor.FromArray(rgb, 3, h, w), path, padding: 0);
    }

    /// <summary>
    /// Writes what the speech models hear: the 40-band log-mel spectrogram (25 ms windows, 10 ms hop, dB, 80 dB range) of
    /// a 16 kHz waveform (samples) or (1, samples), as a PNG (<see cref="Save"/>).
    /// </summary>
    public static void SaveLogMel(Tensor waveform16k, string path, int scale = 3)
    {
        ArgumentNullException.ThrowIfNull(waveform16k);
        if (waveform16k.Rank > 2 || (waveform16k.Rank == 2 && waveform16k.Size(0) != 1))
            throw new ArgumentException($"SpectrogramImage.SaveLogMel: need a (samples) or (1, samples) waveform, got shape {Spectral.Shape(waveform16k)}", nameof(waveform16k));
        using var _ = Autograd.NoGrad();
        var db = Front.Call(waveform16k.Reshape(1, -1));              // (1, 40, frames)
        Save(db.Reshape(db.Size(1), db.Size(2)), path, scale);
    }

    static readonly LogMelFeatures Front = new(new MelSpectrogram(SpeechCorpus.SampleRate, 400, hopLength: 160, nMels: 40));
}
