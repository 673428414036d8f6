using DeepSharp.Audio;
using DeepSharp.IO;

namespace DeepSharp.Cli.Tests;

/// <summary>`deepsharp transcribe`, run as the real command on a WAV written here and a model file saved here.</summary>
public class CliTranscribeTests
{
    static string Wav(string root)
    {
        // one second of a 300 Hz tone at 22.05 kHz, stereo: transcribe resamples and mixes it down
        int rate = 22050;
        var data = new float[2 * rate];
        for (int i = 0; i < rate; i++) data[i] = data[rate + i] = 0.3f * MathF.Sin(2 * MathF.PI * 300 * i / rate);
        var path = Path.Combine(root, "tone.wav");
        WavFile.Write(path, Tensor.FromArray(data, 2, rate), rate);
        return path;
    }

    [Fact]
    public void DrawsTheSpectrogramAndTranscribesWithAKeywordModel()
    {
        var root = CliProcess.TempDir("cli-transcribe");
        var wav = Wav(root);
        var (code, output, err) = CliProcess.Run(["transcribe", "--spectrogram", "tone.png", wav], root);
        Assert.True(code == 0, $"exit {code}: {err}\n{output}");
        Assert.Contains("spectrogram: tone.png", output);
        Assert.True(new FileInfo(Path.Combine(root, "tone.png")).Length > 100);

        DeepSharp.Random.Seed(1);
        var model = Path.Combine(root, "kws.safetensors");
        SafeTensors.Save(model, new KeywordCnn(10, 8).StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = "kws", ["deepsharp.width"] = "8" });
        (code, output, err) = CliProcess.Run(["transcribe", model, wav], root);
        Assert.True(code == 0, $"exit {code}: {err}\n{output}");
        Assert.Contains(SpokenDigits.Words, w => output.StartsWith(w + " (p = ", StringComparison.Ordinal));
    }

    [Fact]
    public void BadInputGetsOneLineAndAnExitCode()
    {
        var root = CliProcess.TempDir("cli-transcribe-bad");
        var wav = Wav(root);
        var notAudio = Path.Combine(root, "weights.safetensors");
        SafeTensors.Save(notAudio, new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(3) });
        foreach (var (args, says) in new (string[], string)[]
        {
            (["transcribe", notAudio, wav], "is not an audio model"),
            (["transcribe", notAudio, Path.Combine(root, "missing.wav")], "no such file"),
            (["transcribe", wav], "give MODEL.safetensors FILE.wav"),
        })
        {
            var (code, output, err) = CliProcess.Run(args, root);
            Assert.NotEqual(0, code);
            Assert.Contains(says, err);
            Assert.DoesNotContain("   at ", err);   // one line, no stack trace
        }
    }
}
