using System.Text.Json;

namespace DeepSharp.Reinforcement.Tests;

/// <summary>CartPole-v1 and Acrobot-v1 against the plain-Python reference trajectories of tools/golden/rl_envs.py.</summary>
public class EnvironmentGoldenTests
{
    static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "rl_envs.json"))).RootElement);

    static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Theory]
    [InlineData("cartpole", 5)]
    [InlineData("acrobot", 4)]
    public void TrajectoriesMatchTheReference(string name, int cases)
    {
        var all = Root.Value.GetProperty(name).EnumerateArray().ToArray();
        Assert.Equal(cases, all.Length);
        foreach (var (c, index) in all.Select((c, i) => (c, i)))
        {
            var env = Gym.Make(name);
            env.Reset(seed: 0);
            env.State = Doubles(c.GetProperty("initial"));
            var actions = c.GetProperty("actions").EnumerateArray().Select(a => a.GetInt32()).ToArray();
            var steps = c.GetProperty("steps").EnumerateArray().ToArray();
            Assert.Equal(actions.Length, steps.Length);
            for (int t = 0; t < actions.Length; t++)
            {
                var r = env.Step(actions[t]);
                var state = Doubles(steps[t].GetProperty("state"));
                var obs = Doubles(steps[t].GetProperty("obs"));
                // same operation order as the reference, so the float64 states agree to rounding over all 500 steps
                for (int i = 0; i < state.Length; i++)
                    Assert.True(Math.Abs(state[i] - env.State[i]) <= 1e-9 * (1 + Math.Abs(state[i])),
                        $"{name} case {index} step {t} state[{i}]: expected {state[i]:R}, got {env.State[i]:R}");
                for (int i = 0; i < obs.Length; i++)
                    Assert.Equal((float)obs[i], r.Observation[i], 1e-6f);
                Assert.Equal(steps[t].GetProperty("reward").GetDouble(), r.Reward);
                Assert.Equal(steps[t].GetProperty("terminated").GetBoolean(), r.Terminated);
                Assert.Equal(t == 499 && !r.Terminated, r.Truncated);
            }
        }
    }

    [Fact]
    public void TheCasesCoverTerminationAndTruncation()
    {
        var cart = Root.Value.GetProperty("cartpole").EnumerateArray().Select(c => c.GetProperty("steps").GetArrayLength()).ToArray();
        Assert.Contains(500, cart);                        // the balancing controller reaches the time limit
        Assert.Contains(Root.Value.GetProperty("acrobot").EnumerateArray(),
            c => c.GetProperty("steps").EnumerateArray().Last().GetProperty("terminated").GetBoolean());
    }
}
