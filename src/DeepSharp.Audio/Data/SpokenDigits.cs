using DeepSharp.IO;

namespace DeepSharp.Audio;

/// <summary>
/// Spoken digits "zero" … "nine" synthesised with espeak-ng (a Free Spoken Digit / Speech Commands stand-in that needs
/// no download): voices × speaking rates × pitches, each clip placed at a random offset in one second at 16 kHz, with
/// a random gain and Gaussian noise at a random SNR added in C#. Generated once from the seed into a safetensors cache;
/// train and test are split by voice, so the test speakers are never heard in training.
/// </summary>
public sealed class SpokenDigits
{
    /// <summary>The digit words, label = index.</summary>
    public static readonly string[] Words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    /// <summary>espeak-ng voices (language + variant); every fourth is held out for testing.</summary>
    public static readonly string[] Voices =
    [
        "en-us+m1", "en-us+m2", "en+m3", "en-us+f4", "en-us+f1", "en+f2", "en-us+m4", "en+m5", "en-us+f3", "en+m6",
        "en-us+m7", "en+f5", "en-us+klatt", "en+klatt2", "en-us+klatt3", "en-gb-scotland+m2", "en-us+adam", "en+anika",
        "en-us+david", "en+edward", "en-us+Andy", "en+aunty", "en-us+grandpa", "en+Michael",
    ];
    static readonly int[] Rates = [120, 160, 200];
    static readonly int[] Pitches = [30, 55, 80];
    /// <summary>Samples per clip (one second at 16 kHz).</summary>
    public const int ClipLength = 16000;

    /// <summary>(N, 16000) float32 waveforms.</summary>
    public Tensor Audio { get; }
    /// <summary>(N) int64 digit labels.</summary>
    public Tensor Labels { get; }
    /// <summary>Voice index of each clip (into <see cref="Voices"/>).</summary>
    public int[] VoiceOf { get; }

    SpokenDigits(Tensor audio, Tensor labels, int[] voiceOf) { Audio = audio; Labels = labels; VoiceOf = voiceOf; }

    /// <summary>Whether voice <paramref name="voice"/> belongs to the held-out test speakers.</summary>
    public static bool IsTestVoice(int voice) => voice % 4 == 3;

    /// <summary>
    /// Loads the cached set for <paramref name="seed"/> from <paramref name="cacheDir"/> (default
    /// $DEEPSHARP_DATA or ~/.cache/deepsharp, subfolder spoken-digits), synthesising it first when missing.
    /// <paramref name="voices"/> limits the voice list (the first n) for quick runs.
    /// </summary>
    public static SpokenDigits Load(string? cacheDir = null, int seed = 0, int? voices = null, Action<string>? log = null)
    {
        int voiceCount = Math.Clamp(voices ?? Voices.Length, 4, Voices.Length);
        var folder = Path.Combine(cacheDir ?? DefaultCacheRoot, "spoken-digits");
        var path = Path.Combine(folder, $"digits-v1-seed{seed}-voices{voiceCount}.safetensors");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(folder);
            log?.Invoke($"synthesising spoken digits with espeak-ng into {path} ...");
            Generate(path, seed, voiceCount);
        }
        var t = SafeTensors.Load(path);
        return new SpokenDigits(t["audio"], t["label"], t["voice"].ToArray<long>().Select(v => (int)v).ToArray());
    }

    /// <summary>$DEEPSHARP_DATA, else ~/.cache/deepsharp.</summary>
    public static string DefaultCacheRoot =>
        Environment.GetEnvironmentVariable("DEEPSHARP_DATA") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "deepsharp");

    static void Generate(string path, int seed, int voiceCount)
    {
        var jobs = (from v in Enumerable.Range(0, voiceCount) from r in Rates from p in Pitches select (v, r, p)).ToArray();
        var results = new float[jobs.Length][][];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, j =>
        {
            var (v, r, p) = jobs[j];
            results[j] = SpeechSynthesizer.Speak(Words, Voices[v], r, p)
                ?? Words.Select(w => SpeechSynthesizer.Speak([w], Voices[v], r, p)?[0] ?? []).ToArray();
        });
        var rng = new System.Random(seed);
        var audio = new List<float>(); var labels = new List<long>(); var voiceOf = new List<long>();
        for (int j = 0; j < jobs.Length; j++)
            for (int d = 0; d < Words.Length; d++)
            {
                if (results[j][d].Length == 0) continue;
                audio.AddRange(Augment.Place(results[j][d], ClipLength, rng));
                labels.Add(d); voiceOf.Add(jobs[j].v);
            }
        int n = labels.Count;
        SafeTensors.Save(path, new Dictionary<string, Tensor>
        {
            ["audio"] = Tensor.FromArray(audio.ToArray(), n, ClipLength),
            ["label"] = Tensor.FromArray(labels.ToArray(), n),
            ["voice"] = Tensor.FromArray(voiceOf.ToArray(), n),
        });
    }

    /// <summary>Indices of the training (seen voices) or test (held-out voices) clips.</summary>
    public long[] Indices(bool test) => Enumerable.Range(0, VoiceOf.Length).Where(i => IsTestVoice(VoiceOf[i]) == test).Select(i => (long)i).ToArray();

    /// <summary>Log-mel features (N, 1, 40, 101): MelSpectrogram(n_fft 400 (25 ms), hop 160 (10 ms), 40 mels) in dB, top_db 80, scaled by 1/20.</summary>
    public static Tensor Features(Tensor audio)
    {
        using var _ = Autograd.NoGrad();
        var mel = LogMel.Call(audio);
        return (mel / 20.0).Unsqueeze(1);
    }

    static readonly MelSpectrogram Mel = new(16000, 400, hopLength: 160, nMels: 40);
    static readonly LogMelFeatures LogMel = new(Mel);
}

/// <summary>Log-mel front end shared by the audio models: MelSpectrogram then AmplitudeToDB(top_db=80).</summary>
public sealed class LogMelFeatures(MelSpectrogram mel) : DeepSharp.NN.Module<Tensor, Tensor>
{
    readonly AmplitudeToDB toDb = new(topDb: 80);
    /// <summary>(..., time) → (..., n_mels, frames) in dB.</summary>
    public override Tensor Forward(Tensor waveform) => toDb.Call(mel.Call(waveform));
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
