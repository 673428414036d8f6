using System.Text.Json.Nodes;
using DeepSharp.Cli.Commands;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// The suites of `deepsharp bench --compare-pytorch --inference --convs --main-job` (issue 12): parsing the tools' output,
/// merging both sides into results.json rows and the ratios. No timings are taken.
/// </summary>
public class BenchSuitesTests
{
    [Fact]
    public void RatioIsOursOverThePeerAndNullWhenASideIsMissing()
    {
        Assert.Equal(2.5, BenchSuites.Ratio(5, 2));
        Assert.Equal(0.333, BenchSuites.Ratio(1, 3));
        Assert.Null(BenchSuites.Ratio(null, 2));
        Assert.Null(BenchSuites.Ratio(1, null));
        Assert.Null(BenchSuites.Ratio(1, 0));
        Assert.Null(BenchSuites.Ratio(double.NaN, 1));
    }

    [Fact]
    public void LastJsonObjectSkipsProgressLinesAndNamesTheToolWhenThereIsNone()
    {
        var o = BenchSuites.LastJsonObject("pytorch resnet18_b1 60 ms\nwarning: something\n{\"a\": {\"ms\": 1.5}}\n\n", "tool");
        Assert.Equal(1.5, (double)o["a"]!["ms"]!);
        var e = Assert.Throws<InvalidDataException>(() => BenchSuites.LastJsonObject("Traceback ...\nImportError: no torch\n", "benchmarks/conv_layers.py"));
        Assert.Contains("benchmarks/conv_layers.py", e.Message);
        Assert.Contains("ImportError: no torch", e.Message);
    }

    [Fact]
    public void TestAccuracyIsReadFromTheLastLineOfEitherSide()
    {
        // deepsharp train ends with "test accuracy: X"; train_twin.py prints "test loss L test accuracy: X"
        Assert.Equal(0.9123, BenchSuites.ParseTestAccuracy("epoch 1 ...\ntest accuracy: 0.9000\ntest accuracy: 0.9123\n"));
        Assert.Equal(0.8876, BenchSuites.ParseTestAccuracy("epoch 5: val loss 0.25 val acc 0.91\ntest loss 0.3012 test accuracy: 0.8876\nwall 300.1 s; peak RSS 700 MiB"));
        Assert.Null(BenchSuites.ParseTestAccuracy("val acc 0.9\n"));
    }

    [Fact]
    public void InferenceRowsCarryBothRatiosThreadsAndDiffs()
    {
        var dotnet = (JsonObject)JsonNode.Parse("""
            {"resnet18_b1": {"deepsharp_ms": 80.0, "deepsharp_threads": 2, "ort_ms": 26.0, "ort_threads": 2, "max_abs_diff_ort": 1.2e-5, "max_abs_diff_pytorch": 2e-5},
             "mlp_b1": {"deepsharp_ms": 0.027, "deepsharp_threads": 1, "ort_ms": 0.054, "ort_threads": 1, "max_abs_diff_ort": 0, "max_abs_diff_pytorch": 1e-7}}
            """)!;
        var torch = (JsonObject)JsonNode.Parse("""{"resnet18_b1": {"ms": 60.0, "threads": 2}}""")!;
        var rows = BenchSuites.MergeInference(dotnet, torch);
        Assert.Equal(2, rows.Count);
        var r = rows[0]!;
        Assert.Equal("resnet18_b1", (string)r["workload"]!);
        Assert.Equal(3.077, (double)r["ratio_ort"]!);
        Assert.Equal(1.333, (double)r["ratio_pytorch"]!);
        Assert.Equal(2, (int)r["pytorch_threads"]!);
        Assert.Equal(1.2e-5, (double)r["max_abs_diff_ort"]!);
        var mlp = rows[1]!;
        Assert.Equal(0.5, (double)mlp["ratio_ort"]!);
        Assert.Null(mlp["pytorch"]);          // PyTorch's side lacked the model: no ratio rather than a made-up one
        Assert.Null(mlp["ratio_pytorch"]);
        Assert.Contains("\"ratio_ort\":0.5", rows.ToJsonString());
    }

