using System.Globalization;
using DeepSharp.IO;

namespace DeepSharp.Audio;

/// <summary>
/// Using a trained speech model on a sound file: reading any WAV as 16 kHz mono, loading a model saved by
/// `deepsharp train --dataset spoken-digits|spoken-digit-strings`, and turning its output into words.
/// </summary>
public static class SpeechModels
{
    /// <summary>Reads a WAV file (any sample rate, any channels) as a (1, samples) 16 kHz mono waveform: channels averaged, then <see cref="Spectral.Resample"/>.</summary>
    public static Tensor ReadMono16k(string path)
    {
        var (waveform, rate) = WavFile.Read(path);                    // (channels, samples)
        using var _ = Autograd.NoGrad();
        var mono = waveform.To(DType.Float32).Mean(0, keepDim: true);  // (1, samples)
        return Spectral.Resample(mono, rate, SpeechCorpus.SampleRate);
    }

    /// <summary>
    /// Loads a model file written by the audio trainers: a <see cref="CtcRecognizer"/> (metadata deepsharp.model = "ctc")
    /// or a <see cref="KeywordCnn"/> ("kws"), built with the sizes in its metadata, in eval mode.
    /// </summary>
    public static DeepSharp.NN.Module<Tensor, Tensor> Load(string path)
    {
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        int Meta(string key, int fallback) => metadata.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        DeepSharp.NN.Module<Tensor, Tensor> model = metadata.GetValueOrDefault("deepsharp.model") switch
        {
            "ctc" => new CtcRecognizer(40, Meta("deepsharp.hidden", 128), Meta("deepsharp.layers", 2)),
            "kws" => new KeywordCnn(10, Meta("deepsharp.width", 16)),
            var other => throw new ArgumentException($"SpeechModels.Load: {path} is not an audio model (deepsharp.model is '{other ?? "missing"}', expected ctc or kws)", nameof(path)),
        };
        model.LoadStateDict(tensors);
        model.Eval();
        return model;
    }

    /// <summary>
    /// What <paramref name="model"/> hears in a (1, samples) 16 kHz waveform: for a <see cref="CtcRecognizer"/> the digit
    /// words (greedy, or prefix beam search with <paramref name="beamWidth"/> &gt; 1), for a <see cref="KeywordCnn"/> the
    /// most likely digit word and its probability.
    /// </summary>
    public static string Transcribe(DeepSharp.NN.Module<Tensor, Tensor> model, Tensor waveform16k, int beamWidth = 1)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(waveform16k);
        if (waveform16k.Rank != 2 || waveform16k.Size(0) != 1) throw new ArgumentException($"SpeechModels.Transcribe: waveform must be (1, samples), got shape {Spectral.Shape(waveform16k)}", nameof(waveform16k));
        using var _ = Autograd.NoGrad();
        var features = SpeechCorpus.LogMel(waveform16k);              // (1, 40, frames)
        switch (model)
        {
            case CtcRecognizer ctc:
                return string.Join(" ", CtcRecognizer.Decode(ctc.Call(features), beamWidth)[0].Select(d => SpokenDigits.Words[d]));
            case KeywordCnn kws:
                var probabilities = kws.Call(features.Unsqueeze(1)).Softmax(-1).Reshape(-1).ToArray<float>();
                int best = Array.IndexOf(probabilities, probabilities.Max());
                return $"{SpokenDigits.Words[best]} (p = {probabilities[best].ToString("F3", CultureInfo.InvariantCulture)})";
            default:
                throw new ArgumentException($"SpeechModels.Transcribe: model must be a CtcRecognizer or a KeywordCnn, got {model.GetType().Name}", nameof(model));
        }
    }
}
