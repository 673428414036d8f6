// Int8 quantization of the Fashion CNN: static post-training quantization (calibrated) and dynamic quantization, with
// test accuracy, batch-64 latency (float32 and int8 timed alternately in the same process) and file sizes.
// Run: dotnet run -c Release --project examples/QuantizeFashion -- --model runs/cnn/model.safetensors --test 10000 --rounds 40 [--threads N]
// (--threads: the kernel pool's thread count, default one per core; the PyTorch side takes the same as its last argument)
using System.Globalization;

var settings = new QuantizeFashion.Settings();
for (int i = 0; i + 1 < args.Length; i += 2)
    settings = args[i] switch
    {
        "--model" => settings with { ModelFile = args[i + 1] },
        "--train" => settings with { TrainImages = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        "--test" => settings with { TestImages = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        "--calibrate" => settings with { CalibrationImages = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        "--rounds" => settings with { TimingRounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
        "--out" => settings with { OutputFolder = args[i + 1] },
        "--threads" => SetThreads(int.Parse(args[i + 1], CultureInfo.InvariantCulture), settings),
        _ => throw new ArgumentException($"unknown option {args[i]} (--model FILE, --train N, --test N, --calibrate N, --rounds N, --out DIR, --threads N)"),
    };
Console.WriteLine(QuantizeFashion.Run(settings, Console.Out));

static QuantizeFashion.Settings SetThreads(int threads, QuantizeFashion.Settings settings)
{
    if (threads < 1) throw new ArgumentException($"--threads must be at least 1, got {threads}");
    DeepSharp.Kernels.KernelThreadPool.SetThreadCount(threads);
    return settings;
}
