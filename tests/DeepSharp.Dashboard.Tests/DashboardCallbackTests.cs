using System.Text.Json;
using System.Text.RegularExpressions;
using DeepSharp.Dashboard;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Dashboard.Tests;

/// <summary>The callback on a small classifier, and the static report it leaves (no browser: the report's inlined data).</summary>
public class DashboardCallbackTests
{
    static readonly string[] Classes = ["dark", "light", "mixed"];

    /// <summary>(N, 1, 4, 4) images whose class is told by their mean brightness, and a 16-3 linear classifier.</summary>
    static (Sequential Model, TensorDataset Data) Problem(int n = 96)
    {
        var images = Tensor.Randn(n, 1, 4, 4);
        var labels = Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray());
        images = images + labels.Float().Reshape(n, 1, 1, 1) * 2;
        return (new Sequential(new Flatten(), new Linear(16, 3)), new TensorDataset(images, labels));
    }

    static List<JsonElement> Events(DashboardHub hub) => JsonDocument.Parse(hub.SnapshotArray()).RootElement.EnumerateArray().ToList();

    [Fact]
    public void Publishes_batches_epochs_layer_gradient_norms_and_the_classifier_probe()
    {
        var (model, data) = Problem();
        var hub = new DashboardHub();
        var probe = ClassifierProbe.FromDataset(model, data, Classes, maxCount: 60, sampleCount: 5);
        var callback = new DashboardCallback(hub, probe) { BatchInterval = TimeSpan.Zero, GradientInterval = TimeSpan.Zero };
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.1), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null));
        trainer.Fit(new DataLoader(data, 16, shuffle: true), new DataLoader(data, 32), epochs: 2, callbacks: [callback]);

        var events = Events(hub);
        var batches = events.Where(e => e.GetProperty("type").GetString() == "batch").ToList();
        Assert.Equal(12, batches.Count);                                  // every batch, with no interval
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), batches.Select(b => b.GetProperty("step").GetInt64()));
        Assert.True(batches[^1].GetProperty("logs").GetProperty("examples_per_second").GetDouble() > 0);
        Assert.Equal(0.1, batches[0].GetProperty("logs").GetProperty("lr").GetDouble(), 12);
        Assert.True(batches[5].GetProperty("left").GetDouble() >= 0);     // half the budget used: a time left

        var epochs = events.Where(e => e.GetProperty("type").GetString() == "epoch").ToList();
        Assert.Equal(2, epochs.Count);
        Assert.Equal(trainer.History[1]["val_acc"], epochs[1].GetProperty("logs").GetProperty("val_acc").GetDouble(), 12);

        // the last gradient event holds the norms of the last step's gradients, one per layer ("1" is the Linear)
        var grads = events.Last(e => e.GetProperty("type").GetString() == "grads").GetProperty("norms");
        var linear = (Linear)model[1];
        double expected = Math.Sqrt(linear.Weight.Grad!.Pow(2).Sum().Item() + linear.Bias!.Grad!.Pow(2).Sum().Item());
        Assert.Equal(expected, grads.GetProperty("1").GetDouble(), 4);
        Assert.Single(grads.EnumerateObject());                           // Flatten has no parameters

        var (predicted, _) = probe.Predict();
        var confusion = events.Last(e => e.GetProperty("type").GetString() == "confusion");
        var matrix = confusion.GetProperty("matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        Assert.Equal(60, matrix.Sum(r => r.Sum()));
        Assert.Equal(predicted.Count(p => p == 0), matrix.Sum(r => r[0]));   // column sums are the predictions
        Assert.Equal(20, matrix[1].Sum());                                   // row sums are the true classes
        var samples = events.Last(e => e.GetProperty("type").GetString() == "samples").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(5, samples.Count);
        Assert.Equal(16, Convert.FromBase64String(samples[0].GetProperty("pixels").GetString()!).Length);
        Assert.Equal(Classes[predicted[2]], samples[2].GetProperty("predicted").GetString());
        Assert.Equal("mixed", samples[2].GetProperty("label").GetString());
    }

    [Fact]
    public void The_dashboard_does_not_change_what_is_trained()
    {
        double[] Train(bool withDashboard)
        {
            DeepSharp.Random.Seed(7);
            var (model, data) = Problem();
            var callbacks = withDashboard ? new[] { new DashboardCallback(new DashboardHub(), ClassifierProbe.FromDataset(model, data, Classes)) { BatchInterval = TimeSpan.Zero, GradientInterval = TimeSpan.Zero } } : [];
            new Trainer(model, new Adam(model.Parameters(), 1e-2), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null))
                .Fit(new DataLoader(data, 16, shuffle: true), new DataLoader(data, 32), epochs: 2, callbacks: callbacks);
            return model.Parameters().SelectMany(p => p.ToArray<float>()).Select(v => (double)v).ToArray();
        }
        Assert.Equal(Train(false), Train(true));
    }

    [Fact]
    public void The_static_report_inlines_every_event_and_the_chart_library()
    {
        var (model, data) = Problem();
        var hub = new DashboardHub();
        hub.PublishRun("linear on brightness");
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.1), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null));
        trainer.Fit(new DataLoader(data, 16), new DataLoader(data, 32), epochs: 1, callbacks: [new DashboardCallback(hub, ClassifierProbe.FromDataset(model, data, Classes))]);
        hub.Complete("test");
        var path = Path.Combine(Path.GetTempPath(), $"dashboard-{Guid.NewGuid():N}.html");
        try
        {
            DashboardPage.WriteReport(path, hub);
            var html = File.ReadAllText(path);
            var inlined = Regex.Match(html, @"window\.DASHBOARD_EVENTS = (\[.*?\]);</script>", RegexOptions.Singleline);
            Assert.True(inlined.Success, "the events are inlined as a JSON array");
            var events = JsonDocument.Parse(inlined.Groups[1].Value).RootElement.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
            Assert.Equal(["run", "batch", "epoch", "confusion", "samples", "end"], events.Distinct());
            Assert.Equal(hub.Count, events.Count);
            Assert.Contains("uPlot", html);
            Assert.DoesNotMatch(@"<(script|link|img)[^>]+(src|href)=""https?:", html);   // opens without a network
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_probe_refuses_images_that_are_not_a_batch_of_pictures()
    {
        var model = new Sequential(new Flatten(), new Linear(16, 3));
        var e = Assert.Throws<ArgumentException>(() => new ClassifierProbe(model, Tensor.Randn(4, 16), Tensor.Zeros(4).Long(), Classes));
        Assert.Contains("(4, 16)", e.Message);
        Assert.Equal("images", e.ParamName);
    }
}
