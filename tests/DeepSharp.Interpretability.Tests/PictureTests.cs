using DeepSharp.Cli;
using DeepSharp.IO;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Models;

namespace DeepSharp.Interpretability.Tests;

/// <summary>Colour maps, heat-map scaling, PNG output, the `deepsharp explain` command and the example.</summary>
public class PictureTests
{
    [Fact]
    public void ColourMapsHitTheirKnownColours()
    {
        // viridis: #440154 at 0, #21918c at 0.5 (≈ (33, 145, 140)), #fde725 at 1
        Assert.Equal((68, 1, 84), Bytes(ColorMap.Color(0)));
        Assert.Equal((33, 145, 140), Bytes(ColorMap.Color(0.5)));
        Assert.Equal((253, 231, 37), Bytes(ColorMap.Color(1)));
        // jet: dark blue (0, 0, 0.5) → cyan-ish green (0.5, 1, 0.5) → dark red (0.5, 0, 0)
        Assert.Equal((0.0, 0.0, 0.5), ColorMap.Color(0, ColorMapKind.Jet));
        Assert.Equal((0.5, 1.0, 0.5), ColorMap.Color(0.5, ColorMapKind.Jet));
        Assert.Equal((0.5, 0.0, 0.0), ColorMap.Color(1, ColorMapKind.Jet));
        Assert.Equal(ColorMap.Color(1), ColorMap.Color(7));                 // clamped
        Assert.Equal(ColorMap.Color(0), ColorMap.Color(double.NaN));
    }

    static (int, int, int) Bytes((double R, double G, double B) c) =>
        ((int)Math.Round(c.R * 255), (int)Math.Round(c.G * 255), (int)Math.Round(c.B * 255));

    [Fact]
    public void HeatmapScalesAsCaptumVisualizeImageAttr()
    {
        // 100 values 1..100: the running sum reaches 98 % of 5050 (4949) at 99 (sum 4950), so 99 maps to 1 and 100 is clipped
        var a = Tensor.Arange(1, 101).To(DType.Float64).Reshape(1, 10, 10);
        var heat = Heatmap.FromAttribution(a).ToArray<float>();
        Assert.Equal(1 / 99f, heat[0], 6);
        Assert.Equal(1f, heat[98]);
        Assert.Equal(1f, heat[99]);
        Assert.Equal(99, Heatmap.CumulativeSumThreshold(Enumerable.Range(1, 100).Select(v => (double)v).ToArray(), 98));
        // channels are summed first; "all" maps the sign to both halves of the colour map
        var signed = Tensor.FromArray(new double[] { -2, 2, 0, 0 }, [2, 1, 2]);
        var all = Heatmap.FromAttribution(signed, HeatmapSign.All, outlierPercent: 0).ToArray<float>();
        Assert.Equal(new[] { 0f, 1f }, all);
        Assert.Equal(new[] { 0f, 1f }, Heatmap.FromAttribution(signed, HeatmapSign.Positive, 0).ToArray<float>());
    }

    [Fact]
    public void PanelsAndOverlaysAreWrittenAsPng()
    {
        var image = Tensor.Rand(1, 6, 5);
        var heat = Tensor.Rand(6, 5);
        var overlay = Heatmap.Overlay(image, heat, ColorMapKind.Jet, alpha: 1);
        Golden.Close(ColorMap.Apply(heat, ColorMapKind.Jet), overlay, "alpha 1 shows the heat map only", atol: 1e-6);
        var panel = Attribution.Picture(image, heat, scale: 2);
        Assert.Equal(new[] { 3, 12, 3 * 10 + 2 * 2 }, panel.Shape);
        var path = Path.Combine(Path.GetTempPath(), $"interp-{Guid.NewGuid():N}.png");
        Heatmap.SavePng(panel, path);
        var back = Png.Load(path);
        Assert.Equal((12, 34, 3), (back.Height, back.Width, back.Channels));
        Assert.Equal(255, back[0, 10]);                                     // the white padding between the pictures
        File.Delete(path);
    }

    /// <summary>`deepsharp explain` on a saved (untrained) Fashion CNN and a zoo ResNet-18: top classes, the PNG, and a wrong layer's list.</summary>
    [Theory]
    [InlineData("cnn", "gradcam", "features.9")]
    [InlineData("resnet18", "gradcam++", "layer3.1.conv2")]
    [InlineData("resnet18", "occlusion", null)]
    [InlineData("cnn", "ig", null)]
    public void ExplainCommandWritesTheOverlay(string modelName, string method, string? layer)
    {
        Assert.True(Directory.Exists("/usr/share/datasets/fashion-mnist"), "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist");
        var dir = Path.Combine(Path.GetTempPath(), $"interp-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        DeepSharp.Random.Seed(0);
        var model = ModelZoo.Create(modelName == "cnn" ? "fashion_cnn" : modelName, 10, 1);
        var modelPath = Path.Combine(dir, "model.safetensors");
        SafeTensors.Save(modelPath, model.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = modelName, ["deepsharp.dataset"] = "fashion-mnist" });
        var outPath = Path.Combine(dir, "x.png");
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = Cli.Cli.Run(["explain", modelPath, "test:12", "--method", method, "--out", outPath], output, error);
        Assert.True(code == 0, error.ToString());
        var text = output.ToString();
        Assert.Contains("true class: Sneaker", text);
        Assert.Contains($"{method}{(layer != null ? $" at layer {layer}" : "")} for class ", text);
        Assert.Equal(method == "ig", text.Contains("convergence delta: "));
        var png = Png.Load(outPath);
        Assert.Equal((112, 3 * 112 + 2 * 2), (png.Height, png.Width));

        code = Cli.Cli.Run(["explain", modelPath, "test:12", "--method", "gradcam", "--layer", "head", "--out", outPath], output, error);
        Assert.Equal(2, code);
        Assert.Contains("deepsharp explain: layer 'head' does not exist in", error.ToString());
        Assert.Contains(modelName == "cnn" ? "features.0, features.1" : "layer4.1.conv2", error.ToString());
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void ExplainExampleRunsAtToySize()
    {
        Assert.True(Directory.Exists("/usr/share/datasets/fashion-mnist"), "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist");
        var dir = Path.Combine(Path.GetTempPath(), $"interp-example-{Guid.NewGuid():N}");
        var options = ExplainExample.Options.Parse(["--train-images", "512", "--test-images", "200", "--images", "2", "--visualization-steps", "3", "--out", dir]);
        var log = new StringWriter();
        var result = ExplainExample.Run(options, log);
        Assert.InRange(result.TestAccuracy, 0, 1);
        Assert.Equal(2, result.IntegratedGradientsDeltas.Length);
        Assert.Equal(6, result.Sanity.Count);
        Assert.All(result.Files, f => Assert.True(File.Exists(f), f));
        Assert.Contains("sanity check (cascading randomisation", log.ToString());
        Directory.Delete(dir, recursive: true);
    }
}
