// MelSpectrogram of one second at 16 kHz (n_fft 400, hop 160, 80 mels), the DeepSharp side of benchmarks/mel_vs_torchaudio.sh:
// warm-up, then the median of 200 calls in microseconds. Run: dotnet run -c Release --project benchmarks/MelTiming
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Audio;

DeepSharp.Random.Seed(0);
var wave = Tensor.Randn(1, 16000);
var mel = new MelSpectrogram(16000, 400, hopLength: 160, nMels: 80);
using var _ = Autograd.NoGrad();
for (int i = 0; i < 50; i++) mel.Call(wave);
var times = new double[200];
for (int i = 0; i < times.Length; i++)
{
    var clock = Stopwatch.StartNew();
    mel.Call(wave);
    times[i] = clock.Elapsed.TotalMicroseconds;
}
Array.Sort(times);
Console.WriteLine($"deepsharp mel 1s@16k: {times[times.Length / 2]:F0} us (median of {times.Length})");
