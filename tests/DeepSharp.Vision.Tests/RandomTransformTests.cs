using DeepSharp.Data;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Tests;

/// <summary>The random transforms: torchvision's parameter sampling, edge cases, seeding.</summary>
public class RandomTransformTests
{
    static Tensor RandImage(int c, int h, int w, long seed = 1) => Tensor.Rand([c, h, w], generator: new Generator(seed));

    [Fact]
    public void RandomResizedCropParamsStayInRange()
    {
        var g = new Generator(3);
        var scale = (0.08, 1.0); var ratio = (3.0 / 4, 4.0 / 3);
        for (int k = 0; k < 500; k++)
        {
            var (top, left, h, w) = RandomResizedCrop.GetParams(40, 60, scale, ratio, g);
            Assert.InRange(h, 1, 40); Assert.InRange(w, 1, 60);
            Assert.InRange(top, 0, 40 - h); Assert.InRange(left, 0, 60 - w);
            // rounding to whole pixels moves area and ratio a little past the bounds on small crops
            Assert.InRange(h * w / 2400.0, 0.08 * 0.7, 1.0);
            Assert.InRange((double)w / h, 0.75 * 0.8, 4.0 / 3 * 1.25);
        }
    }

    [Fact]
    public void RandomResizedCropFallsBackToCentreCrop()
    {
        var g = new Generator(0);
        // an area of 2 to 3 times the image never fits: the centre crop with the ratio clamped to the range
        Assert.Equal((0, 3, 40, 53), RandomResizedCrop.GetParams(40, 60, (2, 3), (3.0 / 4, 4.0 / 3), g));   // 40 * 4/3 = 53.3
        Assert.Equal((5, 0, 30, 60), RandomResizedCrop.GetParams(40, 60, (2, 3), (2, 3), g));
        Assert.Equal((0, 0, 40, 60), RandomResizedCrop.GetParams(40, 60, (2, 3), (1, 2), g));
        // Python's round() rounds halves to even: 5 / 2 = 2.5 -> 2
        Assert.Equal((4, 0, 2, 5), RandomResizedCrop.GetParams(10, 5, (2, 3), (2, 3), g));
    }

    [Fact]
    public void RandomResizedCropIsSeededPerImage()
    {
        var t = new RandomResizedCrop((8, 6), scale: (0.2, 0.6));
        var img = RandImage(3, 20, 24);
        var a = t.Apply(img, new Generator(9)); var b = t.Apply(img, new Generator(9)); var c = t.Apply(img, new Generator(10));
        Assert.Equal([3, 8, 6], a.Shape);
        Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
        Assert.NotEqual(a.ToArray<float>(), c.ToArray<float>());
        var batch = t.Apply(Tensor.Stack([img, img]), new Generator(9));
        Assert.Equal([2, 3, 8, 6], batch.Shape);
        Assert.Equal(a.ToArray<float>(), batch.Select(0, 0).Contiguous().ToArray<float>());
        Assert.NotEqual(batch.Select(0, 0).Contiguous().ToArray<float>(), batch.Select(0, 1).Contiguous().ToArray<float>());
        Assert.Throws<ArgumentException>(() => new RandomResizedCrop(8, scale: (0.5, 0.2)));
    }

    [Fact]
    public void ColorJitterDrawsAPermutationAndFactorsInRange()
    {
        var g = new Generator(4);
        var seen = new HashSet<string>();
        for (int k = 0; k < 200; k++)
        {
            var (order, b, c, s, h) = ColorJitter.GetParams((0.6, 1.4), (0.5, 1.5), null, (-0.1, 0.1), g);
            Assert.Equal(new[] { 0, 1, 2, 3 }, order.Order());
            seen.Add(string.Join("", order));
            Assert.InRange(b!.Value, 0.6, 1.4); Assert.InRange(c!.Value, 0.5, 1.5); Assert.Null(s); Assert.InRange(h!.Value, -0.1, 0.1);
        }
        Assert.True(seen.Count > 15, $"only {seen.Count} of 24 orders seen");
    }

