using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Conv;

/// <summary>float64 finite-difference checks of every op's gradient, first and second order.</summary>
public class ConvGradTests
{
    /// <summary>A float64 leaf that is a non-contiguous (permuted) view with the given shape.</summary>
    static Tensor NonContiguous(params int[] shape)
    {
        var swapped = (int[])shape.Clone(); (swapped[^1], swapped[^2]) = (swapped[^2], swapped[^1]);
        return Tensor.Randn(swapped, DType.Float64).Transpose(-1, -2).Detach().RequiresGrad_();
    }

    /// <summary>Checks the gradient of d/dx sum(f(x)²), i.e. double backward through f.</summary>
    static void SecondOrder(Func<Tensor[], Tensor> f, params Tensor[] inputs) =>
        GradCheck(a =>
        {
            using var _ = Autograd.EnableGrad();
            var y = f(a);
            var grads = Autograd.Grad([(y * y).Sum()], a.Where(t => t.RequiresGrad).ToArray(), createGraph: true);
            return grads.Select(g => g!.Reshape(-1)).Aggregate((p, q) => Cat(p, q));
        }, inputs);

    static Tensor Cat(Tensor a, Tensor b) =>   // 1-D concatenation from differentiable pieces
        a.NarrowScatter([a.NumEl + b.NumEl], 0, 0) + b.NarrowScatter([a.NumEl + b.NumEl], 0, a.NumEl);

    [Fact]
    public void Conv2dGradients()
    {
        DeepSharp.Random.Seed(1);
        GradCheck(a => F.Conv2d(a[0], a[1], a[2], stride: 2, padding: 1), R(2, 2, 5, 5), R(3, 2, 3, 3), R(3));
        GradCheck(a => F.Conv2d(a[0], a[1], stride: (1, 2), padding: (2, 1), dilation: 2), R(1, 2, 6, 7), R(2, 2, 2, 3));
        GradCheck(a => F.Conv2d(a[0], a[1], a[2], padding: 1, groups: 2), NonContiguous(1, 4, 4, 5), R(4, 2, 3, 2), R(4));
        GradCheck(a => F.Conv2d(a[0], a[1], a[2]), R(2, 3, 3, 3), NonContiguous(2, 3, 1, 1), R(2));          // pointwise path
        GradCheck(a => F.Conv2d(a[0], a[1]), R(2, 4, 4), R(3, 2, 2, 2));                                   // unbatched
    }

    [Fact]
    public void Conv1dAndTransposedGradients()
    {
        DeepSharp.Random.Seed(2);
        GradCheck(a => F.Conv1d(a[0], a[1], a[2], stride: 2, padding: 2, dilation: 2, groups: 2), R(2, 4, 9), R(2, 2, 3), R(2));
        GradCheck(a => F.ConvTranspose2d(a[0], a[1], a[2], stride: 2, padding: 1, outputPadding: 1), R(1, 2, 3, 3), R(2, 3, 3, 2), R(3));
        GradCheck(a => F.ConvTranspose2d(a[0], a[1], stride: (1, 2), padding: (1, 0), outputPadding: (1, 1), groups: 2, dilation: 2),
            NonContiguous(1, 4, 3, 4), R(4, 1, 2, 3));
        GradCheck(a => F.ConvTranspose1d(a[0], a[1], a[2], stride: 3, outputPadding: 2), R(2, 2, 4), R(2, 2, 3), R(2));
    }

    [Fact]
    public void ConvSecondOrderGradients()
    {
        DeepSharp.Random.Seed(3);
        SecondOrder(a => F.Conv2d(a[0], a[1], a[2], stride: 2, padding: 1, groups: 2), R(1, 2, 4, 5), R(2, 1, 3, 2), R(2));
        SecondOrder(a => F.ConvTranspose2d(a[0], a[1], stride: 2, padding: 1, outputPadding: 1), R(1, 2, 3, 3), R(2, 2, 2, 3));
        SecondOrder(a => F.Conv1d(a[0], a[1], dilation: 2), R(1, 2, 6), R(2, 2, 2));
    }

