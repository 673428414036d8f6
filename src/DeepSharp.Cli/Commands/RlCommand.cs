using System.Diagnostics;
using System.Globalization;
using DeepSharp.Reinforcement;
using DeepSharp.Reinforcement.Environments;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp rl --env cartpole|acrobot --algo dqn|ppo --seed N [--steps N]`: trains an agent, writes the return curve
/// and the policy into the run folder, and ends with the mean return over 100 greedy episodes;
/// `deepsharp rl play RUN --episodes 10` replays a saved policy.
/// </summary>
public static class RlCommand
{
    const string Usage = $"""
        usage: deepsharp rl --env cartpole|acrobot --algo dqn|ppo [--seed N] [--steps N] [--out DIR] [--eval-episodes N]
               deepsharp rl play RUN [--episodes N] [--seed N]
          Trains DQN or PPO (the RL Baselines3 Zoo's settings for the environment) for --steps environment steps (default:
          the Zoo's budget), printing the episode return, the mean of the last 100, ε and the loss as it goes. Writes
          policy.safetensors and returns.svg into --out (default runs/rl-ENV-ALGO-seedN) and ends with
          'mean return over 100 episodes: …' (greedy policy, evaluation seeds 1000000…).
          play: replays the policy of a run folder (or its policy.safetensors) for --episodes episodes (default 10).
          {DashboardOption.Usage}
        """;

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length > 0 && args[0] == "play") return Play(args[1..], output);
        var p = new ArgParser("rl", args, ["env", "algo", "seed", "steps", "out", "eval-episodes", .. DashboardOption.Options], [DashboardOption.Flag]);
        if (p.Help) { output.WriteLine(Usage); return ExitCodes.Ok; }
        if (p.Positionals.Count > 0) throw new UsageException($"deepsharp rl: unexpected argument '{p.Positionals[0]}'. Run 'deepsharp rl --help'.");
        string envName = p.OptionalString("env") ?? throw new UsageException("deepsharp rl: give an environment, --env cartpole or --env acrobot.");
        if (!Gym.Registry.ContainsKey(envName))
            throw new UsageException($"deepsharp rl: unknown environment '{envName}': choose cartpole (CartPole-v1) or acrobot (Acrobot-v1).");
        string algo = p.String("algo", "ppo", "dqn", "ppo");
        int seed = p.Int("seed", 0, 0);
        long? steps = p.Has("steps") ? p.Int("steps", 1, 1) : null;
        int evalEpisodes = p.Int("eval-episodes", 100, 1, 100_000);
        var envId = Gym.Make(envName).Id;
        string folder = p.OptionalString("out") ?? Path.Combine("runs", $"rl-{envId.Split('-')[0].ToLowerInvariant()}-{algo}-seed{seed}");
        folder = RunFolder.Create(folder, output);   // a folder holding a run gets the new one in folder/version_N

        var clock = Stopwatch.StartNew();
        var printer = new ProgressPrinter(output);
        var dashboard = DashboardOption.Start(p, "rl", $"{algo.ToUpperInvariant()} on {envId}, seed {seed}", new Dictionary<string, string> { ["run"] = folder }, output);
        var report = DashboardOption.Reinforcement(dashboard, printer.Report);
        EpisodeLog log;
        IPolicy policy;
        string policyPath = Path.Combine(folder, "policy.safetensors");
        if (algo == "dqn")
        {
            var agent = new Dqn(Gym.Make(envId), seed: seed);
            output.WriteLine($"DQN on {envId}, seed {seed}: {steps ?? agent.Options.TotalSteps} steps, lr {agent.Options.LearningRate}, batch {agent.Options.BatchSize}, hidden [{string.Join(", ", agent.Options.Hidden)}]");
            log = agent.Learn(steps, report);
            PolicyFile.Save(policyPath, agent);
            policy = agent;
        }
        else
        {
            var agent = new Ppo(() => Gym.Make(envId), seed: seed);
            output.WriteLine($"PPO on {envId}, seed {seed}: {steps ?? agent.Options.TotalSteps} steps, {agent.Options.EnvCount} envs × {agent.Options.StepsPerRollout} steps, {agent.Options.Epochs} epochs, batch {agent.Options.BatchSize}");
            log = agent.Learn(steps, report);
            PolicyFile.Save(policyPath, agent);
            policy = agent;
        }
        double trainSeconds = clock.Elapsed.TotalSeconds;
        ReturnCurve.WriteSvg(Path.Combine(folder, "returns.svg"), log, $"{algo.ToUpperInvariant()} on {envId}, seed {seed}");
        var returns = Evaluation.Run(policy, () => Gym.Make(envId), evalEpisodes);
        output.WriteLine($"trained {log.Episodes.Count} episodes in {trainSeconds.ToString("F1", CultureInfo.InvariantCulture)} s; wrote {policyPath} and {Path.Combine(folder, "returns.svg")}");
        output.WriteLine($"mean return over {evalEpisodes} episodes: {returns.Average().ToString("F1", CultureInfo.InvariantCulture)} (min {returns.Min().ToString("F0", CultureInfo.InvariantCulture)}, max {returns.Max().ToString("F0", CultureInfo.InvariantCulture)})");
        DashboardOption.Finish(dashboard, folder, output, $"mean return {returns.Average().ToString("F1", CultureInfo.InvariantCulture)}");
        return ExitCodes.Ok;
    }

    static int Play(string[] args, TextWriter output)
    {
        var p = new ArgParser("rl play", args, ["episodes", "seed"]);
        if (p.Help) { output.WriteLine(Usage); return ExitCodes.Ok; }
        if (p.Positionals.Count != 1) throw new UsageException("deepsharp rl play: give one run folder or policy file, e.g. 'deepsharp rl play runs/rl-cartpole-ppo-seed0 --episodes 10'.");
        int episodes = p.Int("episodes", 10, 1, 100_000);
        int seed = p.Int("seed", 2_000_000, 0);
        string path = p.Positionals[0];
        if (Directory.Exists(path)) path = Path.Combine(path, "policy.safetensors");
        if (!File.Exists(path)) throw new UsageException($"deepsharp rl play: no policy at {path}; give a folder written by 'deepsharp rl' or its policy.safetensors.");
        var saved = PolicyFile.Load(path);
        var returns = Evaluation.Run(saved.Policy, () => Gym.Make(saved.EnvId), episodes, seed);
        for (int i = 0; i < returns.Length; i++)
            output.WriteLine($"episode {i + 1}: return {returns[i].ToString("F0", CultureInfo.InvariantCulture)}");
        output.WriteLine($"{saved.Algorithm.ToUpperInvariant()} policy on {saved.EnvId}: mean return over {episodes} episodes: {returns.Average().ToString("F1", CultureInfo.InvariantCulture)}");
        return ExitCodes.Ok;
    }

    /// <summary>One progress line at most every second (the first report at once).</summary>
    sealed class ProgressPrinter(TextWriter output)
    {
        double lastPrinted = -1;

        public void Report(RlProgress p)
        {
            if (lastPrinted >= 0 && p.Seconds - lastPrinted < 1.0) return;
            lastPrinted = p.Seconds;
            string I(double? v, string format) => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "-";
            output.WriteLine($"step {p.Step,8}/{p.TotalSteps}  episode {p.Episodes,5}  return {I(p.LastReturn, "F0"),5}  mean100 {I(p.MeanReturn, "F1"),6}"
                             + (p.Epsilon != null ? $"  ε {I(p.Epsilon, "F3")}" : "") + $"  loss {I(p.Loss, "G4")}  {I(p.Seconds, "F0")}s");
        }
    }
}
