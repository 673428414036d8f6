// Does decoding and augmentation keep a ResNet-18 training step fed? Writes a folder of 224x224 JPEGs (4 classes,
// photo-like: smooth shapes, colour and sensor-like noise, quality 90, 4:2:0), then measures, alternating, three times:
//   - DeepSharp: ImageFolderDataset (managed JPEG decoder) + RandomResizedCrop(224), RandomHorizontalFlip, Normalize in a
//     DataLoader with W workers: images/s over whole epochs;
//   - torchvision: ImageFolder (PIL) + the same transforms in a DataLoader with W workers (torchvision_loader.py, Debian's
//     /usr/bin/python3 with python3-torchvision), when available;
// and once: a ResNet-18 (torchvision layout, 1000 classes) training step (forward, cross-entropy, backward, SGD) at batch B
// on all cores: images/s. The loader keeps the step fed when its images/s exceed the step's.
// Run: dotnet run -c Release --project benchmarks/ImageLoading [-- --images 256 --workers 2 --batch 32 --steps 3 --repeats 3]
using System.Diagnostics;
using System.Globalization;
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Models;
using DeepSharp.Vision.Transforms;

var o = Args.Parse(args);
var folder = Path.Combine(Path.GetTempPath(), $"deepsharp-jpeg224-{o.Images}");
long bytes = PhotoFolder.Write(folder, o.Images);
Console.WriteLine($"{o.Images} JPEGs of 224x224 in {folder}, {bytes / o.Images / 1024.0:F1} KB each on average; {o.Workers} workers, batch {o.Batch}");

var transform = new Compose(new RandomResizedCrop(224), new RandomHorizontalFlip(),
    new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]));
var dataset = new ImageFolderDataset(folder, transform);
double DeepSharpLoader()
{
    var loader = new DataLoader(dataset, o.Batch, shuffle: true, numWorkers: o.Workers);
    var clock = Stopwatch.StartNew();
    int n = 0;
    foreach (var batch in loader) n += batch[0].Shape[0];
    return n / clock.Elapsed.TotalSeconds;
}

var script = Path.Combine(AppContext.BaseDirectory, "torchvision_loader.py");
bool torchvision = File.Exists("/usr/bin/python3") && File.Exists(script) &&
    Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import torchvision, PIL\"") { RedirectStandardError = true })!.WaitForExitAndCode() == 0;
double TorchvisionLoader()
{
    // two epochs: the first pays for starting the worker processes, the second is the steady rate
    var psi = new ProcessStartInfo("/usr/bin/python3", $"{script} {folder} {o.Workers} {o.Batch} 2") { RedirectStandardOutput = true };
    using var p = Process.Start(psi)!;
    var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    p.WaitForExit();
    return double.Parse(lines[^1].Split(':')[1], CultureInfo.InvariantCulture);
}

DeepSharpLoader();   // warm-up: JIT and file cache
var ours = new List<double>();
var theirs = new List<double>();
for (int r = 0; r < o.Repeats; r++)
{
    ours.Add(DeepSharpLoader());
    Console.WriteLine($"run {r + 1}: DeepSharp loader {ours[^1]:F1} images/s");
    if (!torchvision) continue;
    theirs.Add(TorchvisionLoader());
    Console.WriteLine($"run {r + 1}: torchvision loader {theirs[^1]:F1} images/s");
}

double step = ResNetStep(o.Batch, o.Steps);
Console.WriteLine($"ResNet-18 training step (batch {o.Batch}, 224x224, {DeepSharp.Kernels.KernelThreadPool.ThreadCount} threads): {step:F1} images/s");
Console.WriteLine($"DeepSharp loader: {ours.Min():F1}-{ours.Max():F1} images/s = {ours.Min() / step:F1}-{ours.Max() / step:F1}x the step's rate");
if (torchvision)
    Console.WriteLine($"torchvision loader: {theirs.Min():F1}-{theirs.Max():F1} images/s; DeepSharp/torchvision {ours.Min() / theirs.Max():F2}-{ours.Max() / theirs.Min():F2}");
else Console.WriteLine("torchvision loader: skipped (needs /usr/bin/python3 with python3-torchvision and python3-pil)");

static double ResNetStep(int batch, int steps)
{
    DeepSharp.Random.Seed(0);
    var model = ResNet.ResNet18();
    var optimizer = new SGD(model.Parameters(), 0.01, momentum: 0.9);
    var x = Tensor.Randn(batch, 3, 224, 224);
    var y = Tensor.FromArray(Enumerable.Range(0, batch).Select(i => (long)(i % 1000)).ToArray());
    void Step()
    {
        optimizer.ZeroGrad();
        F.CrossEntropy(model.Call(x), y).Backward();
        optimizer.Step();
    }
    Step();   // warm-up
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < steps; i++) Step();
    return steps * batch / clock.Elapsed.TotalSeconds;
}

sealed record Args(int Images = 256, int Workers = 2, int Batch = 32, int Steps = 3, int Repeats = 3)
{
    public static Args Parse(string[] args)
    {
        var a = new Args();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            int v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            a = args[i] switch
            {
                "--images" => a with { Images = v }, "--workers" => a with { Workers = v }, "--batch" => a with { Batch = v },
                "--steps" => a with { Steps = v }, "--repeats" => a with { Repeats = v },
                _ => throw new ArgumentException($"unknown option {args[i]} (--images --workers --batch --steps --repeats)"),
            };
        }
        return a;
    }
}

static class PhotoFolder
{
    /// <summary>Writes the JPEGs once (reused by later runs); returns their total size in bytes.</summary>
    public static long Write(string folder, int count)
    {
        if (!Directory.Exists(folder) || Directory.GetFiles(folder, "*.jpg", SearchOption.AllDirectories).Length != count)
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
            var random = new System.Random(0);
            for (int i = 0; i < count; i++)
            {
                var dir = Path.Combine(folder, $"class{i % 4}");
                Directory.CreateDirectory(dir);
                Image.FromBytes(Picture(random), 224, 224, 3).Save(Path.Combine(dir, $"{i:D5}.jpg"), quality: 90);
            }
        }
        return Directory.GetFiles(folder, "*.jpg", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    }

    /// <summary>A smooth background, a few soft-edged blobs of colour, and per-pixel noise: JPEG sizes like photos'.</summary>
    static byte[] Picture(System.Random random)
    {
        var pixels = new byte[224 * 224 * 3];
        var blobs = Enumerable.Range(0, 6).Select(_ => (X: random.Next(224), Y: random.Next(224), R: 20 + random.Next(60),
            Colour: new[] { random.Next(256), random.Next(256), random.Next(256) })).ToArray();
        var background = new[] { random.Next(256), random.Next(256), random.Next(256) };
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++)
                for (int c = 0; c < 3; c++)
                {
                    double v = background[c] * (0.6 + 0.4 * x / 224.0);
                    foreach (var b in blobs)
                    {
                        double d = Math.Sqrt((x - b.X) * (x - b.X) + (y - b.Y) * (y - b.Y)) / b.R;
                        double w = Math.Clamp(1.5 - d, 0, 1);
                        v = v * (1 - w) + b.Colour[c] * w;
                    }
                    v += (random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 16 + 6 * Math.Sin(x * 0.3 + y * 0.2);
                    pixels[(y * 224 + x) * 3 + c] = (byte)Math.Clamp(v, 0, 255);
                }
        return pixels;
    }
}

static class ProcessExtensions
{
    public static int WaitForExitAndCode(this Process p) { p.WaitForExit(); return p.ExitCode; }
}
