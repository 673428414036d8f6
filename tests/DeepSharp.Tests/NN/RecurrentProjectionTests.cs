using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>
/// LSTM with projections (torch.nn.LSTM proj_size): gradient checks, fused vs composed, parameter layout, shapes and
/// errors. The PyTorch golden cases (lstm_proj_*) run in <see cref="RecurrentGoldenTests"/>.
/// </summary>
public class RecurrentProjectionTests
{
    static Tensor Flat(params Tensor?[] parts) => Tensor.Cat(parts.Where(p => p != null).Select(p => p!.Reshape(-1)).ToArray());

    static Tensor Run(LSTM m, Tensor x, Tensor h0, Tensor c0)
    {
        var (o, (h, c)) = m.Forward(x, (h0, c0));
        return Flat(o, h, c);
    }

    static Tensor RunPacked(LSTM m, Tensor x, int[] lengths, Tensor h0, Tensor c0)
    {
        var packed = RnnUtils.PackPaddedSequence(x, lengths, m.BatchFirst, enforceSorted: false);
        var (o, (h, c)) = m.Forward(packed, (h0, c0));
        return Flat(RnnUtils.PadPackedSequence(o, m.BatchFirst).Padded, h, c);
    }

    [Fact]
    public void TwoLayerBidirectionalProjectionGradCheck()
    {
        Random.Seed(21);
        var m = new LSTM(2, 3, 2, bidirectional: true, dtype: DType.Float64, projSize: 2);
        var x = R(3, 2, 2); var h0 = R(4, 2, 2); var c0 = R(4, 2, 3);
        GradCheck(t => Run(m, t[0], t[1], t[2]), [x, h0, c0, .. m.Parameters()]);
    }

    [Fact]
    public void PackedProjectionGradCheck()
    {
        Random.Seed(22);
        var m = new LSTM(2, 3, 2, batchFirst: true, bidirectional: true, dtype: DType.Float64, projSize: 1);
        var x = R(3, 4, 2); var h0 = R(4, 3, 1); var c0 = R(4, 3, 3);
        GradCheck(t => RunPacked(m, t[0], [2, 4, 1], t[1], t[2]), [x, h0, c0, .. m.Parameters()]);
    }

    [Fact]
    public void ComposedProjectionGradCheck()
    {
        Random.Seed(23);
        var m = new LSTM(2, 3, 1, bias: false, dtype: DType.Float64, projSize: 2) { UseFusedKernel = false };
        var x = R(3, 2, 2); var h0 = R(1, 2, 2); var c0 = R(1, 2, 3);
        GradCheck(t => Run(m, t[0], t[1], t[2]), [x, h0, c0, .. m.Parameters()]);
    }

    [Fact]
    public void FusedMatchesComposedWithProjection()
    {
        Random.Seed(24);
        var m = new LSTM(5, 7, 2, batchFirst: true, bidirectional: true, dtype: DType.Float64, projSize: 3);
        var x = R(3, 6, 5); var h0 = R(4, 3, 3); var c0 = R(4, 3, 7);
        var leaves = new[] { x, h0, c0 }.Concat(m.Parameters()).ToArray();
        foreach (var packed in new[] { false, true })
        {
            Tensor Eval(bool fused)
            {
                m.UseFusedKernel = fused;
                return packed ? RunPacked(m, x, [5, 6, 2], h0, c0) : Run(m, x, h0, c0);
            }
            var a = Eval(true); var b = Eval(false);
            AssertClose(b, a, 1e-12, 1e-12, $"packed={packed}: forward");
            var up = Tensor.RandnLike(a);
            var ga = Autograd.Grad([a], leaves, [up]);
            var gb = Autograd.Grad([b], leaves, [up]);
            for (int i = 0; i < leaves.Length; i++) AssertClose(gb[i]!, ga[i]!, 1e-10, 1e-12, $"packed={packed}: gradient {i}");
        }
    }

    [Fact]
    public void FusedProjectionSupportsDoubleBackward()
    {
        Random.Seed(25);
        RecurrentTests.AssertFusedSecondOrderMatchesComposed(new LSTM(2, 4, 2, dtype: DType.Float64, projSize: 2), R(3, 2, 2));
    }

    [Fact]
    public void Float32MatchesFloat64WithProjection()
    {
        Random.Seed(26);
        var m64 = new LSTM(4, 6, 2, bidirectional: true, dtype: DType.Float64, projSize: 3);
        var m32 = new LSTM(4, 6, 2, bidirectional: true, projSize: 3);
        m32.LoadStateDict(m64.StateDict());
        var x = Tensor.Randn([5, 3, 4], DType.Float64);
        var y32 = m32.Call(x.To(DType.Float32)).Output;
        AssertClose(m64.Call(x).Output, y32, 1e-4, 1e-5, "float32 output");
        y32.Sum().Backward();
        Assert.Equal([3, 6], m32.GetParameter("weight_hr_l1_reverse").Grad!.Shape);
    }

