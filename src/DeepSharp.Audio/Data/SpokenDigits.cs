using DeepSharp.IO;

namespace DeepSharp.Audio;

/// <summary>
/// Spoken digits "zero" … "nine" synthesised with espeak-ng (a Free Spoken Digit / Speech Commands stand-in that needs
/// no download): voices × (speaking rate, pitch) variants, each word placed <c>copies</c> times at a random offset in one
/// second at 16 kHz, with a random gain and Gaussian noise at a random SNR added in C#. Generated once from the seed into a
/// safetensors cache; train and test are split by voice, so the test speakers are never heard in training.
/// The default (8 voices × 3 variants, 240 clips) takes seconds; the full recipe is 24 voices × 9 variants × 2 copies (4320 clips).
/// </summary>
public sealed class SpokenDigits
{
    /// <summary>The digit words, label = index.</summary>
    public static readonly string[] Words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    /// <summary>Samples per clip (one second at 16 kHz).</summary>
    public const int ClipLength = SpeechCorpus.SampleRate;

    /// <summary>(N, 16000) float32 waveforms.</summary>
    public Tensor Audio { get; }
    /// <summary>(N) int64 digit labels.</summary>
    public Tensor Labels { get; }
    /// <summary>Voice index of each clip (into <see cref="SpeechCorpus.Voices"/>).</summary>
    public int[] VoiceOf { get; }

    SpokenDigits(Tensor audio, Tensor labels, int[] voiceOf) { Audio = audio; Labels = labels; VoiceOf = voiceOf; }

    /// <summary>
    /// Loads the cached set for <paramref name="seed"/> from <paramref name="cacheDir"/> (default
    /// <see cref="SpeechCorpus.DefaultCacheRoot"/>, subfolder spoken-digits), synthesising it first when missing: the
    /// first <paramref name="voices"/> voices (4-24), the first <paramref name="variants"/> rate × pitch variants (1-9),
    /// each word placed <paramref name="copies"/> times with its own offset, gain and noise.
    /// </summary>
    public static SpokenDigits Load(string? cacheDir = null, int seed = 0, int voices = 8, int variants = 3, int copies = 1, Action<string>? log = null)
    {
        SpeechCorpus.CheckVoices("SpokenDigits", voices);
        if (copies < 1) throw new ArgumentException($"SpokenDigits: copies must be positive, got {copies}", nameof(copies));
        var t = SpeechCorpus.LoadOrSynthesize(cacheDir, "spoken-digits", $"digits-v2-seed{seed}-voices{voices}-variants{variants}-copies{copies}.safetensors",
            "spoken digits", log, () => Generate(seed, voices, variants, copies));
        return new SpokenDigits(t["audio"], t["label"], t["voice"].ToArray<long>().Select(v => (int)v).ToArray());
    }

    static Dictionary<string, Tensor> Generate(int seed, int voices, int variants, int copies)
    {
        var spoken = SpeechCorpus.Synthesize(voices, variants, _ => Words);
        var rng = new System.Random(seed);
        var audio = new List<float>(); var labels = new List<long>(); var voiceOf = new List<long>();
        foreach (var (voice, speech) in spoken)
            for (int d = 0; d < speech.Length; d++)
                for (int c = 0; c < copies && speech[d].Length > 0; c++)
                {
                    audio.AddRange(Augment.Place(speech[d], ClipLength, rng));
                    labels.Add(d); voiceOf.Add(voice);
                }
        int n = labels.Count;
        return new Dictionary<string, Tensor>
        {
            ["audio"] = Tensor.FromArray(audio.ToArray(), n, ClipLength),
            ["label"] = Tensor.FromArray(labels.ToArray(), n),
            ["voice"] = Tensor.FromArray(voiceOf.ToArray(), n),
        };
    }

    /// <summary>Indices of the training (seen voices) or test (held-out voices) clips.</summary>
    public long[] Indices(bool test) => Enumerable.Range(0, VoiceOf.Length).Where(i => SpeechCorpus.IsTestVoice(VoiceOf[i]) == test).Select(i => (long)i).ToArray();

    /// <summary>Log-mel features (N, 1, 40, 101) of (N, 16000) clips: <see cref="SpeechCorpus.LogMel"/> (25 ms windows, 10 ms hop, 40 mels, dB, per-clip normalised).</summary>
    public static Tensor Features(Tensor audio) => SpeechCorpus.LogMel(audio).Unsqueeze(1);
}

/// <summary>
/// Log-mel front end shared by the audio models: MelSpectrogram, then AmplitudeToDB(top_db=80) with the floor taken per
/// clip (not across a batch), then <see cref="Normalize"/>.
/// </summary>
public sealed class LogMelFeatures(MelSpectrogram mel) : DeepSharp.NN.Module<Tensor, Tensor>
{
    readonly AmplitudeToDB toDb = new(topDb: 80);

    /// <summary>(..., time) → (..., n_mels, frames) in dB, each clip floored at its own max − 80 dB.</summary>
    public override Tensor Forward(Tensor waveform)
    {
        var power = mel.Call(waveform);
        var shape = power.Shape.ToArray();
        return toDb.Call(power.Reshape(-1, 1, shape[^2], shape[^1])).Reshape(shape);
    }

    /// <summary>Zero mean and unit variance over each (n_mels, frames) clip of a (..., n_mels, frames) tensor (per-utterance mean and variance normalisation).</summary>
    public static Tensor Normalize(Tensor features)
    {
        var mean = features.Mean([-2, -1], keepDim: true);
        var std = features.Std([-2, -1], unbiased: false, keepDim: true);
        return (features - mean) / (std + 1e-5);
    }
}

/// <summary>The C# side of the data recipe: placement in a fixed-length clip, gain and noise.</summary>
internal static class Augment
{
    /// <summary>Puts <paramref name="speech"/> at a random offset in a clip of <paramref name="length"/> samples (cropped to its middle if longer), with a random gain and white noise at an SNR of 5–30 dB.</summary>
    public static float[] Place(float[] speech, int length, System.Random rng)
    {
        var clip = new float[length];
        if (speech.Length > length) speech = speech[((speech.Length - length) / 2)..][..length];
        int offset = rng.Next(0, length - speech.Length + 1);
        double gain = 0.3 + 0.7 * rng.NextDouble();
        double power = speech.Length == 0 ? 0 : speech.Sum(x => (double)x * x) / speech.Length * gain * gain;
        double snrDb = 5 + 25 * rng.NextDouble();
        double noiseStd = Math.Sqrt(power / Math.Pow(10, snrDb / 10));
        for (int i = 0; i < length; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            clip[i] = (float)(noiseStd * g);
        }
        for (int i = 0; i < speech.Length; i++) clip[offset + i] += (float)(gain * speech[i]);
        return clip;
    }
}
