using DeepSharp.IO;

namespace DeepSharp.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void WriterThatThrowsLeavesPreviousFileIntactAndNoTempFile()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        File.WriteAllText(path, "previous");
        var error = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100_000]);
            throw new InvalidOperationException("disk on fire");
        }));
        Assert.Equal("disk on fire", error.Message);
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void SuccessfulWriteReplacesTheFile()
    {
        using var dir = new TempDir();
        string path = dir.File("a.bin");
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        AtomicFile.Write(path, s => s.Write([4, 5]));
        Assert.Equal([4, 5], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
        Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.WriteAllBytes(dir.File("missing/x.bin"), [1]));
    }

    [Fact]
    public void FailedSaveKeepsThePreviousCheckpoint()
    {
        using var dir = new TempDir();
        string path = dir.File("ckpt.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        var before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(3) }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}
