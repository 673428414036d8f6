namespace DeepSharp.Reinforcement.Tests;

/// <summary>The building blocks of the agents, checked against hand computations.</summary>
public class PiecesTests
{
    [Fact]
    public void GaeMatchesAHandComputation()
    {
        // one environment, 3 steps, the episode ends at t = 1; γ = 0.9, λ = 0.5
        float[] rewards = [1, 2, 3], values = [0.5f, 1.0f, 1.5f];
        bool[] dones = [false, true, false];
        var (adv, ret) = Gae.Compute(rewards, values, dones, lastValues: [2.0f], gamma: 0.9, lambda: 0.5);
        double d2 = 3 + 0.9 * 2.0 - 1.5;                 // 3.3, bootstraps from lastValues
        double d1 = 2 - 1.0;                             // 1.0, terminal: no bootstrap
        double d0 = 1 + 0.9 * 1.0 - 0.5;                 // 1.4
        double a2 = d2, a1 = d1, a0 = d0 + 0.9 * 0.5 * a1;
        Assert.Equal([a0, a1, a2], adv.Select(x => (double)x), new Tol(1e-6));
        Assert.Equal([a0 + 0.5, a1 + 1.0, a2 + 1.5], ret.Select(x => (double)x), new Tol(1e-6));
    }

    [Fact]
    public void GaeKeepsEnvironmentsApartAndLambdaOneIsTheDiscountedReturn()
    {
        // two environments interleaved [t * 2 + env]; with λ = 1 and V = 0, A is the discounted return to go
        float[] rewards = [1, 10, 1, 20, 1, 30], values = new float[6];
        var (adv, _) = Gae.Compute(rewards, values, new bool[6], lastValues: [0, 0], gamma: 0.5, lambda: 1.0);
        Assert.Equal([1.75, 10 + 10 + 7.5, 1.5, 20 + 15, 1, 30], adv.Select(x => (double)x), new Tol(1e-5));
        Assert.Throws<ArgumentException>(() => Gae.Compute(rewards, new float[5], new bool[6], [0, 0], 0.9, 0.9));
    }

    [Fact]
    public void LinearScheduleFallsThenStays()
    {
        var eps = new LinearSchedule(1.0, 0.05, 0.1);
        Assert.Equal(1.0, eps.At(0, 1000));
        Assert.Equal(1.0 - 0.95 * 0.5, eps.At(50, 1000), 12);
        Assert.Equal(0.05, eps.At(100, 1000), 12);
        Assert.Equal(0.05, eps.At(999, 1000), 12);
        Assert.Equal(0.2, LinearSchedule.Constant(0.2).At(0.7));
        Assert.Equal(0.25, new LinearSchedule(1e-3, 0).At(0.75) * 1000, 12);
    }

    [Fact]
    public void ReplayBufferOverwritesTheOldestAndSamplesWhatItStored()
    {
        var buffer = new ReplayBuffer(capacity: 3, observationSize: 2);
        for (int i = 0; i < 5; i++) buffer.Add([i, -i], action: i % 2, reward: i * 10, nextObservation: [i + 1, -i - 1], isTerminal: i == 4);
        Assert.Equal(3, buffer.Count);
        var all = buffer.Gather([0, 1, 2]);                         // slots: 3, 4, 2 (5 % 3 wrapped)
        Assert.Equal([3f, -3, 4, -4, 2, -2], all.Observations.ToArray<float>());
        Assert.Equal([4f, -4, 5, -5, 3, -3], all.NextObservations.ToArray<float>());
        Assert.Equal([30f, 40, 20], all.Rewards.ToArray<float>());
        Assert.Equal([1L, 0, 0], all.Actions.ToArray<long>());
        Assert.Equal([0f, 1, 0], all.Terminated.ToArray<float>());
        var batch = buffer.Sample(200, new Generator(1));
        var rewards = batch.Rewards.ToArray<float>();
        Assert.Equal(new[] { 20f, 30, 40 }, rewards.Distinct().Order());   // only stored transitions, all of them
        Assert.All(Enumerable.Range(0, 200), i => Assert.Equal(batch.Observations.ToArray<float>()[2 * i] * 10, rewards[i]));
        Assert.Throws<ArgumentException>(() => buffer.Add([1, 2, 3], 0, 0, [1, 2], false));
        Assert.Throws<InvalidOperationException>(() => new ReplayBuffer(4, 1).Sample(2, new Generator(0)));
    }

