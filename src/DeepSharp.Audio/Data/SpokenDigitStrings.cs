using DeepSharp.IO;

namespace DeepSharp.Audio;

/// <summary>
/// Spoken digit strings ("three one four one") for recognition, synthesised with espeak-ng like <see cref="SpokenDigits"/>:
/// per voice and (rate, pitch) variant, <c>sentences</c> random strings of 3-5 digits, each placed at a random offset in
/// a 3.5 s clip at 16 kHz with a random gain and Gaussian noise at 5-30 dB SNR. The cache keeps the clean speech; the
/// placement and noise are drawn from the seed when loading. Split by voice (every fourth voice held out).
/// The default is 8 voices × 3 variants × 10 strings (240); the full recipe 24 × 9 × 12 (2592).
/// </summary>
public sealed class SpokenDigitStrings
{
    /// <summary>Samples per clip (3.5 s at 16 kHz); longer strings are dropped when generating.</summary>
    public const int ClipLength = 56000;
    /// <summary>Shortest and longest string.</summary>
    public const int MinDigits = 3, MaxDigits = 5;

    readonly float[] speech;
    readonly long[] offsets;
    readonly int seed;

    /// <summary>The digits spoken in each clip.</summary>
    public int[][] Digits { get; }
    /// <summary>Voice index of each clip (into <see cref="SpeechCorpus.Voices"/>).</summary>
    public int[] VoiceOf { get; }
    /// <summary>Number of clips.</summary>
    public int Count => Digits.Length;

    SpokenDigitStrings(float[] speech, long[] offsets, int[][] digits, int[] voiceOf, int seed)
    { this.speech = speech; this.offsets = offsets; Digits = digits; VoiceOf = voiceOf; this.seed = seed; }

    /// <summary>
    /// Loads the cached set for <paramref name="seed"/> (synthesising it first when missing) from <paramref name="cacheDir"/>
    /// (default <see cref="SpeechCorpus.DefaultCacheRoot"/>, subfolder spoken-digit-strings): the first
    /// <paramref name="voices"/> voices, the first <paramref name="variants"/> rate × pitch variants and
    /// <paramref name="sentences"/> strings per voice and variant.
    /// </summary>
    public static SpokenDigitStrings Load(string? cacheDir = null, int seed = 0, int voices = 8, int variants = 3, int sentences = 10, Action<string>? log = null)
    {
        SpeechCorpus.CheckVoices("SpokenDigitStrings", voices);
        if (sentences < 1) throw new ArgumentException($"SpokenDigitStrings: sentences must be positive, got {sentences}", nameof(sentences));
        var t = SpeechCorpus.LoadOrSynthesize(cacheDir, "spoken-digit-strings", $"strings-v1-seed{seed}-voices{voices}-variants{variants}-sentences{sentences}.safetensors",
            "spoken digit strings", log, () => Generate(seed, voices, variants, sentences));
        var digitOffsets = t["digit_offsets"].ToArray<long>();
        var flat = t["digits"].ToArray<long>();
        var digits = Enumerable.Range(0, digitOffsets.Length - 1)
            .Select(i => flat[(int)digitOffsets[i]..(int)digitOffsets[i + 1]].Select(d => (int)d).ToArray()).ToArray();
        return new SpokenDigitStrings(t["speech"].ToArray<float>(), t["offsets"].ToArray<long>(), digits,
            t["voice"].ToArray<long>().Select(v => (int)v).ToArray(), seed);
    }

    static Dictionary<string, Tensor> Generate(int seed, int voices, int variants, int sentences)
    {
        var strings = new List<int[]>[voices * variants];
        var spoken = SpeechCorpus.Synthesize(voices, variants, job =>
        {
            var rng = new System.Random(seed * 7919 + job);
            strings[job] = Enumerable.Range(0, sentences).Select(_ => Enumerable.Range(0, rng.Next(MinDigits, MaxDigits + 1)).Select(_ => rng.Next(10)).ToArray()).ToList();
            return strings[job].Select(s => string.Join(" ", s.Select(d => SpokenDigits.Words[d]))).ToArray();
        });
        var audio = new List<float>(); var offsets = new List<long> { 0 }; var flat = new List<long>(); var digitOffsets = new List<long> { 0 }; var voiceOf = new List<long>();
        for (int job = 0; job < spoken.Length; job++)
            for (int s = 0; s < spoken[job].Speech.Length; s++)
            {
                var clean = spoken[job].Speech[s];
                if (clean.Length == 0 || clean.Length > ClipLength) continue;
                audio.AddRange(clean); offsets.Add(audio.Count);
                flat.AddRange(strings[job][s].Select(d => (long)d)); digitOffsets.Add(flat.Count);
                voiceOf.Add(spoken[job].Voice);
            }
        return new Dictionary<string, Tensor>
        {
            ["speech"] = Tensor.FromArray(audio.ToArray(), audio.Count),
            ["offsets"] = Tensor.FromArray(offsets.ToArray(), offsets.Count),
            ["digits"] = Tensor.FromArray(flat.ToArray(), flat.Count),
            ["digit_offsets"] = Tensor.FromArray(digitOffsets.ToArray(), digitOffsets.Count),
            ["voice"] = Tensor.FromArray(voiceOf.ToArray(), voiceOf.Count),
        };
    }

    /// <summary>Indices of the training (seen voices) or test (held-out voices) clips.</summary>
    public int[] Indices(bool test) => Enumerable.Range(0, Count).Where(i => SpeechCorpus.IsTestVoice(VoiceOf[i]) == test).ToArray();

    /// <summary>Clip <paramref name="index"/>: its clean speech placed in <see cref="ClipLength"/> samples with gain and noise drawn from the seed and index.</summary>
    public float[] Clip(int index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), $"SpokenDigitStrings: index {index} is outside [0, {Count})");
        return Augment.Place(speech[(int)offsets[index]..(int)offsets[index + 1]], ClipLength, new System.Random(seed * 1_000_003 + index));
    }

    /// <summary>The words of clip <paramref name="index"/>, e.g. "three one four".</summary>
    public string Text(int index) => string.Join(" ", Digits[index].Select(d => SpokenDigits.Words[d]));

    /// <summary>Normalised log-mel features (n, 40, 351) of the clips <paramref name="indices"/> (<see cref="SpeechCorpus.LogMel"/>), computed in chunks.</summary>
    public Tensor Features(IReadOnlyList<int> indices)
    {
        var chunks = new List<Tensor>();
        for (int start = 0; start < indices.Count; start += 64)
        {
            int n = Math.Min(64, indices.Count - start);
            var clips = new float[n * ClipLength];
            for (int i = 0; i < n; i++) Clip(indices[start + i]).CopyTo(clips, i * ClipLength);
            chunks.Add(SpeechCorpus.LogMel(Tensor.FromArray(clips, n, ClipLength)));
        }
        return Tensor.Cat([.. chunks], 0);
    }

    /// <summary>CTC targets (n, <see cref="MaxDigits"/>) of the clips <paramref name="indices"/>: digit d as class d + 1 (0 is the blank), padded with 0.</summary>
    public Tensor Targets(IReadOnlyList<int> indices)
    {
        var t = new long[indices.Count * MaxDigits];
        for (int i = 0; i < indices.Count; i++)
            for (int j = 0; j < Digits[indices[i]].Length; j++) t[i * MaxDigits + j] = Digits[indices[i]][j] + 1;
        return Tensor.FromArray(t, indices.Count, MaxDigits);
    }
}
