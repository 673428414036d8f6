using DeepSharp.Data;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Tests.Imaging;

/// <summary>Image.Load/Save over every format, the BMP encoder, and ImageFolder over a folder of photos.</summary>
public class ImageFormatsTests
{
    static Image Rose() => Netpbm.Decode(FormatFixtures.Bytes("rose_444.ref.ppm"));

    [Theory]
    [InlineData("photo.png", 0)]
    [InlineData("photo.bmp", 0)]
    [InlineData("photo.ppm", 0)]
    [InlineData("photo.jpg", 6)]
    [InlineData("photo.JPEG", 6)]
    public void SaveThenLoadEveryWritableFormat(string name, double meanTolerance)
    {
        var rose = Rose();
        var path = Path.Combine(TestFiles.TempDir(), name);
        rose.Save(path, quality: 95);
        var back = Image.Load(path);
        Assert.Equal((rose.Height, rose.Width, 3), (back.Height, back.Width, back.Channels));
        double meanError = rose.Samples.Zip(back.Samples).Average(p => Math.Abs(p.First - p.Second));
        // lossless formats give the samples back; JPEG (quality 95, 4:2:0 chroma on a small, colourful photo) comes close
        Assert.True(meanError <= meanTolerance, $"{name}: mean error {meanError:F2}");
    }

    [Fact]
    public void JpegQualityChangesTheFile()
    {
        var dir = TestFiles.TempDir();
        Rose().Save(Path.Combine(dir, "low.jpg"), quality: 10);
        Rose().Save(Path.Combine(dir, "high.jpg"), quality: 95);
        Assert.True(new FileInfo(Path.Combine(dir, "low.jpg")).Length < new FileInfo(Path.Combine(dir, "high.jpg")).Length / 2);
        var e = Assert.Throws<ArgumentException>(() => Rose().Save(Path.Combine(dir, "x.webp")));
        Assert.Contains(".jpg", e.Message);
    }

    [Fact]
    public void BmpEncoderWritesGreyAndColourExactly()
    {
        var rose = Rose();
        Assert.Equal(rose.Samples, Bmp.Decode(Bmp.Encode(rose)).Samples);
        var grey = rose.ToGrayscale();
        var back = Bmp.Decode(Bmp.Encode(grey));
        Assert.Equal(1, back.Channels);
        Assert.Equal(grey.Samples, back.Samples);
        var rgba = new Image(1, 2, 4, [1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Equal(new ushort[] { 1, 2, 3, 5, 6, 7 }, Bmp.Decode(Bmp.Encode(rgba)).Samples);   // alpha dropped
    }

    [Fact]
    public void FormatsAreRecognisedByContentNotExtension()
    {
        var dir = TestFiles.TempDir();
        var path = Path.Combine(dir, "really-a-jpeg.png");
        File.WriteAllBytes(path, FormatFixtures.Bytes("rose_420.jpg"));
        Assert.Equal(47, Image.Load(path).Width);
        Assert.True(Jpeg.IsJpeg(FormatFixtures.Bytes("rose_420.jpg")));
        Assert.True(Gif.IsGif(FormatFixtures.Bytes("rose.gif")));
        Assert.True(Bmp.IsBmp(FormatFixtures.Bytes("rose_24.bmp")));
        Assert.False(Jpeg.IsJpeg(FormatFixtures.Bytes("rose.gif")));
    }

    /// <summary>root/rose/*.{jpg,bmp,gif}, root/granite/*.jpg: photos in every format, progressive and EXIF-rotated ones among them.</summary>
    static string PhotoFolder()
    {
        var root = TestFiles.TempDir("ds-photos");
        foreach (var (cls, files) in new[]
        {
            ("rose", new[] { "rose_420.jpg", "rose_progressive.jpg", "rose_grey.jpg", "rose_24.bmp", "rose.gif", "rose_cmyk.jpg" }),
            ("granite", new[] { "granite_420.jpg", "granite_progressive.jpg" }),
        })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            foreach (var f in files) File.WriteAllBytes(Path.Combine(root, cls, f.Replace("rose_", "").Replace("granite_", "")), FormatFixtures.Bytes(f));
        }
        File.WriteAllBytes(Path.Combine(root, "rose", "turned.JPG"), FormatFixtures.Bytes("exif_orientation_6.jpg"));
        return root;
    }

    [Fact]
    public void ImageFolderReadsEveryFormat()
    {
        var root = PhotoFolder();
        var ds = new ImageFolderDataset(root);
        Assert.Equal(["granite", "rose"], ds.Classes);
        Assert.Equal(9, ds.Count);
        foreach (var i in Enumerable.Range(0, ds.Count))
        {
            var x = ds.Get(i)[0];
            Assert.Equal(3, x.Shape[0]);
            Assert.InRange(x.Min().Item<float>(), 0f, 1f);
            Assert.InRange(x.Max().Item<float>(), 0f, 1f);
        }
        var turned = ds.Samples.Select((s, i) => (s, i)).Single(p => p.s.Path.EndsWith("turned.JPG")).i;
        Assert.Equal([3, 24, 16], ds.Get(turned)[0].Shape);   // EXIF orientation 6 applied: 24 x 16 stored as 16 x 24
    }

    [Fact]
    public void ImageNetStyleTransformsBatchAFolderOfJpegs()
    {
        var ds = new ImageFolderDataset(PhotoFolder(), new Compose(
            new RandomResizedCrop(32), new RandomHorizontalFlip(),
            new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f])));
        var loader = new DataLoader(ds, batchSize: 4, shuffle: true, numWorkers: 2, generator: new Generator(1));
        var batches = loader.ToList();
        Assert.Equal(3, batches.Count);
        Assert.Equal([4, 3, 32, 32], batches[0][0].Shape);
        Assert.Equal(9, batches.Sum(b => b[1].Shape[0]));
    }
}
