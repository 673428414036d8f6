using DeepSharp.NN;

namespace DeepSharp.Audio;

/// <summary>Resampling module (torchaudio.transforms.Resample(orig_freq=16000, new_freq=16000, lowpass_filter_width=6, rolloff=0.99)).</summary>
public sealed class Resample(int origFreq = 16000, int newFreq = 16000, int lowpassFilterWidth = 6, double rolloff = 0.99) : Module<Tensor, Tensor>
{
    /// <summary>(..., time) → (..., ceil(time·new/orig)) (torchaudio.transforms.Resample.forward).</summary>
    public override Tensor Forward(Tensor waveform) => Spectral.Resample(waveform, origFreq, newFreq, lowpassFilterWidth, rolloff);
}

/// <summary>
/// SpecAugment time masking (torchaudio.transforms.TimeMasking(time_mask_param, iid_masks=False)): in training mode
/// a random band of up to time_mask_param frames is zeroed; in eval mode the input passes through.
/// </summary>
public sealed class TimeMasking(int timeMaskParam, bool iidMasks = false, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <summary>(..., freq, time) → same shape (torchaudio.transforms.TimeMasking.forward).</summary>
    public override Tensor Forward(Tensor specgram) =>
        IsTraining ? Spectral.MaskAlongAxis(specgram, timeMaskParam, -1, 0, iidMasks, generator) : specgram;
}

/// <summary>
/// SpecAugment frequency masking (torchaudio.transforms.FrequencyMasking(freq_mask_param, iid_masks=False)): in
/// training mode a random band of up to freq_mask_param bins is zeroed; in eval mode the input passes through.
/// </summary>
public sealed class FrequencyMasking(int freqMaskParam, bool iidMasks = false, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <summary>(..., freq, time) → same shape (torchaudio.transforms.FrequencyMasking.forward).</summary>
    public override Tensor Forward(Tensor specgram) =>
        IsTraining ? Spectral.MaskAlongAxis(specgram, freqMaskParam, -2, 0, iidMasks, generator) : specgram;
}
