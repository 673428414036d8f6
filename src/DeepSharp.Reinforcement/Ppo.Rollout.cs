using System.Diagnostics;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Reinforcement;

public sealed partial class Ppo
{
    /// <summary>One rollout, laid out [t * N + env] (RolloutBuffer after compute_returns_and_advantage).</summary>
    internal sealed record Rollout(float[] Observations, long[] Actions, float[] LogProbs, float[] Advantages, float[] Returns);

    (Rollout, Tensor) Collect(Tensor obs, long total, Stopwatch clock, Action<RlProgress>? progress)
    {
        int n = envs.Count, steps = Options.StepsPerRollout, actions = envs.ActionSpace.N;
        var observations = new float[steps * n * obsSize];
        var taken = new long[steps * n];
        var logProbs = new float[steps * n];
        var values = new float[steps * n];
        var rewards = new float[steps * n];
        var dones = new bool[steps * n];
        using var _ = Autograd.NoGrad();
        for (int t = 0; t < steps; t++)
        {
            var logits = Model.LogProbabilities(obs).ToArray<float>();               // (N, A)
            var v = Model.Values(obs).ToArray<float>();                              // (N,)
            var a = SampleActions(logits, actions, rng);
            obs.ToArray<float>().CopyTo(observations, t * n * obsSize);
            var (nextObs, r, terminated, truncated) = envs.Step(a);
            Steps += n;
            for (int e = 0; e < n; e++)
            {
                int i = t * n + e;
                taken[i] = a[e]; logProbs[i] = logits[e * actions + a[e]]; values[i] = v[e];
                double reward = r[e];
                if (truncated[e] && !terminated[e])                                  // bootstrap the cut episode
                    reward += Options.Gamma * Model.Values(Tensor.FromArray(envs.FinalObservations[e]!, 1, obsSize)).Item();
                rewards[i] = (float)reward;
                dones[i] = terminated[e] || truncated[e];
                if (envs.FinishedReturns[e] is double ret)
                {
                    Episodes.Add(Steps, ret);
                    progress?.Invoke(new RlProgress(Steps, total, Episodes.Episodes.Count, ret, Episodes.MeanOfLast(), null, LastLoss, clock.Elapsed.TotalSeconds));
                }
            }
            obs = nextObs;
        }
        var lastValues = Model.Values(obs).ToArray<float>();
        var (advantages, returns) = Gae.Compute(rewards, values, dones, lastValues, Options.Gamma, Options.GaeLambda);
        return (new Rollout(observations, taken, logProbs, advantages, returns), obs);
    }

    void Update(Rollout rollout, double clipRange)
    {
        int count = rollout.Actions.Length;
        var order = Enumerable.Range(0, count).ToArray();
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            Shuffle(order);
            for (int start = 0; start < count; start += Options.BatchSize)
            {
                var idx = order.AsSpan(start, Math.Min(Options.BatchSize, count - start)).ToArray();
                var loss = MinibatchLoss(rollout, idx, clipRange);
                optimizer.ZeroGrad();
                loss.Backward();
                GradClip.ClipGradNorm(Model.Parameters(), Options.MaxGradNorm);
                optimizer.Step();
                LastLoss = loss.Item();
            }
        }
    }

    /// <summary>policy loss + vf_coef · value loss − ent_coef · entropy on the rows <paramref name="idx"/> (PPO.train's loss).</summary>
    Tensor MinibatchLoss(Rollout rollout, int[] idx, double clipRange)
    {
        int b = idx.Length;
        var obs = new float[b * obsSize];
        var act = new long[b]; var old = new float[b]; var adv = new float[b]; var ret = new float[b];
        for (int k = 0; k < b; k++)
        {
            int i = idx[k];
            rollout.Observations.AsSpan(i * obsSize, obsSize).CopyTo(obs.AsSpan(k * obsSize, obsSize));
            (act[k], old[k], adv[k], ret[k]) = (rollout.Actions[i], rollout.LogProbs[i], rollout.Advantages[i], rollout.Returns[i]);
        }
        var observations = Tensor.FromArray(obs, b, obsSize);
        var logProbAll = Model.LogProbabilities(observations);                                    // (B, A)
        var logProb = logProbAll.Gather(1, Tensor.FromArray(act, b, 1)).Squeeze(1);               // (B,)
        var advantages = Tensor.FromArray(adv, b);
        if (Options.NormalizeAdvantage) advantages = PpoLoss.Normalize(advantages);
        var policyLoss = PpoLoss.ClippedSurrogate(logProb, Tensor.FromArray(old, b), advantages, clipRange);
        var valueLoss = F.MseLoss(Model.Values(observations), Tensor.FromArray(ret, b));
        var entropy = -(logProbAll.Exp() * logProbAll).Sum(-1).Mean();
        return policyLoss + Options.ValueCoefficient * valueLoss - Options.EntropyCoefficient * entropy;
    }

    void Shuffle(int[] order)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)rng.NextInt64(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
