using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision.Tests.Imaging;

/// <summary>
/// Every file of the corpus (tools/golden/vision_formats.py) decodes to its reference decoder's pixels within the case's
/// tolerance: exact for BMP and GIF (PIL), and for JPEG within 1 (grey, RGB) or 3 (YCbCr, CMYK) of djpeg's islow output with
/// fancy upsampling, with at most 5 % of samples differing at all.
/// </summary>
public class FormatCorpusTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Decodable => FormatFixtures.Names(c => c.Error == null);
    public static IEnumerable<object[]> Refused => FormatFixtures.Names(c => c.Error != null);

    [Theory]
    [MemberData(nameof(Decodable))]
    public void DecodesToReferencePixels(string file)
    {
        var fixture = FormatFixtures.Get(file);
        var image = Image.Decode(FormatFixtures.Bytes(file));
        var (maxDiff, mismatch) = FormatFixtures.Compare(image, FormatFixtures.ReadReference(fixture.Reference!));
        output.WriteLine($"{file}: max |diff| {maxDiff}, {mismatch:P2} of samples differ ({fixture.Note})");
        Assert.True(maxDiff <= fixture.Tolerance, $"{file}: max |diff| {maxDiff} > tolerance {fixture.Tolerance} ({fixture.Note})");
        // off-by-rounding samples are the exception, not the rule
        Assert.True(mismatch <= 0.05, $"{file}: {mismatch:P2} of samples differ from the reference ({fixture.Note})");
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void RefusesUnsupportedCodingClearly(string file)
    {
        var fixture = FormatFixtures.Get(file);
        var e = Assert.Throws<InvalidDataException>(() => Image.Decode(FormatFixtures.Bytes(file)));
        Assert.Contains(fixture.Error!, e.Message);
    }
}
