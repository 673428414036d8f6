using System.Formats.Tar;
using System.IO.Compression;

namespace DeepSharp.Vision.Datasets;

/// <summary>
/// Extracts dataset archives (torchvision.datasets.utils.extract_archive) with the BCL only: .tar.gz / .tgz through
/// <see cref="GZipStream"/> and <see cref="TarReader"/>, and plain .tar.
/// </summary>
public static class Archives
{
    /// <summary>
    /// Extracts the regular files and folders of a (gzipped) tar archive under <paramref name="destination"/> and returns the
    /// paths written. Entries that would land outside the destination (absolute paths, "..") are refused with an
    /// <see cref="InvalidDataException"/>; links and device entries are skipped. Each file is written to a temporary
    /// name first and renamed, so an interrupted extraction never leaves a truncated file under the final name.
    /// </summary>
    public static IReadOnlyList<string> ExtractTar(string archivePath, string destination, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(archivePath); ArgumentNullException.ThrowIfNull(destination);
        if (!File.Exists(archivePath)) throw new FileNotFoundException($"Archives.ExtractTar: archive not found: {archivePath}", archivePath);
        log?.WriteLine($"Extracting {archivePath} to {destination}");
        var root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        var rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        var written = new List<string>();
        string? refused = null;
        using var file = File.OpenRead(archivePath);
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        using Stream input = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            using var reader = new TarReader(input);
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.Directory)) continue;
                var name = entry.Name.Replace('\\', '/');
                if (name.Length == 0) continue;
                var target = Path.GetFullPath(Path.Combine(root, name));
                if (Path.IsPathRooted(name) || !(target + Path.DirectorySeparatorChar).StartsWith(rootWithSeparator, StringComparison.Ordinal))
                {
                    refused = $"{archivePath}: entry '{entry.Name}' points outside the destination folder; refusing to extract it";
                    break;
                }
                if (entry.EntryType == TarEntryType.Directory) { Directory.CreateDirectory(target); continue; }
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                var temp = target + ".part-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    using (var output = File.Create(temp))
                    {
                        entry.DataStream?.CopyTo(output);
                    }
                    File.Move(temp, target, overwrite: true);
                }
                finally { if (File.Exists(temp)) File.Delete(temp); }
                written.Add(target);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"{archivePath}: corrupt or truncated archive ({e.Message})", e);
        }
        if (refused != null) throw new InvalidDataException(refused);
        return written;
    }
}
