using DeepSharp.IO;

namespace DeepSharp.Tests.IO;

/// <summary>A save killed mid-write leaves "path.tmp-*" behind; the next save or load of that path removes it (issue 13).</summary>
public class StaleTemporaryTests
{
    static string Temporary(string path, string suffix)
    {
        var file = path + ".tmp-" + suffix;
        File.WriteAllBytes(file, new byte[1000]);
        return file;
    }

    [Fact]
    public void NextSaveRemovesTheTemporariesOfKilledSavesButNotThoseOfRunningProcesses()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        string legacy = Temporary(path, "0123456789ab");             // written by a version without a process id
        string dead = Temporary(path, "2147483646-deadbeef");         // no such process
        string mine = Temporary(path, $"{Environment.ProcessId}-cafebabe");   // this process, no save in flight
        string running = Temporary(path, "1-0badf00d");               // process 1 is running: a save in progress there
        string other = Temporary(dir.File("other.safetensors"), "0123456789ab");   // another file's: not ours to touch
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        Assert.False(File.Exists(legacy));
        Assert.False(File.Exists(dead));
        Assert.False(File.Exists(mine));
        Assert.True(File.Exists(running));
        Assert.True(File.Exists(other));
        Assert.Equal(3, Directory.GetFiles(dir.Path).Length);   // the model, the running save's and the other file's temporaries
    }

    [Fact]
    public void NextLoadRemovesThemToo()
    {
        using var dir = new TempDir();
        string path = dir.File("ckpt.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        string stale = Temporary(path, "2147483646-deadbeef");
        Assert.Equal([1f, 1f, 1f], SafeTensors.Load(path)["w"].ToArray<float>());
        Assert.False(File.Exists(stale));
        Assert.Equal(0, AtomicFile.RemoveStaleTemporaries(path));
    }
}