    [Fact]
    public void PoolingGradients()
    {
        DeepSharp.Random.Seed(4);
        GradCheck(a => F.MaxPool2d(a[0], (3, 2), stride: (2, 1), padding: 1, dilation: (1, 2), ceilMode: true), R(2, 2, 6, 7));
        GradCheck(a => F.MaxPool2d(a[0], 2), NonContiguous(1, 2, 4, 6));
        GradCheck(a => F.MaxPool1d(a[0], 3, stride: 2, padding: 1, ceilMode: true), R(2, 2, 8));
        GradCheck(a => F.AvgPool2d(a[0], 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false), R(1, 2, 6, 5));
        GradCheck(a => F.AvgPool2d(a[0], (2, 3), padding: (1, 0), divisorOverride: 4), NonContiguous(2, 1, 5, 6));
        GradCheck(a => F.AvgPool1d(a[0], 2), R(2, 3, 7));
        GradCheck(a => F.AdaptiveAvgPool2d(a[0], (3, 4)), R(1, 2, 5, 7));
        GradCheck(a => F.AdaptiveAvgPool1d(a[0], 3), R(2, 2, 7));
        GradCheck(a => F.AdaptiveMaxPool2d(a[0], (2, 3)), R(2, 5, 7));
        SecondOrder(a => F.MaxPool2d(a[0], 2, stride: 1), R(1, 2, 4, 4));
        SecondOrder(a => F.AvgPool2d(a[0], 3, stride: 2, padding: 1), R(1, 1, 5, 5));
        SecondOrder(a => F.AdaptiveAvgPool2d(a[0], (2, 3)), R(1, 2, 5, 4));
    }

    [Fact]
    public void EmbeddingInterpolatePadGradients()
    {
        DeepSharp.Random.Seed(5);
        var idx = Tensor.FromArray(new long[] { 1, 3, 3, 0, 4, 1 }, 2, 3);
        // the padding row's forward value is used but gets no gradient (as in PyTorch), so a finite-difference check only
        // holds for a padding index that is not looked up; the golden test and EmbeddingPaddingRowGetsNoGradient cover the rest.
        GradCheck(a => F.Embedding(idx, a[0], paddingIdx: 2), R(5, 2));
        GradCheck(a => F.Embedding(idx, a[0]), RT(5, 3));
        SecondOrder(a => F.Embedding(idx, a[0], paddingIdx: -3) * a[1], R(5, 2), R(2, 3, 2));

        GradCheck(a => F.Interpolate(a[0], size: (5, 7)), R(1, 2, 3, 4));
        GradCheck(a => F.Interpolate(a[0], scaleFactor: (1.5, 2.5)), NonContiguous(1, 1, 3, 4));
        GradCheck(a => F.Interpolate(a[0], size: (5, 3), mode: UpsampleMode.Bilinear), R(1, 2, 3, 4));
        GradCheck(a => F.Interpolate(a[0], size: (5, 7), mode: UpsampleMode.Bilinear, alignCorners: true), R(2, 1, 3, 4));
        GradCheck(a => F.Interpolate(a[0], scaleFactor: 1.7, mode: UpsampleMode.Linear), R(2, 2, 5));
        SecondOrder(a => F.Interpolate(a[0], scaleFactor: 2, mode: UpsampleMode.Bilinear), R(1, 1, 3, 3));

        GradCheck(a => F.Pad(a[0], [1, 2, -1, 1], value: 3), RT(3, 4));
        GradCheck(a => F.Pad(a[0], [0, 0, 2, 0, 1, 1]), R(2, 2, 3));
    }

    [Fact]
    public void DropoutGradientUsesTheSavedMask()
    {
        GradCheck(a => F.Dropout(a[0], 0.4, generator: new Generator(11)), R(4, 5));
        GradCheck(a => F.Dropout2d(a[0], 0.5, generator: new Generator(12)), R(2, 3, 2, 2));
        GradCheck(a => F.Dropout1d(a[0], 0.3, generator: new Generator(13)), R(3, 4));
    }
}
