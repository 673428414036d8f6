namespace DeepSharp.IO;

/// <summary>
/// Crash-safe file replacement: the new content is written to a temporary file beside the target, flushed to disk,
/// then moved over the target in one rename, so a crash or an exception mid-write never destroys the previous file.
/// (PyTorch's torch.save has no such guarantee; Lightning's checkpoint IO does the same dance.)
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>: the stream goes to
    /// <c>path + ".tmp-&lt;random&gt;"</c> in the same folder, is flushed with <c>Flush(true)</c>, then replaces
    /// <paramref name="path"/>. If <paramref name="write"/> throws, the temporary file is deleted, the target is left as
    /// it was, and the exception propagates.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (directory != null && !Directory.Exists(directory))
            throw new DirectoryNotFoundException($"AtomicFile.Write: the folder '{directory}' of '{path}' does not exist");
        string temporary = fullPath + ".tmp-" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/> (see <see cref="Write"/>).</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }
}
