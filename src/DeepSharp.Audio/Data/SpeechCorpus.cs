namespace DeepSharp.Audio;

/// <summary>
/// What the synthesised speech sets share: the espeak-ng voices, the speaking-rate × pitch variants, the split by voice,
/// the cache folder, and the parallel synthesis (one espeak-ng process per voice and variant speaking many utterances).
/// </summary>
public static class SpeechCorpus
{
    /// <summary>espeak-ng voices (language + variant); every fourth (index % 4 == 3) is held out for testing.</summary>
    public static readonly string[] Voices =
    [
        "en-us+m1", "en-us+m2", "en+m3", "en-us+f4", "en-us+f1", "en+f2", "en-us+m4", "en+m5", "en-us+f3", "en+m6",
        "en-us+m7", "en+f5", "en-us+klatt", "en+klatt2", "en-us+klatt3", "en-gb-scotland+m2", "en-us+adam", "en+anika",
        "en-us+david", "en+edward", "en-us+Andy", "en+aunty", "en-us+grandpa", "en+Michael",
    ];

    /// <summary>(words per minute, pitch 0-99) variants, most different first, so the first few already spread the range.</summary>
    public static readonly (int Rate, int Pitch)[] Variants =
        [(160, 55), (120, 30), (200, 80), (120, 80), (200, 30), (160, 30), (160, 80), (120, 55), (200, 55)];

    /// <summary>Sample rate of every clip (16 kHz).</summary>
    public const int SampleRate = 16000;

    /// <summary>Whether voice <paramref name="voice"/> belongs to the held-out test speakers.</summary>
    public static bool IsTestVoice(int voice) => voice % 4 == 3;

    /// <summary>
    /// The tensors cached in <paramref name="file"/> under <paramref name="cacheDir"/>/<paramref name="subfolder"/>,
    /// made by <paramref name="synthesize"/> first when the file is missing (saved atomically, so an interrupted
    /// synthesis never leaves a half file behind).
    /// </summary>
    internal static Dictionary<string, Tensor> LoadOrSynthesize(string? cacheDir, string subfolder, string file, string what,
        Action<string>? log, Func<Dictionary<string, Tensor>> synthesize)
    {
        var folder = Path.Combine(cacheDir ?? DefaultCacheRoot, subfolder);
        var path = Path.Combine(folder, file);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(folder);
            log?.Invoke($"synthesising {what} with espeak-ng into {path} ...");
            DeepSharp.IO.SafeTensors.Save(path, synthesize());
        }
        return DeepSharp.IO.SafeTensors.Load(path);
    }

    /// <summary>Checks a dataset's voice count: at least 4 (every fourth voice is held out), at most the voices there are.</summary>
    internal static void CheckVoices(string dataset, int voices)
    {
        if (voices < 4 || voices > Voices.Length)
            throw new ArgumentException($"{dataset}: voices must be in [4, {Voices.Length}] (every fourth is held out), got {voices}", nameof(voices));
    }

    /// <summary>$DEEPSHARP_DATA, else ~/.cache/deepsharp.</summary>
    public static string DefaultCacheRoot =>
        Environment.GetEnvironmentVariable("DEEPSHARP_DATA") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "deepsharp");

    /// <summary>
    /// Speaks, for every voice in [0, <paramref name="voices"/>) and variant in [0, <paramref name="variants"/>), the
    /// utterances <paramref name="utterancesOf"/>(job) in one espeak-ng call (all jobs in parallel); an utterance whose
    /// silences did not separate is re-spoken alone. Returns per job its voice and its waveforms (empty when speaking failed).
    /// </summary>
    internal static (int Voice, float[][] Speech)[] Synthesize(int voices, int variants, Func<int, IReadOnlyList<string>> utterancesOf)
    {
        if (voices < 1 || voices > Voices.Length) throw new ArgumentException($"SpeechCorpus: voices must be in [1, {Voices.Length}], got {voices}", nameof(voices));
        if (variants < 1 || variants > Variants.Length) throw new ArgumentException($"SpeechCorpus: variants must be in [1, {Variants.Length}], got {variants}", nameof(variants));
        var jobs = (from v in Enumerable.Range(0, voices) from k in Enumerable.Range(0, variants) select (v, k)).ToArray();
        var texts = jobs.Select((_, j) => utterancesOf(j)).ToArray();
        var results = new (int, float[][])[jobs.Length];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) }, j =>
        {
            var (v, k) = jobs[j];
            var (rate, pitch) = Variants[k];
            var speech = SpeechSynthesizer.Speak(texts[j], Voices[v], rate, pitch)
                ?? texts[j].Select(u => SpeechSynthesizer.Speak([u], Voices[v], rate, pitch)?[0] ?? []).ToArray();
            results[j] = (v, speech);
        });
        return results;
    }

    /// <summary>Per-utterance normalised log-mel features (N, 40, frames): <see cref="LogMelFeatures"/> then zero mean and unit variance over each clip, computed in chunks to bound memory.</summary>
    public static Tensor LogMel(Tensor audio)
    {
        ArgumentNullException.ThrowIfNull(audio);
        if (audio.Rank != 2) throw new ArgumentException($"SpeechCorpus.LogMel: audio must be (N, samples), got shape {Spectral.Shape(audio)}", nameof(audio));
        using var _ = Autograd.NoGrad();
        var chunks = new List<Tensor>();
        for (int start = 0; start < audio.Size(0); start += 128)
        {
            var clip = audio.Narrow(0, start, Math.Min(128, audio.Size(0) - start));
            chunks.Add(LogMelFeatures.Normalize(Front.Call(clip)));
        }
        return Tensor.Cat([.. chunks], 0);
    }

    static readonly LogMelFeatures Front = new(new MelSpectrogram(SampleRate, 400, hopLength: 160, nMels: 40));
}
