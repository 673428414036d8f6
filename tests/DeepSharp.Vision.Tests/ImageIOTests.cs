using System.IO.Compression;
using System.Text.Json;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision.Tests;

/// <summary>PNG / PGM / PPM decoding against files written by tools/golden/vision_images.py, encoding round trips, corrupt input.</summary>
public class ImageIOTests
{
    static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures");

    sealed record Expected(int Height, int Width, int Channels, int MaxValue, ushort[] Samples);

    static readonly Lazy<Dictionary<string, Expected>> expected = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDir, "images.json")));
        var result = new Dictionary<string, Expected>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var v = p.Value;
            result[p.Name] = new Expected(v.GetProperty("height").GetInt32(), v.GetProperty("width").GetInt32(),
                v.GetProperty("channels").GetInt32(), v.GetProperty("maxValue").GetInt32(),
                v.GetProperty("samples").EnumerateArray().Select(x => (ushort)x.GetInt32()).ToArray());
        }
        return result;
    });

    public static IEnumerable<object[]> FixtureNames() => expected.Value.Keys.Order().Select(k => new object[] { k });

    static string FixturePath(string name) => Path.Combine(FixtureDir, "images", name);

    static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "ds-img-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    static void AssertSame(Expected want, Image got, string name)
    {
        Assert.True((want.Height, want.Width, want.Channels, want.MaxValue) == (got.Height, got.Width, got.Channels, got.MaxValue),
            $"{name}: expected {want.Height}x{want.Width}x{want.Channels} max {want.MaxValue}, got {got}");
        Assert.Equal(want.Samples, got.Samples);
    }

    [Fact]
    public void FixturesCoverEveryFormat()
    {
        var names = expected.Value.Keys.ToArray();
        foreach (var depth in new[] { 1, 2, 4, 8, 16 }) { Assert.Contains($"grey{depth}.png", names); Assert.Contains($"grey{depth}_adam7.png", names); }
        foreach (var kind in new[] { "rgb", "greyalpha", "rgba" })
            foreach (var depth in new[] { 8, 16 }) { Assert.Contains($"{kind}{depth}.png", names); Assert.Contains($"{kind}{depth}_adam7.png", names); }
        foreach (var depth in new[] { 1, 2, 4, 8 }) Assert.Contains($"palette{depth}.png", names);
        for (int f = 0; f < 5; f++) Assert.Contains($"rgb8_filter{f}.png", names);
        Assert.Contains("plain_grey.pgm", names); Assert.Contains("plain_rgb.ppm", names);
        Assert.Contains("pil_rgb.ppm", names); Assert.Contains("pil_grey.pgm", names);
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void DecodesFixture(string name)
    {
        var want = expected.Value[name];
        AssertSame(want, Image.Load(FixturePath(name)), name);
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void PngRoundTripsThroughOurEncoder(string name)
    {
        var image = Image.Load(FixturePath(name));
        foreach (var filter in Enum.GetValues<PngFilter>())
        {
            var back = Png.Decode(Png.Encode(image, filter));
            if (image.MaxValue is 255 or 65535) { Assert.Equal(image.MaxValue, back.MaxValue); Assert.Equal(image.Samples, back.Samples); }
            else
            {
                // other depths are rescaled to 8 or 16 bits; scaling back recovers the samples
                int target = image.MaxValue <= 255 ? 255 : 65535;
                Assert.Equal(target, back.MaxValue);
                var recovered = back.Samples.Select(v => (ushort)Math.Round(v * (double)image.MaxValue / target)).ToArray();
                Assert.Equal(image.Samples, recovered);
            }
            Assert.Equal((image.Height, image.Width, image.Channels), (back.Height, back.Width, back.Channels));
        }
    }

    [Theory]
    [InlineData("pil_rgb.ppm")] [InlineData("pil_grey.pgm")] [InlineData("pil_grey16.pgm")] [InlineData("plain_grey.pgm")]
    [InlineData("plain_rgb.ppm")] [InlineData("rgb12.ppm")]
    public void NetpbmRoundTripsPlainAndBinary(string name)
    {
        var image = Image.Load(FixturePath(name));
        foreach (var ascii in new[] { false, true })
        {
            var bytes = Netpbm.Encode(image, ascii);
            Assert.Equal((byte)(image.Channels == 1 ? (ascii ? '2' : '5') : (ascii ? '3' : '6')), bytes[1]);
            var back = Netpbm.Decode(bytes);
            Assert.Equal(image.MaxValue, back.MaxValue);
            Assert.Equal(image.Samples, back.Samples);
        }
    }

    [Fact]
    public void SaveAndLoadByExtension()
    {
        var dir = TempDir();
        var rgb = Image.Load(FixturePath("pil_rgb.png"));
        foreach (var ext in new[] { ".png", ".ppm" })
        {
            var path = Path.Combine(dir, "x" + ext);
            rgb.Save(path);
            Assert.Equal(rgb.Samples, Image.Load(path).Samples);
        }
        var pgm = Path.Combine(dir, "x.pgm");
        rgb.Save(pgm);
        Assert.Equal(rgb.ToGrayscale().Samples, Image.Load(pgm).Samples);
        var ex = Assert.Throws<ArgumentException>(() => rgb.Save(Path.Combine(dir, "x.tiff")));
        Assert.Contains(".tiff", ex.Message);
        Assert.Throws<ArgumentException>(() => Netpbm.Encode(Image.Load(FixturePath("rgba8.png"))));
    }

    [Fact]
    public void ToTensorScalesByMaxValueAndFromTensorRounds()
    {
        var img = new Image(1, 2, 3, [0, 255, 51, 102, 153, 204]);
        var t = img.ToTensor();
        Assert.Equal([3, 1, 2], t.Shape);
        Assert.Equal(new[] { 0f, 102 / 255f, 1f, 153 / 255f, 51 / 255f, 204 / 255f }, t.ToArray<float>());
        Assert.Equal(img.Samples, Image.FromTensor(t).Samples);
        var g16 = Image.Load(FixturePath("grey16.png"));
        Assert.Equal(g16.Samples[5] / 65535f, g16.ToTensor().ToArray<float>()[5], 6);
        var g2 = Image.Load(FixturePath("grey2.png"));
        Assert.All(g2.ToTensor().ToArray<float>(), v => Assert.Contains(v, new[] { 0f, 1f / 3, 2f / 3, 1f }));
        // save_image semantics: v·255 + 0.5, clamped, truncated
        var fromFloat = Image.FromTensor(Tensor.FromArray(new[] { -0.5f, 0.5f, 0.998f, 0.999f }, 1, 2, 2));
        Assert.Equal(new ushort[] { 0, 128, 254, 255 }, fromFloat.Samples);
    }

    [Fact]
    public void ColourConversionsFollowPil()
    {
        var rgba = new Image(1, 2, 4, [10, 20, 30, 40, 255, 0, 0, 7]);
        Assert.Equal(new ushort[] { 10, 20, 30, 255, 0, 0 }, rgba.ToRgb().Samples);
        // PIL L = R*299/1000 + G*587/1000 + B*114/1000
        Assert.Equal(new ushort[] { 18, 76 }, rgba.ToGrayscale().Samples);
        var grey = new Image(1, 2, 1, [5, 9]);
        Assert.Equal(new ushort[] { 5, 5, 5, 9, 9, 9 }, grey.ToRgb().Samples);
        Assert.Same(grey, grey.ToGrayscale());
    }

    // ----- corrupt input -----

    static byte[] Fixture(string name) => File.ReadAllBytes(FixturePath(name));

    static byte[] BuildPng(int width, int height, byte depth, byte colorType, byte[] raw, params (string Type, byte[] Data)[] before)
    {
        using var s = new MemoryStream();
        s.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = depth; ihdr[9] = colorType;
        Png.WriteChunk(s, "IHDR", ihdr);
        foreach (var (type, data) in before) Png.WriteChunk(s, type, data);
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) zs.Write(raw);
        Png.WriteChunk(s, "IDAT", z.ToArray());
        Png.WriteChunk(s, "IEND", []);
        return s.ToArray();
    }

    [Fact]
    public void HandBuiltPngDecodes()
    {
        var png = BuildPng(2, 2, 8, 0, [0, 10, 20, 2, 5, 5]);   // row 2 uses the Up filter
        Assert.Equal(new ushort[] { 10, 20, 15, 25 }, Png.Decode(png).Samples);
    }

    [Fact]
    public void CorruptCrcIsReported()
    {
        var data = Fixture("rgb8.png");
        data[^20] ^= 0x40;   // inside the last IDAT
        var ex = Assert.Throws<InvalidDataException>(() => Png.Decode(data));
        Assert.Contains("CRC mismatch in chunk IDAT", ex.Message);
    }

    [Fact]
    public void TruncatedFileIsReported()
    {
        var data = Fixture("rgba16.png");
        var ex = Assert.Throws<InvalidDataException>(() => Png.Decode(data.AsSpan(0, data.Length / 2)));
        Assert.Contains("truncated", ex.Message);
        var noEnd = data.AsSpan(0, data.Length - 12).ToArray();   // drop IEND
        Assert.Contains("IEND", Assert.Throws<InvalidDataException>(() => Png.Decode(noEnd)).Message);
    }

    [Fact]
    public void BadSignatureAndHeadersAreReported()
    {
        var data = Fixture("grey8.png");
        data[1] = (byte)'X';
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => Png.Decode(data)).Message);
        Assert.Contains("bit depth 16 is not allowed for colour type 3",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(1, 1, 16, 3, [0, 0, 0]))).Message);
        Assert.Contains("unknown colour type 5",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(1, 1, 8, 5, [0, 0]))).Message);
        Assert.Contains("not a JPEG, PNG, BMP, GIF, PPM or PGM", Assert.Throws<InvalidDataException>(() => Image.Decode("RIFF\0\0\0\0WEBP"u8)).Message);
    }

    [Fact]
    public void BadImageDataIsReported()
    {
        Assert.Contains("unknown filter type 7 on row 1",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(2, 2, 8, 0, [0, 1, 2, 7, 3, 4]))).Message);
        Assert.Contains("ends after 4 of 6 bytes",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(2, 2, 8, 0, [0, 1, 2, 0]))).Message);
        // a header promising a huge image (under ImageDecodeOptions.MaxPixels) with little data fails on the data, without
        // allocating the whole image
        Assert.Contains("ends after 2 of",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(12000, 12000, 8, 0, [0, 1]))).Message);
        Assert.Contains("cannot fit", Assert.Throws<InvalidDataException>(() => Netpbm.Decode("P6 12000 12000 255\n"u8)).Message);
        Assert.Contains("palette index 3 but the palette has 2 entries",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(1, 1, 8, 3, [0, 3], ("PLTE", [1, 2, 3, 4, 5, 6])))).Message);
        Assert.Contains("without a PLTE",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(1, 1, 8, 3, [0, 0]))).Message);
        Assert.Contains("unknown critical chunk ABCD",
            Assert.Throws<InvalidDataException>(() => Png.Decode(BuildPng(1, 1, 8, 0, [0, 0], ("ABCD", [1])))).Message);
        // an ancillary chunk we do not know is skipped
        Assert.Equal(new ushort[] { 9 }, Png.Decode(BuildPng(1, 1, 8, 0, [0, 9], ("abCd", [1]))).Samples);
        var garbage = BuildPng(1, 1, 8, 0, [0, 9]);
        Assert.Throws<InvalidDataException>(() => Png.Decode(CorruptIdatPayload(garbage)));
    }

    /// <summary>Replaces the zlib stream with garbage but keeps the CRC valid, so only inflation can notice.</summary>
    static byte[] CorruptIdatPayload(byte[] png)
    {
        using var s = new MemoryStream();
        s.Write(png.AsSpan(0, 8 + 25));   // signature + IHDR
        Png.WriteChunk(s, "IDAT", [0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x00]);
        Png.WriteChunk(s, "IEND", []);
        return s.ToArray();
    }

    [Fact]
    public void BadNetpbmIsReported()
    {
        Assert.Contains("P7", Assert.Throws<InvalidDataException>(() => Netpbm.Decode("P7\n1 1\n255\n"u8)).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Netpbm.Decode("P5\n2 2\n255\n\x01\x02"u8)).Message);
        Assert.Contains("exceeds maxval", Assert.Throws<InvalidDataException>(() => Netpbm.Decode("P2 1 1 10 11"u8)).Message);
        Assert.Contains("plain raster ends", Assert.Throws<InvalidDataException>(() => Netpbm.Decode("P3 1 1 10 1 2"u8)).Message);
        var ok = Netpbm.Decode("P2 # c\n2 1 # size\n10\n3 # x\n 4"u8);
        Assert.Equal(new ushort[] { 3, 4 }, ok.Samples);
        Assert.Equal(10, ok.MaxValue);
    }

    [Fact]
    public void LoadNamesTheFileInErrors()
    {
        var dir = TempDir();
        var path = Path.Combine(dir, "broken.png");
        var data = Fixture("grey8.png");
        File.WriteAllBytes(path, data.AsSpan(0, 40).ToArray());
        var ex = Assert.Throws<InvalidDataException>(() => Image.Load(path));
        Assert.Contains("broken.png", ex.Message);
        Assert.Throws<FileNotFoundException>(() => Image.Load(Path.Combine(dir, "missing.png")));
    }
}
