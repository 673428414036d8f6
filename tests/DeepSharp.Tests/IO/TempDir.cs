namespace DeepSharp.Tests.IO;

/// <summary>A fresh temporary folder, deleted on Dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() { Directory.CreateDirectory(Path); }

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "deepsharp-tests-" + Guid.NewGuid().ToString("N")[..10]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}
