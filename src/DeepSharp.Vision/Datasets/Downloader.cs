using System.Security.Cryptography;

namespace DeepSharp.Vision.Datasets;

/// <summary>
/// One downloadable file of a dataset: its name, the MD5 of the published file (torchvision's resources) and, for a
/// compressed file, the MD5 of its decompressed content, which identifies a local copy however it was recompressed.
/// </summary>
/// <param name="FileName">The published file name ("train-images-idx3-ubyte.gz").</param>
/// <param name="Md5">MD5 of the published file, checked after a download.</param>
/// <param name="ContentMd5">MD5 of the decompressed content, checked when a local copy is loaded; null when not known.</param>
public sealed record DatasetFile(string FileName, string Md5, string? ContentMd5 = null);

/// <summary>
/// Downloads dataset files from their official mirrors, verifies their MD5 checksum, and stores them atomically
/// (torchvision.datasets.utils.download_and_extract_archive). Only for machines with internet access: every loader
/// first looks for local copies.
/// </summary>
public static class Downloader
{
    /// <summary>
    /// Downloads <paramref name="file"/> into <paramref name="directory"/> from the first mirror that answers with the right
    /// checksum; returns the local path. A file already present with the right checksum is not fetched again.
    /// </summary>
    public static string Fetch(IReadOnlyList<string> mirrors, DatasetFile file, string directory, HttpClient? client = null, TextWriter? log = null)
    {
        Directory.CreateDirectory(directory);
        var target = Path.Combine(directory, file.FileName);
        if (File.Exists(target) && Md5Of(target) == file.Md5) return target;
        var errors = new List<string>();
        var http = client ?? new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            foreach (var mirror in mirrors)
            {
                var url = mirror.TrimEnd('/') + "/" + file.FileName;
                var temp = target + ".part-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    log?.WriteLine($"Downloading {url}");
                    using (var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult())
                    {
                        response.EnsureSuccessStatusCode();
                        using var body = response.Content.ReadAsStream();
                        using var output = File.Create(temp);
                        body.CopyTo(output);
                        output.Flush(true);
                    }
                    var md5 = Md5Of(temp);
                    if (md5 != file.Md5) { errors.Add($"{url}: checksum {md5} does not match the expected {file.Md5}"); File.Delete(temp); continue; }
                    File.Move(temp, target, overwrite: true);
                    return target;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
                {
                    errors.Add($"{url}: {e.Message}");
                    if (File.Exists(temp)) File.Delete(temp);
                }
            }
        }
        finally { if (client == null) http.Dispose(); }
        throw new IOException($"could not download {file.FileName} ({string.Join("; ", errors)}). Check the network connection, " +
                              $"or fetch the file elsewhere and pass the folder that holds it (--data DIR)");
    }

    /// <summary>Lower-case hex MD5 of a file.</summary>
    public static string Md5Of(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(s));
    }
}
