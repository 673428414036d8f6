// MelSpectrogram of one second at 16 kHz, the DeepSharp side of benchmarks/mel_vs_torchaudio.sh: for each configuration
// n_fft/hop/n_mels (arguments, default 400/160/80 400/200/128 512/160/80), a warm-up, then the median of 200 calls in
// microseconds, one line each. Run: dotnet run -c Release --project benchmarks/MelTiming [400/160/80 ...]
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Audio;

string[] configs = args.Length > 0 ? args : ["400/160/80", "400/200/128", "512/160/80"];
DeepSharp.Random.Seed(0);
var wave = Tensor.Randn(1, 16000);
using var _ = Autograd.NoGrad();
foreach (var config in configs)
{
    var p = config.Split('/').Select(int.Parse).ToArray();
    var mel = new MelSpectrogram(16000, p[0], hopLength: p[1], nMels: p[2]);
    for (int i = 0; i < 50; i++) mel.Call(wave);
    var times = new double[200];
    for (int i = 0; i < times.Length; i++)
    {
        var clock = Stopwatch.StartNew();
        mel.Call(wave);
        times[i] = clock.Elapsed.TotalMicroseconds;
    }
    Array.Sort(times);
    Console.WriteLine($"deepsharp {config}: {times[times.Length / 2]:F0} us (median of {times.Length})");
}
