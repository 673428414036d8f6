using System.Globalization;
using System.Text.Json;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Tests;

/// <summary>The functional transforms and MakeGrid against torchvision 0.14 (tools/golden/vision_transforms.py).</summary>
public class TransformGoldenTests
{
    sealed record Case(Tensor Input, Tensor Output);

    static readonly Lazy<Dictionary<string, Case>> cases = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "transforms.json")));
        static Tensor Read(JsonElement e) => Tensor.FromArray(e.GetProperty("data").EnumerateArray().Select(x => x.GetSingle()).ToArray(),
            e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray());
        var inputs = doc.RootElement.GetProperty("inputs").EnumerateObject().ToDictionary(p => p.Name, p => Read(p.Value));
        return doc.RootElement.GetProperty("cases").EnumerateObject()
            .ToDictionary(p => p.Name, p => new Case(inputs[p.Value.GetProperty("input").GetString()!], Read(p.Value.GetProperty("output"))));
    });

    static double Num(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>What DeepSharp computes for each case name.</summary>
    static Tensor Compute(string name, Tensor x)
    {
        var parts = name.Split('_');
        switch (parts[0])
        {
            case "resize" when parts[1] == "nearest":
                var hw = parts[2].Split('x');
                return TF.Resize(x, (int.Parse(hw[0]), int.Parse(hw[1])), InterpolationMode.Nearest);
            case "resize" when parts[1].StartsWith("short"):
                int edge = int.Parse(parts[1][5..]);
                int? max = parts[2].StartsWith("max") ? int.Parse(parts[2][3..]) : null;
                return TF.Resize(x, edge, maxSize: max, antialias: name.EndsWith("aa1"));
            case "resize":
                var size = parts[1].Split('x');
                return TF.Resize(x, (int.Parse(size[0]), int.Parse(size[1])), antialias: parts[2] == "aa1");
            case "resized":
                return name == "resized_crop_up_aa1" ? TF.ResizedCrop(x, 1, 1, 4, 5, (9, 13))
                    : TF.ResizedCrop(x, 2, 3, 7, 9, (5, 6), antialias: name.EndsWith("aa1"));
            case "center":
                var crop = parts[^1].Split('x');
                return TF.CenterCrop(x, (int.Parse(crop[0]), int.Parse(crop[1])));
            case "crop":
                return TF.Crop(x, -2, 3, 6, 14);
            case "pad":
                var mode = Enum.Parse<PaddingMode>(parts[1], ignoreCase: true);
                return TF.Pad(x, (1, 2, 3, 4), mode == PaddingMode.Constant ? 0.5f : 0f, mode);
            case "hflip": return TF.HorizontalFlip(x);
            case "vflip": return TF.VerticalFlip(x);
            case "brightness": return TF.AdjustBrightness(x, Num(parts[1]));
            case "contrast": return TF.AdjustContrast(x, Num(parts[^1]));
            case "saturation": return TF.AdjustSaturation(x, Num(parts[1]));
            case "hue": return TF.AdjustHue(x, Num(parts[^1]));
            case "grayscale": return TF.RgbToGrayscale(x, int.Parse(parts[1]));
            case "erase": return TF.Erase(x, 2, 3, 4, 5, 0.1f, 0.2f, 0.3f);
            case "normalize": return new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]).Apply(x, new Generator(0));
            case "grid":
                return name switch
                {
                    "grid_nrow2_pad1" => Utils.MakeGrid(x, nrow: 2, padding: 1),
                    "grid_default" => Utils.MakeGrid(x),
                    "grid_normalize" => Utils.MakeGrid(x, nrow: 3, normalize: true),
                    "grid_scale_each_range" => Utils.MakeGrid(x, nrow: 4, padding: 3, normalize: true, valueRange: (-1, 1), scaleEach: true),
                    "grid_scale_each" => Utils.MakeGrid(x, nrow: 5, normalize: true, scaleEach: true, padValue: 0.25f),
                    "grid_mono" => Utils.MakeGrid(x, nrow: 2, padValue: 0.7f),
                    "grid_single_normalize" => Utils.MakeGrid(x, normalize: true),
                    _ => throw new KeyNotFoundException(name),
                };
            default: throw new KeyNotFoundException($"no DeepSharp call for fixture case {name}");
        }
    }

    public static IEnumerable<object[]> CaseNames() => cases.Value.Keys.Order().Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesTorchvision(string name)
    {
        var c = cases.Value[name];
        var output = Compute(name, c.Input);
        Assert.Equal(c.Output.Shape, output.Shape);
        var want = c.Output.ToArray<float>(); var got = output.ToArray<float>();
        double tol = 1e-6;   // bilinear is computed separably here, jointly in PyTorch: rounding differs by ~2e-7
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= tol * (1 + Math.Abs(want[i])), $"{name}: element {i}: torchvision {want[i]}, DeepSharp {got[i]}");
        // the same call on a batch of two copies gives the same result for each
        if (c.Input.Rank == 3 && !name.StartsWith("grid"))
        {
            var batch = Compute(name, Tensor.Stack([c.Input, c.Input]));
            Assert.Equal(got, batch.Select(0, 1).Contiguous().ToArray<float>());
        }
    }
}