    [Fact]
    public void ParametersFollowPyTorchLayout()
    {
        var m = new LSTM(10, 20, numLayers: 2, bidirectional: true, projSize: 5);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
                      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_hr_l0_reverse",
                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_hr_l1",
                      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse", "weight_hr_l1_reverse"],
            m.StateDict().Keys);
        Assert.Equal(m.StateDict().Keys, m.FlatWeightsNames);
        Assert.Equal([80, 10], m.GetParameter("weight_ih_l0").Shape);
        Assert.Equal([80, 5], m.GetParameter("weight_hh_l0").Shape);
        Assert.Equal([5, 20], m.GetParameter("weight_hr_l0_reverse").Shape);
        Assert.Equal([80, 10], m.GetParameter("weight_ih_l1").Shape);   // D·P = 10 inputs above layer 0
        Assert.Equal(4, m.AllWeights.Count);
        Assert.All(m.AllWeights, group => Assert.Equal(5, group.Count));
        Assert.Equal("LSTM(10, 20, proj_size=5, num_layers=2, bidirectional=True)", m.ToString());
        Assert.Equal(5, m.ProjSize); Assert.Equal(5, m.OutputHiddenSize);

        var noBias = new LSTM(3, 4, bias: false, projSize: 2);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "weight_hr_l0"], noBias.StateDict().Keys);
        Assert.Equal(3, Assert.Single(noBias.AllWeights).Count);
        Assert.Equal(0, new LSTM(3, 4).ProjSize);
        Assert.Equal(4, new LSTM(3, 4).OutputHiddenSize);
    }

    [Fact]
    public void InitialisationUsesHiddenSizeBoundForEveryWeight()
    {
        var m = new LSTM(16, 64, projSize: 8);
        double bound = 1 / Math.Sqrt(64);
        foreach (var (name, p) in m.NamedParameters())
        {
            var v = p.ToArray<float>().Select(e => (double)e).ToArray();
            Assert.All(v, e => Assert.InRange(e, -bound, bound));
            Assert.True(v.Max() > 0.8 * bound && v.Min() < -0.8 * bound, name);
        }
    }

    [Fact]
    public void ShapesForAllLayouts()
    {
        var m = new LSTM(3, 6, numLayers: 2, bidirectional: true, batchFirst: true, projSize: 2);
        var (o, (h, c)) = m.Forward(Tensor.Randn(5, 7, 3), null);
        Assert.Equal([5, 7, 4], o.Shape); Assert.Equal([4, 5, 2], h.Shape); Assert.Equal([4, 5, 6], c.Shape);
        (o, (h, c)) = m.Forward(Tensor.Randn(7, 3), (Tensor.Zeros(4, 2), Tensor.Zeros(4, 6)));
        Assert.Equal([7, 4], o.Shape); Assert.Equal([4, 2], h.Shape); Assert.Equal([4, 6], c.Shape);
        // the last step's output is h_n of the forward direction of the top layer
        var single = new LSTM(3, 5, projSize: 2, dtype: DType.Float64);
        var (y, (hN, _)) = single.Forward(Tensor.Randn([4, 2, 3], DType.Float64), null);
        AssertClose(hN.Select(0, 0), y.Select(0, 3), 0, 0, "last output = h_n");
    }

    [Fact]
    public void DropoutBetweenProjectedLayersInTraining()
    {
        var m = new LSTM(3, 8, numLayers: 2, dropout: 0.5, projSize: 4);
        var x = Tensor.Randn(4, 2, 3);
        m.Eval();
        var a = m.Call(x).Output;
        m.Train();
        m.Generator = new Generator(1); var t1 = m.Call(x).Output;
        m.Generator = new Generator(1); var t2 = m.Call(x).Output;
        AssertClose(t1, t2, 0, 0, "same generator, same mask");
        Assert.Equal([4, 2, 4], t1.Shape);
        Assert.True(t1.Sub(a).Abs().Max().Item() > 1e-4, "training output differs from evaluation");
    }

    [Fact]
    public void BadProjectionArgumentsThrowClearErrors()
    {
        foreach (int bad in new[] { -1, 4, 5 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(3, 4, projSize: bad));
            Assert.Equal("projSize", e.ParamName);
            Assert.Contains("proj_size", e.Message);
        }
        var m = new LSTM(3, 4, numLayers: 2, projSize: 2);
        var err = Assert.Throws<ArgumentException>(() => m.Forward(Tensor.Randn(5, 2, 3), (Tensor.Zeros(2, 2, 4), Tensor.Zeros(2, 2, 4))));
        Assert.Equal("h0", err.ParamName); Assert.Contains("(2, 2, 2)", err.Message); Assert.Contains("proj_size", err.Message);
        err = Assert.Throws<ArgumentException>(() => m.Forward(Tensor.Randn(5, 2, 3), (Tensor.Zeros(2, 2, 2), Tensor.Zeros(2, 2, 2))));
        Assert.Equal("c0", err.ParamName); Assert.Contains("(2, 2, 4)", err.Message);
    }
}
