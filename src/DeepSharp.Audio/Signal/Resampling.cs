using DeepSharp.NN;

namespace DeepSharp.Audio;

public static partial class Spectral
{
    /// <summary>
    /// Band-limited resampling by a windowed-sinc polyphase filter (torchaudio.functional.resample(waveform, orig_freq,
    /// new_freq, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interpolation")): the rates are reduced by
    /// their gcd, the cutoff is rolloff·min(orig, new), the sinc is Hann-windowed over lowpass_filter_width zero crossings,
    /// and the output has ceil(new·L/orig) samples. One strided conv1d, so differentiable. <paramref name="waveform"/> is (..., L).
    /// </summary>
    public static Tensor Resample(Tensor waveform, int origFreq, int newFreq, int lowpassFilterWidth = 6, double rolloff = 0.99)
    {
        ArgumentNullException.ThrowIfNull(waveform);
        if (origFreq <= 0 || newFreq <= 0) throw new ArgumentException($"Resample: frequencies must be positive, got orig_freq={origFreq}, new_freq={newFreq}", nameof(origFreq));
        if (lowpassFilterWidth <= 0) throw new ArgumentException($"Resample: lowpass_filter_width must be positive, got {lowpassFilterWidth}", nameof(lowpassFilterWidth));
        if (!waveform.IsFloatingPoint || waveform.Rank < 1) throw new ArgumentException($"Resample: waveform must be a floating point (..., time) tensor, got {waveform.DType} of shape {Shape(waveform)}", nameof(waveform));
        if (origFreq == newFreq) return waveform;
        int gcd = Gcd(origFreq, newFreq);
        int orig = origFreq / gcd, target = newFreq / gcd;
        var (kernel, width) = SincKernel(orig, target, lowpassFilterWidth, rolloff, waveform.DType);
        var shape = waveform.Shape.ToArray();
        int length = shape[^1];
        var x = waveform.Reshape(-1, length);
        int batch = x.Size(0);
        x = Tensor.Cat([Tensor.Zeros([batch, width], x.DType), x, Tensor.Zeros([batch, width + orig], x.DType)], 1);
        var y = F.Conv1d(x.Unsqueeze(1), kernel, stride: orig);                     // (B, new, frames)
        y = y.Transpose(1, 2).Reshape(batch, -1);
        int targetLength = (int)Math.Ceiling((double)target * length / orig);
        y = y.Narrow(1, 0, Math.Min(targetLength, y.Size(1)));
        return y.Reshape([.. shape[..^1], y.Size(1)]);
    }

    static int Gcd(int a, int b) { while (b != 0) (a, b) = (b, a % b); return a; }

    /// <summary>The (new, 1, 2·width + orig) filter of torchaudio's _get_sinc_resample_kernel and its half-width.</summary>
    static (Tensor Kernel, int Width) SincKernel(int orig, int target, int lowpassFilterWidth, double rolloff, DType dtype)
    {
        double baseFreq = Math.Min(orig, target) * rolloff;
        int width = (int)Math.Ceiling(lowpassFilterWidth * orig / baseFreq);
        int taps = 2 * width + orig;
        var kernel = new double[target * taps];
        double scale = baseFreq / orig;
        for (int phase = 0; phase < target; phase++)
            for (int j = 0; j < taps; j++)
            {
                double t = (-(double)phase / target + (double)(j - width) / orig) * baseFreq;
                t = Math.Clamp(t, -lowpassFilterWidth, lowpassFilterWidth);
                double window = Math.Pow(Math.Cos(t * Math.PI / lowpassFilterWidth / 2), 2);
                double arg = t * Math.PI;
                kernel[phase * taps + j] = (arg == 0 ? 1.0 : Math.Sin(arg) / arg) * window * scale;
            }
        return (Tensor.FromArray(kernel, [target, 1, taps]).To(dtype), width);
    }

    /// <summary>
    /// SpecAugment masking along one axis (torchaudio.functional.mask_along_axis / mask_along_axis_iid): a band of width
    /// ⌊U·maskParam⌋ starting at ⌊U·(size − width)⌋ is set to <paramref name="maskValue"/>; <paramref name="axis"/> is -2
    /// (frequency) or -1 (time) of a (..., freq, time) spectrogram. With <paramref name="iid"/> every leading item draws
    /// its own band (iid_masks=True); otherwise one band for all. Returns a new tensor (gradient flows outside the band).
    /// </summary>
    public static Tensor MaskAlongAxis(Tensor specgram, int maskParam, int axis, double maskValue = 0, bool iid = false, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(specgram);
        if (axis is not (-1 or -2)) throw new ArgumentException($"MaskAlongAxis: axis must be -2 (frequency) or -1 (time), got {axis}", nameof(axis));
        if (specgram.Rank < 2) throw new ArgumentException($"MaskAlongAxis: specgram must be (..., freq, time), got shape {Shape(specgram)}", nameof(specgram));
        if (maskParam < 0) throw new ArgumentException($"MaskAlongAxis: maskParam must be non-negative, got {maskParam}", nameof(maskParam));
        var shape = specgram.Shape.ToArray();
        int size = shape[^(-axis)];
        int items = iid ? shape[..^2].Aggregate(1, (a, b) => a * b) : 1;
        var keep = new double[items * size];
        var draws = Tensor.Rand([items, 2], DType.Float64, generator: generator).ToArray<double>();
        for (int i = 0; i < items; i++)
        {
            double value = draws[2 * i] * Math.Min(maskParam, size);
            double minValue = draws[2 * i + 1] * (size - value);
            long start = (long)minValue, end = (long)minValue + (long)value;
            for (int j = 0; j < size; j++) keep[i * size + j] = j >= start && j < end ? 0 : 1;
        }
        int[] maskShape = axis == -1 ? [items, 1, size] : [items, size, 1];
        var mask = Tensor.FromArray(keep, maskShape).To(specgram.DType);
        var packed = specgram.Reshape(iid ? items : 1, -1, shape[^2], shape[^1]);
        var m = mask.Unsqueeze(1);
        return (packed * m + (1 - m) * maskValue).Reshape(shape);
    }
}
