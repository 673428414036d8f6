using System.Buffers.Binary;
using System.Diagnostics;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision.Tests.Imaging;

/// <summary>
/// Hostile and broken input: every decoder answers with an <see cref="InvalidDataException"/> that says what is wrong,
/// quickly and without allocating for what the header merely claims.
/// </summary>
public class HostileInputTests
{
    /// <summary>Runs <paramref name="decode"/>, expecting an InvalidDataException containing <paramref name="expected"/>, within 2 s and 64 MB.</summary>
    static void AssertRefused(Func<Image> decode, string expected, long maxBytes = 64L << 20)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidDataException>(() => decode());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(clock.Elapsed.TotalSeconds < 2, $"refusing took {clock.Elapsed.TotalSeconds:F1}s");
        Assert.True(allocated < maxBytes, $"refusing allocated {allocated:N0} bytes: {e.Message}");
    }

    static byte[] Fixture(string name) => FormatFixtures.Bytes(name);

    /// <summary>The offset of the first marker segment <paramref name="marker"/> (its 0xFF byte) before the first scan's data.</summary>
    static int Segment(byte[] jpeg, int marker)
    {
        for (int pos = 2; pos + 3 < jpeg.Length;)
        {
            if (jpeg[pos + 1] == marker) return pos;
            if (jpeg[pos + 1] == 0xDA) break;
            pos += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(pos + 2));
        }
        throw new InvalidOperationException($"no marker {marker:X2}");
    }

    static byte[] WithSize(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        int sof;
        try { sof = Segment(copy, 0xC2); } catch (InvalidOperationException) { sof = Segment(copy, 0xC0); }
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 7), (ushort)width);
        return copy;
    }

    [Fact]
    public void AbsurdDimensionsAreRefusedBeforeAllocating()
    {
        // 65535 x 65535 = 4.3 gigapixels: a JPEG, BMP, GIF and PPM header each claim it; a PNG claims 20000 x 20000
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9];
        AssertRefused(() => Image.Decode(jpeg), "MaxPixels", 1 << 20);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, 20000); BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), 20000);
        ihdr[8] = 8; ihdr[9] = 2;
        byte[] type = "IHDR"u8.ToArray();
        var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0, 0, 13 };
        png.AddRange(type); png.AddRange(ihdr);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Compute(type, ihdr));
        png.AddRange(crc);
        AssertRefused(() => Image.Decode(png.ToArray()), "MaxPixels", 1 << 20);
        var bmp = Fixture("rose_24.bmp");
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 100_000); BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 100_000);
        AssertRefused(() => Image.Decode(bmp), "MaxPixels", 1 << 20);
        var gif = Fixture("rose.gif");
        gif[6] = gif[7] = gif[8] = gif[9] = 0xFF;
        AssertRefused(() => Image.Decode(gif), "MaxPixels", 1 << 20);
        AssertRefused(() => Image.Decode("P6\n65535 65535\n255\n\0\0\0"u8), "MaxPixels", 1 << 20);
    }

    [Fact]
    public void TheLimitIsAnOverridableOption()
    {
        var jpeg = Fixture("rose_420.jpg");   // 47 x 31 = 1457 pixels
        AssertRefused(() => Image.Decode(jpeg, new ImageDecodeOptions { MaxPixels = 1000 }), "over the limit of 1,000");
        Assert.Equal(31, Image.Decode(jpeg, new ImageDecodeOptions { MaxPixels = 1457 }).Height);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDecodeOptions { MaxPixels = 0 });
        var saved = ImageDecodeOptions.Default;
        try
        {
            ImageDecodeOptions.Default = new ImageDecodeOptions { MaxPixels = 100 };
            AssertRefused(() => Image.Decode(jpeg), "MaxPixels");
        }
        finally { ImageDecodeOptions.Default = saved; }
    }

    [Theory]
    [InlineData("rose_420.jpg")]
    [InlineData("rose_progressive.jpg")]
    public void AHeaderClaimingMoreBlocksThanTheDataHoldsIsRefusedWithoutAllocating(string file)
    {
        // 8000 x 8000 is under the pixel limit, but the scan's few hundred bytes cannot hold a million blocks: a bomb
        AssertRefused(() => Image.Decode(WithSize(Fixture(file), 8000, 8000)), "too few for", 1 << 20);
    }

    [Fact]
    public void ProgressiveScansAreCapped()
    {
        var jpeg = Fixture("rose_progressive.jpg");
        AssertRefused(() => Image.Decode(jpeg, new ImageDecodeOptions { MaxScans = 3 }), "MaxScans");
        Assert.Equal(47, Image.Decode(jpeg).Width);
    }

    public static IEnumerable<object[]> AllFiles => FormatFixtures.Names(c => c.Error == null && !c.File.EndsWith(".gif"));

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void TruncatedFilesAreRefused(string file)
    {
        var data = Fixture(file);
        foreach (double fraction in new[] { 0.0, 0.05, 0.2, 0.5, 0.8, 0.99 })
        {
            int length = Math.Max(1, (int)(data.Length * fraction));
            AssertRefused(() => Image.Decode(data.AsSpan(0, length)), file.EndsWith(".bmp") && length < 18 ? "not a" : "");
        }
        // a JPEG needs its last byte (the EOI marker); an RLE bitmap whose rows are complete does not need its end code
        if (file.EndsWith(".jpg")) AssertRefused(() => Image.Decode(data.AsSpan(0, data.Length - 1)), "truncated");
    }

    [Fact]
    public void TruncatedGifsAreRefusedUntilTheFirstFrameIsComplete()
    {
        var data = Fixture("rose_animation.gif");
        AssertRefused(() => Image.Decode(data.AsSpan(0, 400)), "truncated");
        AssertRefused(() => Image.Decode(data.AsSpan(0, 12)), "truncated");
    }

    [Fact]
    public void WrongMarkersAndSegmentsAreNamed()
    {
        var jpeg = Fixture("rose_420.jpg");
        var noMarker = (byte[])jpeg.Clone(); noMarker[2] = 0x12;
        AssertRefused(() => Image.Decode(noMarker.Prepend((byte)0).ToArray()), "not a JPEG");
        AssertRefused(() => Jpeg.Decode(noMarker), "expected a marker");
        int sof = Segment(jpeg, 0xC0);
        var lossless = (byte[])jpeg.Clone(); lossless[sof + 1] = 0xC3;
        AssertRefused(() => Image.Decode(lossless), "lossless");
        var twelveBit = (byte[])jpeg.Clone(); twelveBit[sof + 4] = 12;
        AssertRefused(() => Image.Decode(twelveBit), "12-bit");
        var noFrame = (byte[])jpeg.Clone(); noFrame[sof + 1] = 0xE5;   // the SOF becomes an APP5 segment
        AssertRefused(() => Image.Decode(noFrame), "before the frame header");
        int dht = Segment(jpeg, 0xC4);
        var badClass = (byte[])jpeg.Clone(); badClass[dht + 4] = 0x25;
        AssertRefused(() => Image.Decode(badClass), "table class 2");
        // the luminance DC table's counts 0,1,5 become 2,0,4: as many symbols, but two 1-bit codes leave no room for the rest
        var overflow = (byte[])jpeg.Clone(); overflow[dht + 5] = 2; overflow[dht + 6] = 0; overflow[dht + 7] = 4;
        AssertRefused(() => Image.Decode(overflow), "Huffman table overflows");
        var zeroLength = (byte[])jpeg.Clone(); zeroLength[dht + 2] = 0; zeroLength[dht + 3] = 1;
        AssertRefused(() => Image.Decode(zeroLength), "invalid length");
        int dqt = Segment(jpeg, 0xDB);
        var longSegment = (byte[])jpeg.Clone(); longSegment[dqt + 2] = 0xFF;
        AssertRefused(() => Image.Decode(longSegment), "");
    }

    [Fact]
    public void CorruptScanDataIsRefused()
    {
        var jpeg = Fixture("rose_420.jpg");
        int sos = Segment(jpeg, 0xDA);
        int data = sos + 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(sos + 2));
        var undefinedTable = (byte[])jpeg.Clone(); undefinedTable[sos + 6] = 0x33;
        AssertRefused(() => Image.Decode(undefinedTable), "was not defined");
        // a restart marker in the middle of the data of a file without restart intervals cuts the scan short
        var cut = jpeg.Take(data + 40).Concat(new byte[] { 0xFF, 0xD0 }).Concat(jpeg.Skip(data + 40)).ToArray();
        AssertRefused(() => Image.Decode(cut), "");
        // every data byte 0xFF 0x00 (stuffed 0xFF): no valid code sequence ends the blocks properly
        var ones = (byte[])jpeg.Clone();
        for (int i = data; i < jpeg.Length - 2; i++) ones[i] = i % 2 == data % 2 ? (byte)0xFF : (byte)0;
        AssertRefused(() => Image.Decode(ones), "");
    }

    [Fact]
    public void LoadNamesTheFile()
    {
        var path = Path.Combine(TestFiles.TempDir(), "broken.jpg");
        File.WriteAllBytes(path, Fixture("rose_420.jpg")[..300]);
        var e = Assert.Throws<InvalidDataException>(() => Image.Load(path));
        Assert.Contains("broken.jpg", e.Message);
        Assert.Contains("truncated", e.Message);
    }
}
