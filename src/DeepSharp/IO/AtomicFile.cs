using System.Collections.Concurrent;
using System.Diagnostics;

namespace DeepSharp.IO;

/// <summary>
/// Crash-safe file replacement: the new content is written to a temporary file beside the target, flushed to disk,
/// then moved over the target in one rename, so a crash or an exception mid-write never destroys the previous file.
/// (PyTorch's torch.save has no such guarantee; Lightning's checkpoint IO does the same dance.) A process killed during
/// a save leaves its temporary file behind; the next save or load of the same path removes it
/// (<see cref="RemoveStaleTemporaries"/>).
/// </summary>
public static class AtomicFile
{
    const string Marker = ".tmp-";
    static readonly ConcurrentDictionary<string, byte> inFlight = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>: the stream goes to
    /// <c>path + ".tmp-&lt;process id&gt;-&lt;random&gt;"</c> in the same folder, is flushed with <c>Flush(true)</c>, then
    /// replaces <paramref name="path"/>. If <paramref name="write"/> throws, the temporary file is deleted, the target is
    /// left as it was, and the exception propagates. Stale temporaries of earlier, killed saves are removed first.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (directory != null && !Directory.Exists(directory))
            throw new DirectoryNotFoundException($"AtomicFile.Write: the folder '{directory}' of '{path}' does not exist");
        RemoveStaleTemporaries(fullPath);
        string temporary = $"{fullPath}{Marker}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        inFlight[temporary] = 0;
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
        finally { inFlight.TryRemove(temporary, out _); }
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/> (see <see cref="Write"/>).</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>
    /// Deletes the temporary files that saves of <paramref name="path"/> left behind when their process was killed
    /// (<c>path.tmp-*</c>): those of processes no longer running, this process's own that no save is writing, and those
    /// of older DeepSharp versions (no process id in the name). Saves in progress in running processes are left alone;
    /// files that cannot be deleted (a read-only folder) are skipped. Returns how many were removed.
    /// </summary>
    public static int RemoveStaleTemporaries(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (directory == null || !Directory.Exists(directory)) return 0;
        int removed = 0;
        try
        {
            foreach (var file in Directory.EnumerateFiles(directory, Path.GetFileName(fullPath) + Marker + "*"))
            {
                if (inFlight.ContainsKey(file) || !IsStale(file[(fullPath.Length + Marker.Length)..])) continue;
                try { File.Delete(file); removed++; }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return removed;
    }

    /// <summary>A temporary's suffix "&lt;pid&gt;-&lt;random&gt;" is stale when that process is gone (or is this one).</summary>
    static bool IsStale(string suffix)
    {
        int dash = suffix.IndexOf('-');
        if (dash <= 0 || !int.TryParse(suffix.AsSpan(0, dash), out int processId)) return true;   // an older version's name
        if (processId == Environment.ProcessId) return true;                                      // not in flight here
        try
        {
            using var process = Process.GetProcessById(processId);
            return process.HasExited;
        }
        catch (ArgumentException) { return true; }            // no such process
        catch (InvalidOperationException) { return true; }
    }
}