    [Fact]
    public void ColorJitterMatchesTheFunctionalAdjustments()
    {
        var img = RandImage(3, 5, 6);
        Assert.Equal(img.ToArray<float>(), new ColorJitter().Apply(img, new Generator(1)).ToArray<float>());
        var brightness = ColorJitter.FromRanges(brightness: (0.5, 0.5)).Apply(img, new Generator(1));
        Assert.Equal(TF.AdjustBrightness(img, 0.5).ToArray<float>(), brightness.ToArray<float>());
        var hue = ColorJitter.FromRanges(hue: (0.2, 0.2)).Apply(img, new Generator(1));
        Assert.Equal(TF.AdjustHue(img, 0.2).ToArray<float>(), hue.ToArray<float>());
        // two fixed adjustments: the result is one of the two orders
        var both = ColorJitter.FromRanges(contrast: (0.3, 0.3), saturation: (1.7, 1.7)).Apply(img, new Generator(2)).ToArray<float>();
        var cs = TF.AdjustSaturation(TF.AdjustContrast(img, 0.3), 1.7).ToArray<float>();
        var sc = TF.AdjustContrast(TF.AdjustSaturation(img, 1.7), 0.3).ToArray<float>();
        Assert.True(both.SequenceEqual(cs) || both.SequenceEqual(sc));
        var jitter = new ColorJitter(0.4, 0.4, 0.4, 0.1);
        Assert.Equal(jitter.Apply(img, new Generator(7)).ToArray<float>(), jitter.Apply(img, new Generator(7)).ToArray<float>());
        Assert.All(jitter.Apply(img, new Generator(7)).ToArray<float>(), v => Assert.InRange(v, 0f, 1f));
        var grey = RandImage(1, 4, 4);
        Assert.Equal(grey.ToArray<float>(), ColorJitter.FromRanges(saturation: (0, 0), hue: (0.3, 0.3)).Apply(grey, new Generator(0)).ToArray<float>());
        Assert.Throws<ArgumentException>(() => new ColorJitter(hue: 0.6));
        Assert.Throws<ArgumentException>(() => new ColorJitter(brightness: -1));
        Assert.Throws<ArgumentException>(() => ColorJitter.FromRanges(brightness: (1.5, 0.5)));
        Assert.Throws<ArgumentException>(() => TF.AdjustHue(img, 0.7));
    }

    [Fact]
    public void HsvRoundTripRecoversRgb()
    {
        var g = new Generator(5);
        for (int k = 0; k < 1000; k++)
        {
            float r = g.NextSingle(), gr = g.NextSingle(), b = g.NextSingle();
            var (h, s, v) = TF.RgbToHsv(r, gr, b);
            Assert.InRange(h, 0f, 1f);
            var (r2, g2, b2) = TF.HsvToRgb(h, s, v);
            Assert.True(Math.Abs(r - r2) < 1e-5 && Math.Abs(gr - g2) < 1e-5 && Math.Abs(b - b2) < 1e-5, $"({r}, {gr}, {b}) came back as ({r2}, {g2}, {b2})");
        }
    }

    [Fact]
    public void RandomErasingFillsOneRectangle()
    {
        var img = Tensor.Zeros(3, 20, 30);
        var erased = new RandomErasing(p: 1, value: [1f, 2f, 3f]).Apply(img, new Generator(1));
        var data = erased.ToArray<float>();
        for (int c = 0; c < 3; c++)
        {
            var plane = data.AsSpan(c * 600, 600).ToArray();
            int count = plane.Count(v => v == c + 1);
            Assert.Equal(count, plane.Count(v => v != 0));
            Assert.InRange(count / 600.0, 0.015, 0.36);
        }
        Assert.Equal(img.ToArray<float>(), new RandomErasing(p: 0).Apply(img, new Generator(1)).ToArray<float>());
        // an area that can never fit strictly inside: nothing is erased
        Assert.Equal(img.ToArray<float>(), new RandomErasing(p: 1, scale: (1, 1), ratio: (1, 1), value: [9f]).Apply(img, new Generator(1)).ToArray<float>());
        var noisy = new RandomErasing(p: 1, randomValue: true).Apply(img, new Generator(2)).ToArray<float>();
        Assert.Contains(noisy, v => v < 0);
        var (_, _, h, w, ok) = RandomErasing.GetParams(20, 30, (0.1, 0.1), (1, 1), new Generator(0));
        Assert.True(ok);
        Assert.Equal((8, 8), (h, w));   // sqrt(60) = 7.75 -> 8
        Assert.Throws<ArgumentException>(() => new RandomErasing(p: 1, value: [1f, 2f]).Apply(img, new Generator(0)));
        Assert.Throws<ArgumentException>(() => new RandomErasing(value: [1f], randomValue: true));
    }

