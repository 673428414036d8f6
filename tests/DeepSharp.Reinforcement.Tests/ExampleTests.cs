namespace DeepSharp.Reinforcement.Tests;

/// <summary>examples/CartPole on a reduced budget (the full budgets and their results are in docs/rl.md).</summary>
public class ExampleTests
{
    [Fact]
    public void PpoLearnsToBalanceOnAReducedBudget()
    {
        var output = new StringWriter();
        var (mean, _) = CartPoleExample.Run("ppo", steps: 20_000, seed: 0, output);
        // random play lasts about 22 steps; a fifth of the Zoo's budget already balances for hundreds
        Assert.True(mean >= 150, $"mean return {mean}:\n{output}");
        Assert.Contains("mean return over 100 episodes: ", output.ToString());
    }

    [Fact]
    public void DqnImprovesOnRandomPlayOnAReducedBudget()
    {
        var output = new StringWriter();
        var (mean, _) = CartPoleExample.Run("dqn", steps: 6_000, seed: 0, output);
        Assert.True(mean >= 40, $"mean return {mean}:\n{output}");
    }
}
