namespace DeepSharp.Audio.Tests;

/// <summary>The espeak-ng corpora at their small defaults: synthesised once into a cache folder, split by voice.</summary>
public class SpeechDataTests
{
    internal static void RequireEspeak()
    {
        if (File.Exists("/usr/bin/espeak-ng")) return;
        const string message = "espeak-ng is missing: apt-get install espeak-ng";
        if (Requires.InCi) Assert.Fail("CI must install it (.ci/run): " + message);
        Assert.Skip(message);
    }

    [Fact]
    public void SpokenDigitsAreSynthesisedOnceAndSplitByVoice()
    {
        RequireEspeak();
        var cache = Path.Combine(Path.GetTempPath(), $"speech-{Guid.NewGuid():N}");
        try
        {
            var said = new List<string>();
            var digits = SpokenDigits.Load(cache, seed: 1, voices: 4, variants: 1, log: said.Add);
            Assert.Single(said);
            Assert.Single(Directory.GetFiles(Path.Combine(cache, "spoken-digits")));   // no partial file left behind
            var train = digits.Indices(test: false);
            var test = digits.Indices(test: true);
            Assert.NotEmpty(train);
            Assert.NotEmpty(test);
            Assert.All(test, i => Assert.True(SpeechCorpus.IsTestVoice(digits.VoiceOf[i])));
            var again = SpokenDigits.Load(cache, seed: 1, voices: 4, variants: 1, log: said.Add);
            Assert.Single(said);                                                              // read from the cache
            Assert.Equal(digits.VoiceOf, again.VoiceOf);
            Assert.Contains("voices must be in [4,", Assert.Throws<ArgumentException>(() => SpokenDigits.Load(cache, voices: 3)).Message);
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [Fact]
    public void SpokenDigitStringsHoldTheirDigitsAndVoices()
    {
        RequireEspeak();
        var cache = Path.Combine(Path.GetTempPath(), $"speech-{Guid.NewGuid():N}");
        try
        {
            var strings = SpokenDigitStrings.Load(cache, seed: 2, voices: 4, variants: 1, sentences: 2);
            Assert.Equal(strings.Digits.Length, strings.VoiceOf.Length);
            Assert.All(strings.Digits, d => { Assert.InRange(d.Length, 3, 5); Assert.All(d, x => Assert.InRange(x, 0, 9)); });
            Assert.NotEmpty(strings.Indices(test: true));
            Assert.Contains("voices must be in [4,", Assert.Throws<ArgumentException>(() => SpokenDigitStrings.Load(cache, voices: 99)).Message);
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
