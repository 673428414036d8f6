using static DeepSharp.Tests.TestUtil;
using DeepSharp.NN;

namespace DeepSharp.Tests.Conv;

/// <summary>Every case of tools/golden/conv_ops.py: outputs and input gradients against PyTorch 1.13.</summary>
public class ConvGoldenTests
{
    static readonly Dictionary<string, Func<Tensor[], Tensor>> Cases = new()
    {
        ["conv2d_basic"] = a => F.Conv2d(a[0], a[1], a[2], padding: 1),
        ["conv2d_stride2_pad"] = a => F.Conv2d(a[0], a[1], a[2], stride: 2, padding: (1, 0)),
        ["conv2d_dilation2"] = a => F.Conv2d(a[0], a[1], padding: 2, dilation: 2),
        ["conv2d_groups2"] = a => F.Conv2d(a[0], a[1], a[2], stride: (2, 1), padding: 1, groups: 2),
        ["conv2d_1x1"] = a => F.Conv2d(a[0], a[1], a[2]),
        ["conv2d_unbatched"] = a => F.Conv2d(a[0], a[1], padding: (0, 1)),
        ["conv2d_f32"] = a => F.Conv2d(a[0], a[1], a[2], stride: 2, padding: 1),
        ["conv1d"] = a => F.Conv1d(a[0], a[1], a[2], stride: 2, padding: 1),
        ["conv1d_groups_dil"] = a => F.Conv1d(a[0], a[1], groups: 2, dilation: 2),
        ["convT2d_basic"] = a => F.ConvTranspose2d(a[0], a[1], a[2], stride: 2, padding: 1, outputPadding: 1),
        ["convT2d_groups_dil"] = a => F.ConvTranspose2d(a[0], a[1], a[2], stride: (1, 2), padding: (0, 1), outputPadding: (1, 1), groups: 2, dilation: 2),
        ["convT2d_f32"] = a => F.ConvTranspose2d(a[0], a[1], stride: 2),
        ["convT1d"] = a => F.ConvTranspose1d(a[0], a[1], stride: 2, padding: 1),

        ["maxpool2d_basic"] = a => F.MaxPool2d(a[0], 2),
        ["maxpool2d_stride_pad_dil"] = a => F.MaxPool2d(a[0], (3, 2), stride: (2, 1), padding: (1, 1), dilation: (2, 1)),
        ["maxpool2d_ceil"] = a => F.MaxPool2d(a[0], 2, stride: 2, ceilMode: true),
        ["maxpool2d_indices"] = a => F.MaxPool2d(a[0], 3, stride: 2, padding: 1),
        ["maxpool2d_f32"] = a => F.MaxPool2d(a[0], 3, stride: 2, padding: 1),
        ["maxpool1d"] = a => F.MaxPool1d(a[0], 3, stride: 2, padding: 1, ceilMode: true),
        ["avgpool2d"] = a => F.AvgPool2d(a[0], 3, stride: 2, padding: 1),
        ["avgpool2d_ceil_nopad"] = a => F.AvgPool2d(a[0], (2, 3), stride: 2, padding: 1, ceilMode: true, countIncludePad: false),
        ["avgpool2d_divisor"] = a => F.AvgPool2d(a[0], 2, divisorOverride: 3),
        ["avgpool2d_f32"] = a => F.AvgPool2d(a[0], 2, stride: 1, ceilMode: true),
        ["avgpool1d"] = a => F.AvgPool1d(a[0], 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false),
        ["adaptive_avg2d"] = a => F.AdaptiveAvgPool2d(a[0], (3, 2)),
        ["adaptive_avg2d_up"] = a => F.AdaptiveAvgPool2d(a[0], (5, 4)),
        ["adaptive_avg1d"] = a => F.AdaptiveAvgPool1d(a[0], 4),
        ["adaptive_max2d"] = a => F.AdaptiveMaxPool2d(a[0], (3, 4)),

        ["embedding_padding"] = a => F.Embedding(a[0], a[1], paddingIdx: 2),
        ["embedding"] = a => F.Embedding(a[0], a[1]),
        ["embedding_f32"] = a => F.Embedding(a[0], a[1], paddingIdx: -1),

        ["nearest_size"] = a => F.Interpolate(a[0], size: (5, 7)),
        ["nearest_scale2"] = a => F.Interpolate(a[0], scaleFactor: 2),
        ["nearest_scale_frac"] = a => F.Interpolate(a[0], scaleFactor: (1.5, 2.5)),
        ["nearest_down"] = a => F.Interpolate(a[0], size: (2, 3)),
        ["bilinear"] = a => F.Interpolate(a[0], size: (5, 7), mode: UpsampleMode.Bilinear, alignCorners: false),
        ["bilinear_align"] = a => F.Interpolate(a[0], size: (5, 7), mode: UpsampleMode.Bilinear, alignCorners: true),
        ["bilinear_scale"] = a => F.Interpolate(a[0], scaleFactor: 1.7, mode: UpsampleMode.Bilinear),
        ["bilinear_down"] = a => F.Interpolate(a[0], size: (2, 3), mode: UpsampleMode.Bilinear),
        ["bilinear_f32"] = a => F.Upsample(a[0], scaleFactor: 2, mode: UpsampleMode.Bilinear, alignCorners: false),
        ["linear_1d"] = a => F.Interpolate(a[0], size: 8, mode: UpsampleMode.Linear, alignCorners: false),
        ["linear_1d_align"] = a => F.Interpolate(a[0], size: 8, mode: UpsampleMode.Linear, alignCorners: true),
        ["nearest_1d"] = a => F.Interpolate(a[0], scaleFactor: 2.5),

        ["pad_constant"] = a => F.Pad(a[0], [1, 2, 0, -1], value: 0.5),
    };

