using DeepSharp.NN;

namespace DeepSharp.Reinforcement.Tests;

/// <summary>DQN's target, the vector environment, evaluation and seeded reproducibility, on small budgets.</summary>
public class AgentTests
{
    static ReplayBatch OneTransition(float reward, float terminated) => new(
        Tensor.FromArray(new float[] { 0.1f, 0.2f, 0.3f, 0.4f }, 1, 4), Tensor.FromArray(new long[] { 1 }, 1),
        Tensor.FromArray(new[] { reward }, 1), Tensor.FromArray(new float[] { -0.1f, 0.0f, 0.2f, 0.1f }, 1, 4),
        Tensor.FromArray(new[] { terminated }, 1));

    static double Huber(double x) => Math.Abs(x) < 1 ? 0.5 * x * x : Math.Abs(x) - 0.5;

    [Theory]
    [InlineData(false, 0f)]
    [InlineData(true, 0f)]
    [InlineData(false, 1f)]
    public void TemporalDifferenceLossIsHuberAgainstTheBootstrappedTarget(bool doubleDqn, float terminated)
    {
        var agent = new Dqn(new CartPole(), DqnOptions.CartPole with { DoubleDqn = doubleDqn, Gamma = 0.9 }, seed: 4);
        // make the target network differ from the online one, so Double DQN's choice matters
        using (Autograd.NoGrad())
            foreach (var p in agent.TargetNetwork.Parameters()) p.CopyFrom(p * 1.5 + 0.01);
        var batch = OneTransition(reward: 2f, terminated);
        using var _ = Autograd.NoGrad();
        var q = agent.QNetwork.Call(batch.Observations).ToArray<float>();
        var qNextTarget = agent.TargetNetwork.Call(batch.NextObservations).ToArray<float>();
        var qNextOnline = agent.QNetwork.Call(batch.NextObservations).ToArray<float>();
        double next = doubleDqn ? qNextTarget[qNextOnline[0] >= qNextOnline[1] ? 0 : 1] : qNextTarget.Max();
        double target = 2 + (1 - terminated) * 0.9 * next;
        Assert.Equal(Huber(q[1] - target), agent.TemporalDifferenceLoss(batch).Item(), 5);
    }

    [Fact]
    public void DqnIsReproducibleFromItsSeedAndExplores()
    {
        var options = DqnOptions.CartPole with { TotalSteps = 1500, LearningStarts = 200, TrainFrequency = 64, GradientSteps = 8, Hidden = [32] };
        double[] Run(long seed)
        {
            var agent = new Dqn(new CartPole(), options, seed);
            var log = agent.Learn();
            Assert.NotNull(agent.LastLoss);
            return log.Episodes.Select(e => e.Return).ToArray();
        }
        var a = Run(11);
        Assert.Equal(a, Run(11));
        Assert.NotEqual(a, Run(12));
        Assert.True(a.Length > 20, $"random play should end many short episodes, got {a.Length}");
    }

    [Fact]
    public void PpoIsReproducibleFromItsSeedAndReportsProgress()
    {
        var options = PpoOptions.CartPole with { Hidden = [16], Epochs = 2 };
        (double[], int) Run(long seed)
        {
            int updates = 0;
            var agent = new Ppo(() => new CartPole(), options, seed);
            var log = agent.Learn(2048, p => { if (p.Epsilon == null && p.Loss != null) updates++; });
            Assert.Equal(2048, agent.Steps);
            return (log.Episodes.Select(e => e.Return).ToArray(), updates);
        }
        var (a, updates) = Run(3);
        Assert.Equal(a, Run(3).Item1);
        Assert.NotEqual(a, Run(4).Item1);
        Assert.True(updates >= 8, $"one report per update at least, got {updates}");
    }

    [Fact]
    public void VectorEnvResetsAFinishedCopyAndKeepsItsFinalObservation()
    {
        var envs = new VectorEnv(() => new CartPole { MaxEpisodeSteps = 3 }, 2);
        var first = envs.Reset(seed: 5);
        Assert.Equal(new[] { 2, 4 }, first.Shape);
        Assert.Equal(new CartPole().Reset(6), first.ToArray<float>()[4..]);      // copy 1 seeded with seed + 1
        for (int t = 0; t < 2; t++) Assert.All(envs.FinalObservations, Assert.Null);
        envs.Step([0, 1]); envs.Step([0, 1]);
        var (obs, rewards, terminated, truncated) = envs.Step([0, 1]);
        Assert.Equal([true, true], truncated);
        Assert.Equal([false, false], terminated);
        Assert.Equal([3.0, 3.0], envs.FinishedReturns.Select(r => r!.Value));
        Assert.NotEqual(envs.FinalObservations[0], obs.ToArray<float>()[..4]);   // the returned row is the new episode's
        Assert.All(obs.ToArray<float>(), v => Assert.InRange(v, -0.05f, 0.05f));
        Assert.Throws<ArgumentException>(() => envs.Step([0]));
    }

    sealed class AlwaysRight : IPolicy
    {
        public int Calls;
        public int[] Act(Tensor observations) { Calls++; return Enumerable.Repeat(1, observations.Shape[0]).ToArray(); }
    }

    [Fact]
    public void EvaluationPlaysEachEpisodeOnItsOwnSeededEnvironment()
    {
        var policy = new AlwaysRight();
        var returns = Evaluation.Run(policy, () => new CartPole(), episodes: 7, seed: 40, parallel: 3);
        for (int i = 0; i < 7; i++)
        {
            var env = new CartPole();
            env.Reset(40 + i);
            double expected = 0;
            while (true) { var r = env.Step(1); expected += r.Reward; if (r.Done) break; }
            Assert.Equal(expected, returns[i]);
        }
        Assert.All(returns, r => Assert.InRange(r, 5, 20));           // pushing right always tips the pole in a few steps
    }

    [Fact]
    public void ActorCriticHasSb3ShapesAndOrthogonalInit()
    {
        using (DeepSharp.Random.Fork(0))
        {
            var model = new ActorCritic(4, 2);
            var keys = model.StateDict().Keys.ToArray();
            Assert.Equal(["pi.0.weight", "pi.0.bias", "pi.2.weight", "pi.2.bias", "pi.4.weight", "pi.4.bias",
                          "vf.0.weight", "vf.0.bias", "vf.2.weight", "vf.2.bias", "vf.4.weight", "vf.4.bias"], keys);
            var w = model.Policy.Modules().OfType<Linear>().Last().Weight;          // (2, 64), gain 0.01: rows orthogonal, norm 0.01
            var gram = w.MatMul(w.T).ToArray<float>();
            Assert.Equal(1e-4, gram[0], 6); Assert.Equal(0, gram[1], 6); Assert.Equal(1e-4, gram[3], 6);
            Assert.All(model.Value.Modules().OfType<Linear>().Select(l => l.Bias!), b => Assert.All(b.ToArray<float>(), v => Assert.Equal(0f, v)));
        }
    }
}
