using System.Net;
using System.Text.Json;
using DeepSharp.Dashboard;

namespace DeepSharp.Dashboard.Tests;

/// <summary>The server without a browser: the page, the JSON of the events, and the server-sent event stream.</summary>
public class DashboardServerTests
{
    [Fact]
    public async Task Serves_a_self_contained_page_on_the_loopback_address()
    {
        var hub = new DashboardHub();
        await using var server = DashboardServer.Start(hub);
        Assert.Equal("127.0.0.1", server.Url.Host);
        Assert.NotEqual(0, server.Url.Port);
        using var client = new HttpClient();
        var response = await client.GetAsync(server.Url, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("uPlot", html);                       // the chart library is inlined
        Assert.Contains("new EventSource(\"events\")", html);
        Assert.DoesNotContain("src=\"http", html);            // nothing is fetched from elsewhere
        Assert.DoesNotContain("/*DASHBOARD_JS*/", html);
    }

    [Fact]
    public async Task The_event_stream_replays_the_past_then_sends_new_events_and_ends_with_the_run()
    {
        var hub = new DashboardHub();
        hub.PublishRun("stream test");
        await using var server = DashboardServer.Start(hub);
        using var client = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        using var response = await client.GetAsync(new Uri(server.Url, "events"), HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));

        async Task<JsonElement> NextEvent()
        {
            while (true)
            {
                var line = await reader.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct)
                           ?? throw new InvalidOperationException("the stream ended");
                if (line.StartsWith("data: ", StringComparison.Ordinal)) return JsonDocument.Parse(line[6..]).RootElement.Clone();
            }
        }

        Assert.Equal("reset", (await NextEvent()).GetProperty("type").GetString());
        var run = await NextEvent();
        Assert.Equal("run", run.GetProperty("type").GetString());
        Assert.Equal("stream test", run.GetProperty("title").GetString());

        hub.PublishEpisode(42, 17.5);                         // published after the page connected: sent live
        var episode = await NextEvent();
        Assert.Equal("episode", episode.GetProperty("type").GetString());
        Assert.Equal(42, episode.GetProperty("step").GetInt64());
        Assert.Equal(17.5, episode.GetProperty("return").GetDouble());

        hub.Complete("finished");
        Assert.Equal("end", (await NextEvent()).GetProperty("type").GetString());
        string? rest;   // then the stream closes
        while ((rest = await reader.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct)) != null) Assert.Equal("", rest);

        var all = await client.GetStringAsync(new Uri(server.Url, "api/events"), ct);
        Assert.Equal(["run", "episode", "end"], JsonDocument.Parse(all).RootElement.EnumerateArray().Select(e => e.GetProperty("type").GetString()));
    }

    [Fact]
    public void Bad_host_and_port_are_refused_with_their_value()
    {
        var hub = new DashboardHub();
        Assert.Contains("'example.com'", Assert.Throws<ArgumentException>(() => DashboardServer.Start(hub, "example.com")).Message);
        Assert.Contains("70000", Assert.Throws<ArgumentOutOfRangeException>(() => DashboardServer.Start(hub, port: 70000)).Message);
    }
}
