using DeepSharp.Text.Datasets;

namespace DeepSharp.Text.Tests.Datasets;

public class FortunesTests
{
    [Fact]
    public void ParsesEntriesSeparatedByPercentLines()
    {
        var entries = Fortunes.Parse("First one.\n%\nSecond\n  -- someone\n%\n%\r\nThird\r\n%\n");
        Assert.Equal(["First one.", "Second\n  -- someone", "Third"], entries);
        Assert.Equal(["bold and underlined"], Fortunes.Parse("b\bbo\bol\bld\bd and _\bu_\bn_\bd_\be_\br_\bl_\bi_\bn_\be_\bd\n%\n"));
        Assert.Equal(["x\by"], Fortunes.Parse("x\by", removeOverstrike: false));
    }

    [Fact]
    public void MissingCorpusSaysHowToInstallIt()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => Fortunes.Load("/nonexistent/fortunes"));
        Assert.Contains("apt-get install fortunes", e.Message);
        var empty = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(Path.Combine(empty.FullName, "x.dat"), "index");
            var none = Assert.Throws<DirectoryNotFoundException>(() => Fortunes.Files(empty.FullName));
            Assert.Contains("apt-get install fortunes", none.Message);
        }
        finally { empty.Delete(recursive: true); }
    }

    [Fact]
    public void ReadsADirectorySkippingIndexFiles()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "b-cat"), "B one\n%\nB two\n");
            File.WriteAllText(Path.Combine(dir.FullName, "a-cat"), "A one\n%\n");
            File.WriteAllText(Path.Combine(dir.FullName, "a-cat.dat"), "\u0002binary");
            File.WriteAllText(Path.Combine(dir.FullName, "a-cat.u8"), "not this");
            Assert.Equal(["a-cat", "b-cat"], Fortunes.Categories(dir.FullName));
            Assert.Equal(["A one", "B one", "B two"], Fortunes.Load(dir.FullName));
            Assert.Equal(["B one", "B two"], Fortunes.Load(dir.FullName, categories: ["b-cat"]));
            Assert.Equal("A one\n\nB one\n\nB two", Fortunes.LoadText(dir.FullName));
            var e = Assert.Throws<ArgumentException>(() => Fortunes.Load(dir.FullName, categories: ["zzz"]));
            Assert.Contains("a-cat, b-cat", e.Message);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void ReadsTheInstalledCorpus()
    {
        Requires.Fortunes();
        var entries = Fortunes.Load();
        Assert.True(entries.Count > 5000, $"only {entries.Count} entries");
        Assert.DoesNotContain(entries, e => e.Split('\n').Contains("%"));
        Assert.DoesNotContain(entries, e => e.Contains('\b'));
        Assert.Contains("science", Fortunes.Categories());
        Assert.DoesNotContain(Fortunes.Files(), f => f.EndsWith(".dat") || f.EndsWith(".u8"));
    }
}