    [Fact]
    public void RandomCropPadsAsAsked()
    {
        var img = RandImage(2, 3, 5);
        var padded = new RandomCrop((6, 6), padIfNeeded: true).Apply(img, new Generator(0));
        Assert.Equal([2, 6, 6], padded.Shape);
        var reflect = new RandomCrop(7, padding: 2, paddingMode: PaddingMode.Reflect).Apply(img, new Generator(0));
        Assert.Equal([2, 7, 7], reflect.Shape);
        var whole = new RandomCrop((3, 5), padding: (1, 2), fill: 0.5f).Apply(img, new Generator(0));
        Assert.Equal([2, 3, 5], whole.Shape);
        // an exact fit draws nothing from the generator
        var g = new Generator(8); var h = new Generator(8);
        Assert.Equal((0, 0, 3, 5), RandomCrop.GetParams(3, 5, (3, 5), g));
        Assert.Equal(h.NextUInt64(), g.NextUInt64());
        Assert.Throws<ArgumentException>(() => new RandomCrop(6).Apply(img, new Generator(0)));
        Assert.Throws<ArgumentException>(() => new RandomCrop(4, padding: 3, paddingMode: PaddingMode.Reflect).Apply(img, new Generator(0)));
    }

    [Fact]
    public void FlipsGreyscaleAndResize()
    {
        var img = RandImage(3, 4, 5);
        Assert.Equal(TF.VerticalFlip(img).ToArray<float>(), new RandomVerticalFlip(1).Apply(img, new Generator(0)).ToArray<float>());
        Assert.Equal(img.ToArray<float>(), new RandomVerticalFlip(0).Apply(img, new Generator(0)).ToArray<float>());
        Assert.Equal(img.ToArray<float>(), TF.VerticalFlip(TF.VerticalFlip(img)).ToArray<float>());
        Assert.Equal(TF.HorizontalFlip(img).ToArray<float>(), new RandomHorizontalFlip(1).Apply(img, new Generator(0)).ToArray<float>());
        var g3 = new RandomGrayscale(1).Apply(img, new Generator(0));
        Assert.Equal([3, 4, 5], g3.Shape);
        Assert.Equal(g3.Select(0, 0).ToArray<float>(), g3.Select(0, 2).ToArray<float>());
        Assert.Equal([1, 4, 5], new Grayscale().Apply(img, new Generator(0)).Shape);
        Assert.Equal([3, 8, 10], new Resize(8).Apply(img, new Generator(0)).Shape);          // shorter side 4 -> 8
        Assert.Equal([2, 3, 6, 7], new Resize((6, 7)).Apply(Tensor.Stack([img, img]), new Generator(0)).Shape);
        Assert.Equal([3, 6, 7], new Resize(6, maxSize: 7).Apply(img, new Generator(0)).Shape);   // long side 7.5 capped
        Assert.Equal([3, 2, 2], new CenterCrop(2).Apply(img, new Generator(0)).Shape);
        Assert.Equal(img.ToArray<float>(), TF.Resize(img, (4, 5)).ToArray<float>());
        Assert.Throws<ArgumentException>(() => new Resize(0));
        Assert.Throws<ArgumentException>(() => new Resize(8, maxSize: 8));
        Assert.Throws<ArgumentException>(() => new Grayscale(2));
        Assert.Throws<ArgumentException>(() => TF.RgbToGrayscale(Tensor.Zeros(2, 3, 3)));
        var ex = Assert.Throws<ArgumentException>(() => TF.Resize(Tensor.Zeros(3, 3), (2, 2)));
        Assert.Contains("(3, 3)", ex.Message);
    }

