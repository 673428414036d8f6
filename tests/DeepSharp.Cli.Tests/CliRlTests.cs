namespace DeepSharp.Cli.Tests;

/// <summary>`deepsharp rl` and `deepsharp rl play`, run as the real command on a small budget.</summary>
public class CliRlTests
{
    [Fact]
    public void PpoOnCartPoleWritesThePolicyAndTheCurveAndPlaysItBack()
    {
        var root = CliProcess.TempDir("cli-rl");
        var (code, output, err) = CliProcess.Run(["rl", "--env", "cartpole", "--algo", "ppo", "--seed", "1", "--steps", "6000",
            "--eval-episodes", "10", "--out", "run"], root, timeoutSeconds: 120);
        Assert.True(code == 0, $"exit {code}: {err}\n{output}");
        Assert.Contains("PPO on CartPole-v1, seed 1", output);
        Assert.Contains("mean100", output);
        var last = output.Split('\n').Last(l => l.StartsWith("mean return over 10 episodes: ", StringComparison.Ordinal));
        double mean = double.Parse(last.Split(' ')[5], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(mean, 8, 500);
        Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(root, "run", "returns.svg")));
        Assert.Contains("polyline", File.ReadAllText(Path.Combine(root, "run", "returns.svg")));

        var (playCode, played, playErr) = CliProcess.Run(["rl", "play", "run", "--episodes", "3"], root, timeoutSeconds: 60);
        Assert.True(playCode == 0, $"exit {playCode}: {playErr}\n{played}");
        Assert.Contains("episode 3: return ", played);
        Assert.Contains("PPO policy on CartPole-v1: mean return over 3 episodes: ", played);
    }

    [Fact]
    public void DqnProgressShowsEpsilon()
    {
        var root = CliProcess.TempDir("cli-rl-dqn");
        var (code, output, err) = CliProcess.Run(["rl", "--env", "acrobot", "--algo", "dqn", "--steps", "600", "--eval-episodes", "2", "--out", "run"], root, timeoutSeconds: 120);
        Assert.True(code == 0, $"exit {code}: {err}\n{output}");
        Assert.Contains("DQN on Acrobot-v1", output);
        Assert.Contains("ε ", output);
        Assert.Contains("mean return over 2 episodes: ", output);
        Assert.True(File.Exists(Path.Combine(root, "run", "policy.safetensors")));
    }

    [Fact]
    public void ASecondRunIntoTheSameFolderGoesToAVersionFolder()
    {
        var root = CliProcess.TempDir("cli-rl-again");
        string[] args = ["rl", "--env", "cartpole", "--algo", "dqn", "--steps", "300", "--eval-episodes", "1", "--out", "run"];
        var first = CliProcess.Run(args, root, timeoutSeconds: 120);
        Assert.True(first.Code == 0, $"exit {first.Code}: {first.Err}\n{first.Out}");
        var policy = File.ReadAllBytes(Path.Combine(root, "run", "policy.safetensors"));
        var second = CliProcess.Run([.. args[..^2], "--seed", "7", "--out", "run"], root, timeoutSeconds: 120);
        Assert.True(second.Code == 0, $"exit {second.Code}: {second.Err}\n{second.Out}");
        Assert.Contains("version_2", second.Out);
        Assert.True(File.Exists(Path.Combine(root, "run", "version_2", "policy.safetensors")));
        Assert.Equal(policy, File.ReadAllBytes(Path.Combine(root, "run", "policy.safetensors")));   // the first run is intact
    }

    [Fact]
    public void BadInputGetsOneLine()
    {
        CliProcess.Fails(2, "deepsharp rl: unknown environment 'pendulum': choose cartpole (CartPole-v1) or acrobot (Acrobot-v1).", "rl", "--env", "pendulum", "--algo", "dqn");
        CliProcess.Fails(2, "--algo", "rl", "--env", "cartpole", "--algo", "a2c");
        CliProcess.Fails(2, "deepsharp rl play: no policy at", "rl", "play", "/nonexistent-run");
    }
}
