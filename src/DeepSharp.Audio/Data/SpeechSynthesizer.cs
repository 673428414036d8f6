using System.Diagnostics;

namespace DeepSharp.Audio;

/// <summary>
/// Speech from Debian's espeak-ng (a formant synthesiser: voice variants change formants, breathiness and pitch range).
/// Several utterances are spoken in one process, separated by SSML breaks, and cut apart again at the long silences.
/// </summary>
public static class SpeechSynthesizer
{
    /// <summary>True when the espeak-ng program can be started.</summary>
    public static bool IsAvailable
    {
        get
        {
            try { using var p = Process.Start(new ProcessStartInfo("espeak-ng", "--version") { RedirectStandardOutput = true, UseShellExecute = false }); p!.WaitForExit(); return p.ExitCode == 0; }
            catch (System.ComponentModel.Win32Exception) { return false; }
        }
    }

    /// <summary>
    /// Speaks <paramref name="utterances"/> with espeak-ng voice <paramref name="voice"/> (e.g. "en-us+f3") at
    /// <paramref name="rate"/> words per minute and <paramref name="pitch"/> (0-99); returns one 16 kHz mono float waveform
    /// per utterance, or null when the silences did not separate them cleanly.
    /// </summary>
    public static float[][]? Speak(IReadOnlyList<string> utterances, string voice, int rate, int pitch)
    {
        var wav = Path.Combine(Path.GetTempPath(), $"deepsharp-espeak-{Guid.NewGuid():N}.wav");
        try
        {
            var ssml = "<speak>" + string.Join("<break time=\"700ms\"/>", utterances) + "</speak>";
            var info = new ProcessStartInfo("espeak-ng") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var a in new[] { "-m", "-v", voice, "-s", rate.ToString(), "-p", pitch.ToString(), "-w", wav, "--stdin" }) info.ArgumentList.Add(a);
            using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start espeak-ng");
            process.StandardInput.Write(ssml); process.StandardInput.Close();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"espeak-ng -v {voice} failed ({process.ExitCode}): {error.Trim()}");
            var (waveform, rateHz) = WavFile.Read(wav);
            var audio = Spectral.Resample(waveform, rateHz, 16000).Reshape(-1).ToArray<float>();
            var pieces = SplitAtSilences(audio, 16000);
            return pieces.Count == utterances.Count ? [.. pieces] : null;
        }
        finally { File.Delete(wav); }
    }

    /// <summary>Cuts a waveform at silences of at least 0.35 s (10 ms frames below 2% of the peak RMS), dropping the silence.</summary>
    static List<float[]> SplitAtSilences(float[] audio, int sampleRate)
    {
        int frame = sampleRate / 100, frames = audio.Length / frame;
        var rms = new double[frames];
        for (int f = 0; f < frames; f++)
        {
            double s = 0;
            for (int i = 0; i < frame; i++) s += audio[f * frame + i] * audio[f * frame + i];
            rms[f] = Math.Sqrt(s / frame);
        }
        double threshold = 0.02 * (frames > 0 ? rms.Max() : 0);
        var pieces = new List<float[]>();
        int start = -1, quiet = 0;
        for (int f = 0; f <= frames; f++)
        {
            bool loud = f < frames && rms[f] > threshold;
            if (loud) { if (start < 0) start = f; quiet = 0; continue; }
            if (start < 0) continue;
            quiet++;
            if (quiet >= 35 || f == frames)
            {
                int end = f - quiet + 1;
                int from = Math.Max(0, (start - 2) * frame), to = Math.Min(audio.Length, (end + 2) * frame);
                pieces.Add(audio[from..to]);
                start = -1; quiet = 0;
            }
        }
        return pieces;
    }
}
