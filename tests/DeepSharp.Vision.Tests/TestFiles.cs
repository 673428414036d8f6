using System.Formats.Tar;
using System.IO.Compression;
using System.Net;

namespace DeepSharp.Vision.Tests;

/// <summary>Temporary folders, tar.gz archives and a local HTTP server for dataset tests.</summary>
internal static class TestFiles
{
    public static string TempDir(string prefix = "ds-vision")
    {
        var d = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Writes a .tar.gz holding the given (entry name, content) pairs.</summary>
    public static void WriteTarGz(string path, params (string Name, byte[] Data)[] entries)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        foreach (var (name, data) in entries)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) };
            tar.WriteEntry(entry);
        }
    }
}

/// <summary>Serves the files of a folder on http://127.0.0.1:port/ and counts requests.</summary>
internal sealed class LocalServer : IDisposable
{
    readonly HttpListener listener;
    int requests;

    public LocalServer(string folder)
    {
        HttpListener? started = null;
        for (int attempt = 0; attempt < 20 && started == null; attempt++)
        {
            Port = System.Random.Shared.Next(20000, 60000);
            var l = new HttpListener(); l.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try { l.Start(); started = l; } catch (HttpListenerException) { l.Close(); }
        }
        listener = started ?? throw new InvalidOperationException("could not start a local HTTP listener");
        Task.Run(() =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = listener.GetContext(); } catch { return; }
                Interlocked.Increment(ref requests);
                var file = Path.Combine(folder, Path.GetFileName(ctx.Request.Url!.AbsolutePath));
                if (File.Exists(file) && !ctx.Request.Url.AbsolutePath.Contains("/missing/")) ctx.Response.OutputStream.Write(File.ReadAllBytes(file));
                else ctx.Response.StatusCode = 404;
                ctx.Response.Close();
            }
        });
    }

    public int Port { get; private set; }
    public string Url => $"http://127.0.0.1:{Port}/";
    public int Requests => Volatile.Read(ref requests);

    public void Dispose() { listener.Stop(); listener.Close(); }
}
