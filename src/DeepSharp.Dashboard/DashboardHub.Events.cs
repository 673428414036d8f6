using System.Text.Json;

namespace DeepSharp.Dashboard;

// The events other code than the training callback publishes: the run's description, image grids of generative models,
// episode returns of reinforcement learning, notes. (DashboardCallback publishes batches, epochs, gradients and probes.)
public sealed partial class DashboardHub
{
    /// <summary>Describes the run: a title (e.g. "cnn on fashion-mnist") and settings shown in the page's header.</summary>
    public void PublishRun(string title, IReadOnlyDictionary<string, string>? settings = null) => Publish("run", w =>
    {
        w.WriteString("title", title);
        w.WriteStartObject("settings");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) w.WriteString(key, value);
        w.WriteEndObject();
    });

    /// <summary>
    /// A picture made during training, as PNG bytes: a generative model's sample grid (the last one of each
    /// <paramref name="title"/> is shown, e.g. "samples" after every epoch) (TensorBoard's add_image).
    /// </summary>
    public void PublishImage(string title, byte[] png, long step, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(png);
        if (png.Length < 8 || png[0] != 0x89 || png[1] != (byte)'P')
            throw new ArgumentException($"DashboardHub.PublishImage: '{title}' is not a PNG ({png.Length} bytes)", nameof(png));
        Publish("grid", w =>
        {
            w.WriteString("title", title); w.WriteNumber("step", step); w.WriteNumber("epoch", epoch);
            w.WriteBase64String("png", png);
        });
    }

    /// <summary>A finished episode of a reinforcement-learning agent: the environment step it ended at, its return and the
    /// mean of recent returns (Stable-Baselines3's rollout/ep_rew_mean).</summary>
    public void PublishEpisode(long step, double episodeReturn, double? meanReturn = null) => Publish("episode", w =>
    {
        w.WriteNumber("step", step);
        WriteNumber(w, "return", episodeReturn);
        WriteNumber(w, "mean", meanReturn);
    });

    /// <summary>A line of text shown in the page (a warning, a result).</summary>
    public void PublishNote(string text) => Publish("note", w => w.WriteString("text", text));

    /// <summary>Writes a number, or null for NaN, infinities and a missing value (JSON has no NaN).</summary>
    internal static void WriteNumber(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v && double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