    [Fact]
    public void ClippedSurrogateLossAndGradientMatchTheHandComputation()
    {
        // ratios e^{0.1}, e^{-0.5}, e^{0.5} with advantages +1, +1, −2 and ε = 0.2
        var logProb = Tensor.FromArray([0.1, -0.5, 0.5], [3], requiresGrad: true);
        var old = Tensor.Zeros(3).To(DType.Float64);
        var adv = Tensor.FromArray([1.0, 1.0, -2.0]);
        var loss = PpoLoss.ClippedSurrogate(logProb, old, adv, 0.2);
        double r0 = Math.Exp(0.1), r1 = Math.Exp(-0.5), r2 = Math.Exp(0.5);
        // min(r·A, clip(r)·A): r0 inside → r0; r1 below with A>0 → r1 (unclipped smaller); r2 above with A<0 → −2·r2
        Assert.Equal(-(r0 + r1 - 2 * r2) / 3, loss.Item(), 12);
        loss.Backward();
        // d/dlogp of −r·A/3 is −r·A/3 where the unclipped term is chosen
        Assert.Equal([-r0 / 3, -r1 / 3, 2 * r2 / 3], logProb.Grad!.ToArray<double>(), new Tol(1e-12));

        // a clipped term passes no gradient: ratio e^{0.5} above 1 + ε with A > 0 → clip(r)·A = 1.2
        var clipped = Tensor.FromArray([0.5], [1], requiresGrad: true);
        var l2 = PpoLoss.ClippedSurrogate(clipped, Tensor.Zeros(1).To(DType.Float64), Tensor.FromArray([1.0]), 0.2);
        Assert.Equal(-1.2, l2.Item(), 12);
        l2.Backward();
        Assert.Equal(0.0, clipped.Grad!.ToArray<double>()[0]);
    }

    [Fact]
    public void ClippedSurrogatePassesAFloat64GradientCheck()
    {
        var g = new Generator(5);
        var logProb = Tensor.FromArray(Enumerable.Range(0, 8).Select(_ => 0.6 * (g.NextDouble() - 0.5)).ToArray(), [8], requiresGrad: true);
        var old = Tensor.FromArray(Enumerable.Range(0, 8).Select(_ => 0.05 * (g.NextDouble() - 0.5)).ToArray());
        var adv = Tensor.FromArray(Enumerable.Range(0, 8).Select(_ => g.NextNormal()).ToArray());
        Assert.True(GradCheck.Check(x => PpoLoss.ClippedSurrogate(x[0], old, adv, 0.2), [logProb]));
    }

    [Fact]
    public void ClippedSurrogateRejectsMismatchedShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => PpoLoss.ClippedSurrogate(Tensor.Zeros(3), Tensor.Zeros(4), Tensor.Zeros(3), 0.2));
        Assert.Contains("(4)", e.Message);
    }

    [Fact]
    public void AdvantageNormalisationHasZeroMeanAndUnitStd()
    {
        var a = PpoLoss.Normalize(Tensor.FromArray([1.0, 2.0, 3.0, 10.0]));
        Assert.Equal(0.0, a.Mean().Item(), 10);
        Assert.Equal(1.0, a.Std().Item(), 6);
    }

    [Fact]
    public void CategoricalSamplingFollowsTheProbabilities()
    {
        var logp = new[] { Math.Log(0.2), Math.Log(0.5), Math.Log(0.3) }.Select(x => (float)x).ToArray();
        var rows = Enumerable.Repeat(logp, 20000).SelectMany(r => r).ToArray();
        var actions = Ppo.SampleActions(rows, 3, new Generator(3));
        Assert.InRange(actions.Count(a => a == 0) / 20000.0, 0.19, 0.21);
        Assert.InRange(actions.Count(a => a == 1) / 20000.0, 0.49, 0.51);
    }

    sealed class Tol(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double x) => 0;
    }
}
