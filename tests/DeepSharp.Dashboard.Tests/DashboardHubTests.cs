using System.Text.Json;
using DeepSharp.Dashboard;

namespace DeepSharp.Dashboard.Tests;

public class DashboardHubTests
{
    [Fact]
    public void Events_are_kept_in_order_as_json_with_nan_as_null()
    {
        var hub = new DashboardHub();
        hub.PublishRun("mlp on test", new Dictionary<string, string> { ["batch"] = "32" });
        hub.PublishEpisode(10, double.NaN, 3.5);
        hub.Complete("done");
        hub.PublishNote("after the end");   // dropped
        var events = JsonDocument.Parse(hub.SnapshotArray()).RootElement.EnumerateArray().ToList();
        Assert.Equal(["run", "episode", "end"], events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal("32", events[0].GetProperty("settings").GetProperty("batch").GetString());
        Assert.Equal(JsonValueKind.Null, events[1].GetProperty("return").ValueKind);
        Assert.Equal(3.5, events[1].GetProperty("mean").GetDouble());
        Assert.Equal("done", events[2].GetProperty("summary").GetString());
    }

    [Fact]
    public void An_image_must_be_a_png()
    {
        var hub = new DashboardHub();
        var e = Assert.Throws<ArgumentException>(() => hub.PublishImage("samples", [1, 2, 3], 0));
        Assert.Contains("not a PNG", e.Message);
        Assert.Equal(0, hub.Count);
    }

    [Fact]
    public void Html_in_a_value_cannot_close_the_reports_script()
    {
        var hub = new DashboardHub();
        hub.PublishNote("</script><script>alert(1)</script>");
        var html = DashboardPage.Html(hub.SnapshotArray());
        Assert.DoesNotContain("</script><script>alert", html);
    }
}
