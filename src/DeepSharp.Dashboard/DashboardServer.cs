using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSharp.Dashboard;

/// <summary>
/// Serves a <see cref="DashboardHub"/> from the training process (ASP.NET Core minimal APIs on Kestrel): GET / is the
/// page, GET /events the live stream of events (server-sent events: every event so far, then each new one), GET /api/events
/// every event so far as a JSON array. Bound to 127.0.0.1 unless another host is given.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable, IDisposable
{
    readonly WebApplication app;

    DashboardServer(WebApplication app, Uri url) { this.app = app; Url = url; }

    /// <summary>The address the page is served at, e.g. http://127.0.0.1:8050/ (the port the system chose when 0 was asked for).</summary>
    public Uri Url { get; }

    /// <summary>
    /// Starts serving <paramref name="hub"/> on <paramref name="host"/>:<paramref name="port"/> (port 0: any free port) and
    /// returns once it listens. <paramref name="host"/> is an IP address, "localhost", or "*"/"0.0.0.0" for every interface.
    /// </summary>
    public static DashboardServer Start(DashboardHub hub, string host = "127.0.0.1", int port = 0)
    {
        ArgumentNullException.ThrowIfNull(hub);
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), $"DashboardServer: port must be 0 to 65535, got {port}");
        if (host is not ("*" or "localhost") && !IPAddress.TryParse(host, out _))
            throw new ArgumentException($"DashboardServer: host must be an IP address, 'localhost' or '*', got '{host}'", nameof(host));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.UseUrls($"http://{(host.Contains(':') ? $"[{host}]" : host)}:{port}");
        var app = builder.Build();
        var page = DashboardPage.Html();
        app.MapGet("/", (RequestDelegate)(context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            return context.Response.WriteAsync(page, context.RequestAborted);
        }));
        app.MapGet("/api/events", (RequestDelegate)(context =>
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            return context.Response.WriteAsync(hub.SnapshotArray(), context.RequestAborted);
        }));
        app.MapGet("/events", (RequestDelegate)(context => StreamEvents(hub, context)));
        app.StartAsync().GetAwaiter().GetResult();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var url = new UriBuilder(address) { Path = "/" };
        if (url.Host is "0.0.0.0" or "[::]" or "+" or "*") url.Host = "127.0.0.1";
        return new DashboardServer(app, url.Uri);
    }

    /// <summary>Server-sent events: a "reset" event, every event so far, then each new one, until the run ends or the page goes.</summary>
    static async Task StreamEvents(DashboardHub hub, HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        using var subscription = hub.Subscribe();
        var aborted = context.RequestAborted;
        try
        {
            await context.Response.WriteAsync("retry: 2000\ndata: {\"type\":\"reset\"}\n\n", aborted);
            await context.Response.Body.FlushAsync(aborted);
            while (await subscription.Reader.WaitToReadAsync(aborted))
            {
                while (subscription.Reader.TryRead(out var json)) await context.Response.WriteAsync($"data: {json}\n\n", aborted);
                await context.Response.Body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested) { }   // the page was closed
    }

    /// <summary>Stops the server (pages keep what they drew).</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        await app.StopAsync();
        await app.DisposeAsync();
    }

    bool disposed;

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
