using System.Diagnostics;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision.Tests.Imaging;

/// <summary>
/// Mutation fuzzing of every decoder: real files of the corpus, damaged at random (bit flips, random bytes, bytes 0xFF/0x00,
/// truncation, copied or deleted spans), must decode or fail with an <see cref="InvalidDataException"/>, quickly and without
/// large allocations. The test runs a fixed seeded budget (a few seconds); for a longer run set DEEPSHARP_FUZZ_SECONDS
/// (tools/fuzz_images.sh). An input that breaks the rule is written to DEEPSHARP_FUZZ_OUT (default: the temp folder) so it
/// can be added to Fixtures/fuzz, whose files <see cref="RegressionInputsFailCleanly"/> replays.
/// </summary>
public class ImageFuzzTests(ITestOutputHelper output)
{
    static readonly ImageDecodeOptions Options = new() { MaxPixels = 4_000_000 };

    static string[] Seeds() => FormatFixtures.Cases.Select(c => c.File)
        .Concat(Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "images"), "*.png").Select(f => Path.Combine("..", "images", Path.GetFileName(f))))
        .ToArray();

    [Fact]
    public void MutatedFilesDecodeOrFailCleanly()
    {
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("DEEPSHARP_FUZZ_SECONDS"), out var s) ? s : 3;
        var seeds = Seeds().Select(FormatFixtures.Bytes).ToArray();
        var random = new System.Random(20261204);
        var clock = Stopwatch.StartNew();
        int runs = 0, decoded = 0;
        while (clock.Elapsed.TotalSeconds < seconds || runs < 200)
        {
            var input = Mutate(seeds[random.Next(seeds.Length)], random);
            runs++;
            var started = clock.Elapsed;
            try { Image.Decode(input, Options); decoded++; }
            catch (InvalidDataException) { }
            catch (Exception e)
            {
                var path = Save(input);
                Assert.Fail($"run {runs}: {e.GetType().Name}: {e.Message} (input saved to {path})\n{e.StackTrace}");
            }
            var took = clock.Elapsed - started;
            if (took.TotalSeconds > 2) Assert.Fail($"run {runs}: decoding took {took.TotalSeconds:F1}s (input saved to {Save(input)})");
        }
        output.WriteLine($"{runs} mutated inputs in {clock.Elapsed.TotalSeconds:F1}s: {decoded} decoded, {runs - decoded} refused with InvalidDataException");
        Assert.True(decoded > 0 && decoded < runs, "the mutations should leave some files decodable and break others");
    }

    [Fact]
    public void RegressionInputsFailCleanly()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz");
        var files = Directory.EnumerateFiles(folder).ToArray();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            try { Image.Decode(File.ReadAllBytes(file), Options); }
            catch (InvalidDataException) { }
        }
    }

    static string Save(byte[] input)
    {
        var folder = Environment.GetEnvironmentVariable("DEEPSHARP_FUZZ_OUT") ?? Path.GetTempPath();
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"fuzz-{Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(input))[..12]}.bin");
        File.WriteAllBytes(path, input);
        return path;
    }

    /// <summary>One to four random edits of a copy of <paramref name="seed"/>.</summary>
    internal static byte[] Mutate(byte[] seed, System.Random random)
    {
        var data = new List<byte>(seed);
        int edits = 1 + random.Next(4);
        for (int e = 0; e < edits && data.Count > 2; e++)
        {
            int at = random.Next(data.Count);
            switch (random.Next(7))
            {
                case 0: data[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: data[at] = (byte)random.Next(256); break;
                case 2: data[at] = random.Next(2) == 0 ? (byte)0xFF : (byte)0x00; break;
                case 3: data.RemoveRange(at, data.Count - at); break;
                case 4: data.RemoveRange(at, Math.Min(1 + random.Next(16), data.Count - at)); break;
                case 5:
                    int from = random.Next(data.Count), length = Math.Min(1 + random.Next(64), data.Count - from);
                    data.InsertRange(at, data.GetRange(from, length));
                    break;
                default:
                    // a big-endian or little-endian 16-bit field set to an extreme (sizes, lengths, counts)
                    if (at + 1 < data.Count) { data[at] = random.Next(2) == 0 ? (byte)0xFF : (byte)0x7F; data[at + 1] = (byte)0xFF; }
                    break;
            }
        }
        return data.ToArray();
    }
}
