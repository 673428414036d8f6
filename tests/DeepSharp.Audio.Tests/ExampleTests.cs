namespace DeepSharp.Audio.Tests;

/// <summary>examples/SpokenDigits on reduced budgets (the full budgets and their results are in docs/audio.md).</summary>
public class ExampleTests
{
    static string Cache() => Path.Combine(Path.GetTempPath(), $"speech-example-{Guid.NewGuid():N}");

    [Fact]
    public void KeywordSpotterBeatsChanceOnHeldOutVoices()
    {
        SpeechDataTests.RequireEspeak();
        var cache = Cache();
        try
        {
            var output = new StringWriter();
            double accuracy = SpeechExample.Kws(epochs: 8, voices: 8, variants: 3, cache, output);
            // chance is 0.1; the default small set reaches about 0.78 in 10 epochs (docs/audio.md)
            Assert.True(accuracy >= 0.4, $"accuracy {accuracy}:\n{output}");
            Assert.Contains("test accuracy: ", output.ToString());
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [Fact]
    public void CtcRecogniserTrainsAndReportsAWordErrorRate()
    {
        SpeechDataTests.RequireEspeak();
        var cache = Cache();
        try
        {
            var output = new StringWriter();
            // 4 voices x 1 variant x 8 strings: 3 epochs only show that the loss falls from its random start towards
            // the CTC plateau and that decoding and scoring run; the WER target needs the full budget (docs/audio.md)
            var (wer, first, last) = SpeechExample.Ctc(epochs: 3, voices: 4, variants: 1, sentences: 8, cache, output, batchSize: 8);
            Assert.True(last < first, $"loss {first} -> {last}:\n{output}");
            Assert.True(double.IsFinite(wer) && wer >= 0, $"wer {wer}");
            Assert.Contains("test wer: ", output.ToString());
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