    [Fact]
    public void RandomApplyDecidesPerImage()
    {
        var img = RandImage(1, 3, 3);
        var flipAll = new RandomApply([new RandomHorizontalFlip(1)], p: 1);
        Assert.Equal(TF.HorizontalFlip(img).ToArray<float>(), flipAll.Apply(img, new Generator(0)).ToArray<float>());
        Assert.Equal(img.ToArray<float>(), new RandomApply([new RandomHorizontalFlip(1)], p: 0).Apply(img, new Generator(0)).ToArray<float>());
        var batch = new RandomApply([new RandomHorizontalFlip(1)], p: 0.5).Apply(Tensor.Stack(Enumerable.Repeat(img, 16).ToArray()), new Generator(3));
        int flipped = Enumerable.Range(0, 16).Count(i => !batch.Select(0, i).Contiguous().ToArray<float>().SequenceEqual(img.ToArray<float>()));
        Assert.InRange(flipped, 2, 14);
    }

    [Fact]
    public void AugmentedBatchesDoNotDependOnWorkerCount()
    {
        var images = Tensor.Rand([12, 3, 16, 16], generator: new Generator(21));
        var labels = Tensor.Arange(0, 12, 1, DType.Int64);
        var augment = new Compose(new RandomResizedCrop(12), new RandomHorizontalFlip(), new ColorJitter(0.3, 0.3, 0.3, 0.05),
            new RandomRotation(15), new Normalize([0.5f], [0.25f]), new RandomErasing(p: 0.5));
        var dataset = new TensorDataset(images, labels).Map((Tensor[] item, Generator g) => new[] { augment.Apply(item[0], g), item[1] });
        float[] Epoch(int workers, long seed) => new DataLoader(dataset, batchSize: 5, shuffle: true, numWorkers: workers, generator: new Generator(seed))
            .SelectMany(b => b[0].ToArray<float>().Concat(b[1].ToArray<long>().Select(l => (float)l))).ToArray();
        var serial = Epoch(0, 100);
        Assert.Equal(serial, Epoch(2, 100));
        Assert.Equal(serial, Epoch(3, 100));
        Assert.Equal(serial, Epoch(0, 100));
        Assert.NotEqual(serial, Epoch(0, 101));
    }

    [Fact]
    public void SaveImageWritesTheGrid()
    {
        var dir = TestFiles.TempDir("ds-grid");
        var batch = Tensor.Rand([5, 3, 6, 7], generator: new Generator(2));
        var path = Path.Combine(dir, "grid.png");
        Utils.SaveImage(batch, path, nrow: 3, padding: 1);
        var image = Image.Load(path);
        var grid = Utils.MakeGrid(batch, nrow: 3, padding: 1);
        Assert.Equal((grid.Shape[1], grid.Shape[2], 3), (image.Height, image.Width, image.Channels));
        Assert.Equal((int)(batch.At(4, 1, 2, 3) * 255 + 0.5), image[1 + 7 + 2, 1 + 8 + 3, 1]);   // image 4: row 1, column 1
        Assert.Equal(0, image[0, 0, 0]);
        Utils.SaveImage(batch.Select(0, 0).Narrow(0, 0, 1), Path.Combine(dir, "one.pgm"));
        Assert.Equal((6, 7, 1), (Image.Load(Path.Combine(dir, "one.pgm")) is var pgm ? (pgm.Height, pgm.Width, pgm.Channels) : default));
        Assert.Throws<ArgumentException>(() => Utils.MakeGrid(Tensor.Zeros(2, 2, 2, 2, 2)));
    }
}
