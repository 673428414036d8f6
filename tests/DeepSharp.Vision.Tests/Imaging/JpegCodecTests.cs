using System.Buffers.Binary;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision.Tests.Imaging;

/// <summary>The JPEG pieces on their own: zig-zag order, the vector IDCT against its definition, the encoder.</summary>
public class JpegCodecTests
{
    [Fact]
    public void ZigZagFollowsFigureA6()
    {
        var z = JpegDecoder.ZigZag;
        Assert.Equal(new byte[] { 0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5 }, z[..16]);
        Assert.Equal(new byte[] { 61, 54, 47, 55, 62, 63 }, z[58..]);
        Assert.Equal(Enumerable.Range(0, 64), z.Select(b => (int)b).Order());
    }

    [Fact]
    public void VectorIdctMatchesTheDefinition()
    {
        var random = new System.Random(7);
        var quant = new ushort[64];
        for (int i = 0; i < 64; i++) quant[i] = (ushort)(1 + random.Next(40));
        int differ = 0, total = 0;
        var fast = new byte[64];
        var exact = new byte[64];
        for (int trial = 0; trial < 2000; trial++)
        {
            var coefficients = new short[64];
            int nonZero = trial % 4 == 0 ? 1 : 1 + random.Next(64);   // a quarter DC-only (the flat fast path)
            for (int k = 0; k < nonZero; k++) coefficients[JpegDecoder.ZigZag[k]] = (short)random.Next(-60, 61);
            if (trial % 4 == 0) coefficients[0] = (short)random.Next(-1024 / quant[0], 1024 / quant[0]);
            JpegIdct.Inverse(coefficients, quant, fast, 8);
            JpegIdct.InverseReference(coefficients, quant, exact, 8);
            for (int i = 0; i < 64; i++)
            {
                int d = Math.Abs(fast[i] - exact[i]);
                Assert.True(d <= 1, $"trial {trial}: sample {i} is {fast[i]}, the definition gives {exact[i]}");
                differ += d; total++;
            }
        }
        Assert.True(differ < total / 1000, $"{differ} of {total} samples off by one: float rounding should almost never show");
    }

    [Fact]
    public void ForwardThenInverseDctIsTheIdentity()
    {
        var random = new System.Random(3);
        var samples = new float[64];
        for (int i = 0; i < 64; i++) samples[i] = random.Next(256) - 128;
        var dct = new float[64];
        JpegIdct.Forward(samples, dct);
        var coefficients = dct.Select(v => (short)MathF.Round(v * 16)).ToArray();   // quantize by 1/16: keeps 4 fractional bits
        var quant = Enumerable.Repeat((ushort)1, 64).ToArray();
        var back = new byte[64];
        JpegIdct.Inverse(coefficients.Select(c => (short)(c / 16)).ToArray(), quant, back, 8);
        for (int i = 0; i < 64; i++) Assert.InRange(back[i] - (samples[i] + 128), -4, 4);
    }

    static Image Rose() => Netpbm.Decode(FormatFixtures.Bytes("rose_444.ref.ppm"));

    static double Psnr(Image a, Image b)
    {
        double sum = 0;
        for (int i = 0; i < a.Samples.Length; i++) { double d = a.Samples[i] - b.Samples[i]; sum += d * d; }
        return 10 * Math.Log10(255.0 * 255 / (sum / a.Samples.Length));
    }

