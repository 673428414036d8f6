using DeepSharp.Audio;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp transcribe MODEL.safetensors FILE.wav`: the words a model from `deepsharp train --dataset spoken-digit-strings
/// --model ctc` (or the digit a `--model kws` model) hears in a WAV file of any sample rate; `--spectrogram OUT.png`
/// also draws the log-mel spectrogram the model sees (alone, without a model: `deepsharp transcribe --spectrogram OUT.png FILE.wav`).
/// </summary>
public static class TranscribeCommand
{
    const string Usage = """
        usage: deepsharp transcribe [MODEL.safetensors] FILE.wav [--beam N] [--spectrogram OUT.png]
          Reads FILE.wav (PCM 16/24/32-bit or float, any sample rate and channels: mixed to mono, resampled to 16 kHz) and
          prints what the speech model saved by 'deepsharp train --dataset spoken-digit-strings --model ctc' (or
          '--dataset spoken-digits --model kws') hears. --beam N uses CTC prefix beam search instead of greedy decoding.
          --spectrogram OUT.png writes the 40-band log-mel spectrogram the model sees; without MODEL only the picture is made.
        """;

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("transcribe", args, ["beam", "spectrogram"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        var picture = p.OptionalString("spectrogram");
        if (p.Positionals.Count is not (1 or 2) || (p.Positionals.Count == 1 && picture == null))
            throw new UsageException("deepsharp transcribe: give MODEL.safetensors FILE.wav (or --spectrogram OUT.png FILE.wav). Run 'deepsharp transcribe --help'.");
        var wav = p.Positionals[^1];
        if (!File.Exists(wav)) throw new FileNotFoundException($"deepsharp transcribe: no such file {wav}", wav);
        var waveform = SpeechModels.ReadMono16k(wav);
        if (picture != null)
        {
            SpectrogramImage.SaveLogMel(waveform, picture);
            output.WriteLine($"spectrogram: {picture}");
        }
        if (p.Positionals.Count == 2)
        {
            var modelPath = p.Positionals[0];
            if (!File.Exists(modelPath)) throw new FileNotFoundException($"deepsharp transcribe: no such model file {modelPath}", modelPath);
            output.WriteLine(SpeechModels.Transcribe(SpeechModels.Load(modelPath), waveform, p.Int("beam", 1, 1, 256)));
        }
        return 0;
    }
}