    [Fact]
    public void ConvRowsFollowTheLayerListAndItsShapesReachThePythonSide()
    {
        var layers = BenchSuites.ConvLayers;
        Assert.Contains(layers, l => l.K == 7 && l.Stride == 2);                        // ResNet-18 stem
        Assert.Contains(layers, l => l.K == 1 && l.Stride == 2);                        // 1x1 downsample
        Assert.Contains(layers, l => l.K == 3 && l.Stride == 2 && l.Groups == 1);       // 3x3 stride 2
        Assert.Contains(layers, l => l.Groups == l.C && l.Groups > 1);                   // MobileNetV2 depthwise
        Assert.Equal(4, layers.Count(l => l.Name.StartsWith("cnn ")));                    // the Fashion CNN's four convs
        Assert.Equal(layers.Length, layers.Select(l => l.Name).Distinct().Count());

        var shapes = JsonNode.Parse(BenchSuites.ShapesJson(layers))!.AsArray();
        Assert.Equal(layers.Length, shapes.Count);
        var dw = shapes.First(s => (int)s!["groups"]! > 1)!;
        Assert.Equal((int)dw["c"]!, (int)dw["groups"]!);
        Assert.True((bool)dw["input_grad"]!);

        var two = layers.Take(2).ToArray();
        var ours = new Dictionary<string, BenchSuites.ConvTiming>
        {
            [two[0].Name] = new(1.0, 1, 4.0, 2),
            [two[1].Name] = new(20.0, 2, 60.0, 2),
        };
        var torch = (JsonObject)JsonNode.Parse($$$"""{"{{{two[0].Name}}}": {"fwd_ms": 2.0, "fwd_threads": 2, "fwdbwd_ms": 8.0, "fwdbwd_threads": 1}}""")!;
        var rows = BenchSuites.MergeConvs(layers, ours, torch);
        Assert.Equal(2, rows.Count);    // only the layers DeepSharp timed
        Assert.Equal(0.5, (double)rows[0]!["ratio_fwd"]!);
        Assert.Equal(0.5, (double)rows[0]!["ratio_fwdbwd"]!);
        Assert.Equal("1/2", (string)rows[0]!["deepsharp_threads"]!);
        Assert.Equal("2/1", (string)rows[0]!["pytorch_threads"]!);
        Assert.Null(rows[1]!["ratio_fwdbwd"]);
    }

    [Fact]
    public void MainJobRecordHasBothSidesAndTheWallRatio()
    {
        var r = BenchSuites.MainJobRecord(5, null, 400, 0.9101, 500, 0.9087);
        Assert.Equal(0.8, (double)r["ratio_wall"]!);
        Assert.Equal(0.9101, (double)r["deepsharp_test_accuracy"]!);
        Assert.Equal(0.9087, (double)r["pytorch_test_accuracy"]!);
        Assert.Null(r["limit"]);
        Assert.Equal(2000, (int)BenchSuites.MainJobRecord(1, 2000, 10, null, 12, null)["limit"]!);
    }

    [Fact]
    public void UsageNamesTheSuitesAndTheyNeedComparePytorch()
    {
        var (code, output) = Run(["bench", "--help"]);
        Assert.Equal(0, code);
        foreach (var flag in new[] { "--inference", "--convs", "--main-job", "--main-epochs", "--no-standard" })
            Assert.Contains(flag, output);
        var e = Assert.Throws<UsageException>(() => Run(["bench", "--convs", "--main-job"]));
        Assert.Contains("--convs, --main-job", e.Message);
        Assert.Contains("--compare-pytorch", e.Message);
    }

    static (int Code, string Output) Run(string[] args)
    {
        var writer = new StringWriter();
        int code = BenchCommand.Run(args[1..], writer);
        return (code, writer.ToString());
    }
}