    /// <summary>The payloads of the DQT, DHT and SOF0 segments, in file order.</summary>
    static List<(int Marker, byte[] Payload)> Tables(byte[] jpeg)
    {
        var result = new List<(int, byte[])>();
        for (int pos = 2; jpeg[pos + 1] != 0xDA;)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(pos + 2));
            if (jpeg[pos + 1] is 0xDB or 0xC4 or 0xC0) result.Add((jpeg[pos + 1], jpeg[(pos + 4)..(pos + 2 + length)]));
            pos += 2 + length;
        }
        return result;
    }

    [Fact]
    public void EncoderWritesTheTablesCjpegWritesAtTheSameQuality()
    {
        // rose_420.jpg is cjpeg's quality 75, 4:2:0: same quantization (Annex K scaled the IJG way), Huffman tables and SOF
        var ours = Tables(Jpeg.Encode(Rose(), quality: 75));
        var cjpeg = Tables(FormatFixtures.Bytes("rose_420.jpg"));
        Assert.Equal(cjpeg.Where(t => t.Marker == 0xDB).SelectMany(t => t.Payload), ours.Where(t => t.Marker == 0xDB).SelectMany(t => t.Payload));
        Assert.Equal(cjpeg.Where(t => t.Marker == 0xC4).SelectMany(t => t.Payload), ours.Where(t => t.Marker == 0xC4).SelectMany(t => t.Payload));
        Assert.Equal(cjpeg.Single(t => t.Marker == 0xC0).Payload, ours.Single(t => t.Marker == 0xC0).Payload);
    }

    /// <summary>The minimum PSNRs are libjpeg-turbo's (cjpeg then djpeg on the same picture: 45.62, 26.27, 27.61, 22.96 dB) less 0.3 dB.</summary>
    [Theory]
    [InlineData(95, JpegSubsampling.Chroma444, 45.3)]
    [InlineData(75, JpegSubsampling.Chroma420, 25.97)]
    [InlineData(75, JpegSubsampling.Chroma422, 27.3)]
    [InlineData(20, JpegSubsampling.Chroma420, 22.66)]
    public void EncodeThenDecodeKeepsThePicture(int quality, JpegSubsampling subsampling, double minPsnr)
    {
        var rose = Rose();
        var bytes = Jpeg.Encode(rose, quality, subsampling);
        var back = Jpeg.Decode(bytes);
        Assert.Equal((rose.Height, rose.Width, 3), (back.Height, back.Width, back.Channels));
        double psnr = Psnr(rose, back);
        Assert.True(psnr >= minPsnr, $"quality {quality} {subsampling}: PSNR {psnr:F1} dB < {minPsnr}");
    }

    [Fact]
    public void HigherQualityMeansLargerFilesAndCleanerPixels()
    {
        var rose = Rose();
        var sizes = new[] { 10, 50, 90, 100 }.Select(q => Jpeg.Encode(rose, q).Length).ToArray();
        Assert.True(sizes.Zip(sizes.Skip(1)).All(p => p.First < p.Second), string.Join(", ", sizes));
        Assert.True(Psnr(rose, Jpeg.Decode(Jpeg.Encode(rose, 100, JpegSubsampling.Chroma444))) > 45);
        Assert.Throws<ArgumentOutOfRangeException>(() => Jpeg.Encode(rose, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Jpeg.Encode(rose, 101));
    }

    [Fact]
    public void GreyAlphaAndSixteenBitImagesEncode()
    {
        var grey = Rose().ToGrayscale();
        var back = Jpeg.Decode(Jpeg.Encode(grey, 90));
        Assert.Equal(1, back.Channels);
        Assert.True(Psnr(grey, back) > 35);
        // RGBA: alpha dropped; 16-bit: scaled to 8 bits first
        var rgba = new Image(2, 3, 4, [.. Enumerable.Range(0, 24).Select(i => (ushort)(i % 4 == 3 ? 0 : 200))]);
        Assert.Equal(3, Jpeg.Decode(Jpeg.Encode(rgba)).Channels);
        var wide = new Image(8, 8, 1, Enumerable.Repeat((ushort)65535, 64).ToArray(), 65535);
        Assert.All(Jpeg.Decode(Jpeg.Encode(wide, 95)).Samples, v => Assert.InRange(v, 254, 255));
    }

    [Fact]
    public void ExifOrientationCanBeLeftAsStored()
    {
        var data = FormatFixtures.Bytes("exif_orientation_6.jpg");
        var upright = Jpeg.Decode(data);
        var stored = Jpeg.Decode(data, new ImageDecodeOptions { ApplyExifOrientation = false });
        Assert.Equal((24, 16), (upright.Height, upright.Width));
        Assert.Equal((16, 24), (stored.Height, stored.Width));
        Assert.Equal(stored.Samples, Exif.Orient(upright, 8).Samples);   // turning back the other way restores the file's pixels
    }

    [Fact]
    public void OrientMapsEachCorner()
    {
        // 2 x 3 grey image with values 0..5 row-major:  0 1 2 / 3 4 5
        var image = new Image(2, 3, 1, [0, 1, 2, 3, 4, 5]);
        int[] Shown(int o) => Exif.Orient(image, o).Samples.Select(v => (int)v).ToArray();
        Assert.Equal([0, 1, 2, 3, 4, 5], Shown(1));
        Assert.Equal([2, 1, 0, 5, 4, 3], Shown(2));
        Assert.Equal([5, 4, 3, 2, 1, 0], Shown(3));
        Assert.Equal([3, 4, 5, 0, 1, 2], Shown(4));
        Assert.Equal([0, 3, 1, 4, 2, 5], Shown(5));   // transpose
        Assert.Equal([3, 0, 4, 1, 5, 2], Shown(6));   // 90° clockwise
        Assert.Equal([5, 2, 4, 1, 3, 0], Shown(7));   // transverse
        Assert.Equal([2, 5, 1, 4, 0, 3], Shown(8));   // 90° anticlockwise
    }

    [Fact]
    public void MalformedExifIsIgnored()
    {
        Assert.Null(Exif.ReadOrientation("Exif\0\0XX*\0\0\0\0\0"u8));
        Assert.Null(Exif.ReadOrientation("Exif\0\0II*\0\xFF\xFF\0\0"u8.ToArray()));
        Assert.Null(Exif.ReadOrientation("JFIF\0"u8));
        byte[] sixEntries = [.. "Exif\0\0II*\0"u8, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0];
        Assert.Equal(6, Exif.ReadOrientation(sixEntries));
        sixEntries[^4] = 9;   // not an orientation
        Assert.Null(Exif.ReadOrientation(sixEntries));
    }
}
