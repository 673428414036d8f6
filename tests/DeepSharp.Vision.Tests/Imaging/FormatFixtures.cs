using System.Text;
using System.Text.Json;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision.Tests.Imaging;

/// <summary>The JPEG/BMP/GIF corpus of tools/golden/vision_formats.py: files, reference pixels and tolerances.</summary>
internal static class FormatFixtures
{
    public static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "formats");

    public sealed record Case(string File, string? Reference, int Tolerance, string Note, string? Error);

    public static readonly Case[] Cases = Load();

    static Case[] Load()
    {
        var json = File.ReadAllText(Path.Combine(Folder, "formats.json"));
        return JsonSerializer.Deserialize<Case[]>(json, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
    }

    public static IEnumerable<object[]> Names(Func<Case, bool> filter) => Cases.Where(filter).Select(c => new object[] { c.File });

    public static Case Get(string file) => Cases.Single(c => c.File == file);

    public static byte[] Bytes(string file) => File.ReadAllBytes(Path.Combine(Folder, file));

    /// <summary>Reads a binary PGM (P5), PPM (P6) or PAM (P7) reference with maxval 255: (height, width, channels, samples).</summary>
    public static (int Height, int Width, int Channels, byte[] Samples) ReadReference(string file)
    {
        var data = Bytes(file);
        if (data[1] == '7')
        {
            int end = IndexOf(data, "ENDHDR\n"u8) + 7;
            var fields = Encoding.ASCII.GetString(data, 0, end).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ')).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            int w = int.Parse(fields["WIDTH"]), h = int.Parse(fields["HEIGHT"]), c = int.Parse(fields["DEPTH"]);
            return (h, w, c, data[end..]);
        }
        var image = Netpbm.Decode(data);
        return (image.Height, image.Width, image.Channels, image.ToBytes());
    }

    static int IndexOf(byte[] data, ReadOnlySpan<byte> needle) => data.AsSpan().IndexOf(needle);

    /// <summary>Largest per-sample difference and the share of samples that differ at all.</summary>
    public static (int MaxDiff, double Mismatch) Compare(Image image, (int Height, int Width, int Channels, byte[] Samples) reference)
    {
        Assert.Equal((reference.Height, reference.Width, reference.Channels), (image.Height, image.Width, image.Channels));
        int max = 0, differ = 0;
        for (int i = 0; i < reference.Samples.Length; i++)
        {
            int d = Math.Abs(image.Samples[i] - reference.Samples[i]);
            if (d > 0) differ++;
            max = Math.Max(max, d);
        }
        return (max, (double)differ / reference.Samples.Length);
    }
}
