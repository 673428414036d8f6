namespace DeepSharp.Audio.Tests;

public class CtcTests
{
    static readonly int[] InputLengths = [12, 10, 7], TargetLengths = [4, 2, 3];
    // the targets of tools/golden/audio.py's ctc cases
    static readonly Tensor Padded = Tensor.FromArray(new long[] { 1, 2, 2, 3, 4, 1, 0, 0, 2, 2, 2, 0 }, [3, 4]);
    static readonly Tensor Infeasible = Tensor.FromArray(new long[] { 3, 3, 3, 1, 0, 0, 0, 0, 0 }, [3, 3]);
    static readonly Tensor Concatenated = Tensor.FromArray(new long[] { 1, 2, 2, 3, 3, 1, 2, 2, 2 }, [9]);

    [Theory, InlineData("mean"), InlineData("sum"), InlineData("none")]
    public void CtcLossMatchesTorch(string reduction) =>
        Golden.Check($"ctc_{reduction}", lp => Ctc.Loss(lp, Padded, InputLengths, TargetLengths, reduction: reduction));

    [Fact]
    public void InfeasibleTargetsAndZeroInfinityMatchTorch()
    {
        int[] inputs = [4, 12, 6], targets = [3, 1, 0];
        Golden.Check("ctc_infeasible_zi1", lp => Ctc.Loss(lp, Infeasible, inputs, targets, reduction: "sum", zeroInfinity: true));
        Golden.Check("ctc_infeasible_mean_zi1", lp => Ctc.Loss(lp, Infeasible, inputs, targets, zeroInfinity: true));
        var loss = Ctc.Loss(Golden.Input("ctc_infeasible_zi0", 0), Infeasible, inputs, targets, reduction: "sum");
        Assert.True(double.IsPositiveInfinity(loss.Item()));
        Assert.True(double.IsPositiveInfinity(Golden.Output("ctc_infeasible_zi0").Item()));
    }

    [Fact]
    public void ConcatenatedTargetsWithAnotherBlankMatchTorch() =>
        Golden.Check("ctc_concat_blank4", lp => Ctc.Loss(lp, Concatenated, InputLengths, TargetLengths, blank: 4));

    [Fact]
    public void CtcLossPassesGradCheckThroughLogSoftmax()
    {
        var logits = Tensor.Randn([6, 2, 4], DType.Float64, generator: new Generator(3)).RequiresGrad_();
        var targets = Tensor.FromArray(new long[] { 1, 2, 2, 3, 0, 0 }, [2, 3]);
        Assert.True(GradCheck.Check(x => Ctc.Loss(x[0].LogSoftmax(2), targets, [6, 5], [3, 1]), [logits]));
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var lp = Tensor.Zeros(5, 1, 3);
        var e = Assert.Throws<ArgumentException>(() => Ctc.Loss(lp, Tensor.FromArray(new long[] { 0, 1 }, [1, 2]), [5], [2]));
        Assert.Contains("blank", e.Message);
        Assert.Throws<ArgumentException>(() => Ctc.Loss(lp, Tensor.FromArray(new long[] { 1, 2 }, [1, 2]), [6], [2]));
        Assert.Throws<ArgumentException>(() => Ctc.Loss(lp, Tensor.FromArray(new long[] { 1, 2 }, [1, 2]), [5], [3]));
    }

    static Tensor Frames(params int[] labels)
    {
        var lp = new double[labels.Length * 4];
        for (int t = 0; t < labels.Length; t++)
            for (int c = 0; c < 4; c++) lp[t * 4 + c] = Math.Log(c == labels[t] ? 0.7 : 0.1);
        return Tensor.FromArray(lp, [labels.Length, 4]);
    }

    [Fact]
    public void GreedyMergesRepeatsAndDropsBlanks() =>
        Assert.Equal([1, 2, 2, 3], CtcDecoding.Greedy(Frames(0, 1, 1, 2, 0, 2, 3, 3, 0)));

    [Fact]
    public void BeamSearchFindsTheMostProbableLabelling()
    {
        Assert.Equal([1, 2, 2, 3], CtcDecoding.BeamSearch(Frames(0, 1, 1, 2, 0, 2, 3, 3, 0)));
        // Blank wins each frame (greedy: nothing), but "1" is the most probable labelling: .3·.3 + 2·.3·.4 = .33 > .4² = .16.
        double[] probs = [0.4, 0.3, 0.15, 0.15, 0.4, 0.3, 0.15, 0.15];
        var lp = Tensor.FromArray(probs.Select(p => Math.Log(p)).ToArray(), [2, 4]);
        Assert.Empty(CtcDecoding.Greedy(lp));
        Assert.Equal([1], CtcDecoding.BeamSearch(lp, beamWidth: 4));
    }

    [Fact]
    public void WordAndCharacterErrorRates()
    {
        Assert.Equal(0.25, CtcDecoding.WordErrorRate(["one two three four"], ["one two tree four"]));
        Assert.Equal(0.5, CtcDecoding.WordErrorRate(["a b", "c d"], ["a", "c d e"]));
        Assert.Equal(1.0 / 3, CtcDecoding.CharErrorRate(["abc"], ["abd"]), 12);
        Assert.Throws<ArgumentException>(() => CtcDecoding.WordErrorRate(["a"], []));
    }
}