    public static IEnumerable<object[]> Names => Cases.Keys.Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        var c = Golden.Golden.Case("conv_ops", name);
        var inputs = Enumerable.Range(0, c.Inputs.Length).Select(i => c.Input(i)).ToArray();
        var y = Cases[name](inputs);
        bool f32 = y.DType == DType.Float32;
        c.Check(y, inputs.Where(t => t.RequiresGrad).ToArray(), rtol: f32 ? 1e-5 : 1e-6, atol: f32 ? 1e-5 : 1e-8);
    }

    [Fact]
    public void EveryFixtureCaseIsTested()
    {
        var untested = Golden.Golden.CaseNames("conv_ops").Where(n => !Cases.ContainsKey(n)).ToArray();
        Assert.True(untested.Length == 0, "untested fixture cases: " + string.Join(", ", untested));
    }

    [Fact]
    public void MaxPoolIndicesMatchPyTorch()
    {
        void Check(string name, Func<Tensor, (Tensor, Tensor)> f)
        {
            var c = Golden.Golden.Case("conv_ops", name);
            var (y, indices) = f(c.Input(0));
            Assert.Equal(DType.Int64, indices.DType);
            AssertClose(c.Outputs[0]!, y, what: name);
            Assert.Equal(c.Outputs[1]!.ToArray<long>(), indices.ToArray<long>());
        }
        Check("maxpool2d_indices", x => F.MaxPool2dWithIndices(x, 3, stride: 2, padding: 1));
        Check("maxpool1d", x => F.MaxPool1dWithIndices(x, 3, stride: 2, padding: 1, ceilMode: true));
        Check("adaptive_max2d", x => F.AdaptiveMaxPool2dWithIndices(x, (3, 4)));
    }

    [Fact]
    public void EmbeddingTakesInt32Indices()
    {
        var c = Golden.Golden.Case("conv_ops", "embedding_padding");
        var w = c.Input(1);
        c.Check(F.Embedding(c.Input(0, DType.Int32), w, paddingIdx: 2), [w]);
    }
}
