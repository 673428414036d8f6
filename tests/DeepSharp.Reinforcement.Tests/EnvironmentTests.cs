namespace DeepSharp.Reinforcement.Tests;

public class EnvironmentTests
{
    [Theory]
    [InlineData("CartPole-v1", 2, 4, 0.05)]
    [InlineData("Acrobot-v1", 3, 6, 0.1)]
    public void ResetIsSeededAndUniformInTheDocumentedRange(string id, int actions, int obsSize, double bound)
    {
        var env = Gym.Make(id);
        Assert.Equal(actions, env.ActionSpace.N);
        Assert.Equal(obsSize, env.ObservationSpace.Size);
        var a = env.Reset(seed: 7);
        var stateA = env.State;
        Assert.Equal(a, Gym.Make(id).Reset(seed: 7));
        Assert.NotEqual(a, env.Reset(seed: 8));
        Assert.NotEqual(env.State, env.Reset().Length > 0 ? env.State : null);   // the stream continues without a seed
        Assert.All(stateA, v => Assert.InRange(v, -bound, bound));
        Assert.True(env.ObservationSpace.Contains(a));
        var seen = Enumerable.Range(0, 400).SelectMany(_ => { env.Reset(); return env.State; }).ToArray();
        Assert.InRange(seen.Min(), -bound, -0.9 * bound);
        Assert.InRange(seen.Max(), 0.9 * bound, bound);
    }

    [Theory]
    [InlineData("cartpole", 2)]
    [InlineData("acrobot", 3)]
    [InlineData("acrobot", -1)]
    public void AnActionOutsideTheSpaceIsAClearError(string id, int action)
    {
        var env = Gym.Make(id);
        env.Reset(seed: 1);
        var e = Assert.ThrowsAny<ArgumentException>(() => env.Step(action));
        Assert.Equal("action", e.ParamName);
        Assert.Contains("outside the action space Discrete", e.Message);
    }

    [Fact]
    public void AnUnknownEnvironmentIsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => Gym.Make("pendulum"));
        Assert.Contains("unknown environment 'pendulum'", e.Message);
    }

    [Fact]
    public void StepBeforeResetOrAfterTheEndThrows()
    {
        var env = new CartPole { MaxEpisodeSteps = 3 };
        Assert.Throws<InvalidOperationException>(() => env.Step(0));
        env.Reset(seed: 3);
        env.State = [0, 0, 0, 0];
        Assert.False(env.Step(1).Done);
        Assert.False(env.Step(0).Done);
        var last = env.Step(1);
        Assert.True(last.Truncated);
        Assert.False(last.Terminated);
        Assert.Throws<InvalidOperationException>(() => env.Step(0));
    }

    [Fact]
    public void CartPoleTerminatesPastTheAngleLimitWithRewardOne()
    {
        var env = new CartPole();
        env.Reset(seed: 0);
        env.State = [0, 0, CartPole.ThetaThresholdRadians - 1e-4, 1.0];
        var r = env.Step(1);
        Assert.True(r.Terminated);
        Assert.Equal(1.0, r.Reward);
    }

    [Fact]
    public void AcrobotWrapsAnglesAndClipsVelocities()
    {
        Assert.Equal(Math.PI - 0.5, Acrobot.Wrap(-Math.PI - 0.5 + 2 * Math.PI * 0 + 2 * Math.PI, -Math.PI, Math.PI), 12);
        Assert.Equal(-Math.PI + 0.5, Acrobot.Wrap(Math.PI + 0.5, -Math.PI, Math.PI), 12);
        var env = new Acrobot();
        env.Reset(seed: 0);
        env.State = [0, 0, 100, -100];
        env.Step(1);
        Assert.InRange(Math.Abs(env.State[2]), 0, Acrobot.MaxVel1);
        Assert.InRange(Math.Abs(env.State[3]), 0, Acrobot.MaxVel2);
    }
}
