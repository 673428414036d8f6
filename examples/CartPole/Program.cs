// Balancing CartPole-v1 with PPO or DQN (the RL Baselines3 Zoo's settings), then the mean return of the greedy
// policy over 100 evaluation episodes (475 or more counts as solved).
// Run: dotnet run -c Release --project examples/CartPole -- [ppo|dqn] [steps] [seed]
using System.Diagnostics;
using DeepSharp.Reinforcement;
using DeepSharp.Reinforcement.Environments;

string algo = args.Length > 0 ? args[0] : "ppo";
long? steps = args.Length > 1 ? long.Parse(args[1]) : null;
long seed = args.Length > 2 ? long.Parse(args[2]) : 0;
string env = args.Length > 3 ? args[3] : "CartPole-v1";
CartPoleExample.Run(algo, steps, seed, Console.Out, env);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class CartPoleExample
{
    /// <summary>Trains <paramref name="algo"/> ("ppo" or "dqn") from <paramref name="seed"/> and returns the 100 evaluation returns' mean and the training seconds.</summary>
    public static (double MeanReturn, double Seconds) Run(string algo, long? steps, long seed, TextWriter output, string env = "CartPole-v1")
    {
        var clock = Stopwatch.StartNew();
        IPolicy policy;
        void Report(RlProgress p) { if (p.Episodes % 20 == 0) output.WriteLine($"step {p.Step,7}  episodes {p.Episodes,5}  mean return {p.MeanReturn,7:F1}  eps {p.Epsilon:F3}  loss {p.Loss:G4}  {p.Seconds:F1}s"); }
        if (algo == "dqn")
        {
            var agent = new Dqn(Gym.Make(env), seed: seed);
            agent.Learn(steps, Report);
            policy = agent;
        }
        else
        {
            var agent = new Ppo(() => Gym.Make(env), seed: seed);
            agent.Learn(steps, Report);
            policy = agent;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var returns = Evaluation.Run(policy, () => Gym.Make(env), episodes: 100);
        double mean = returns.Average();
        output.WriteLine($"{algo} on {env}, seed {seed}: trained in {seconds:F1} s; mean return over 100 episodes: {mean:F1}");
        return (mean, seconds);
    }
}
