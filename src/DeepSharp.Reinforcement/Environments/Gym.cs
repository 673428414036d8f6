namespace DeepSharp.Reinforcement.Environments;

/// <summary>The environment registry (gymnasium.make).</summary>
public static class Gym
{
    /// <summary>Ids and short names accepted by <see cref="Make"/>.</summary>
    public static readonly IReadOnlyDictionary<string, Func<Env>> Registry = new Dictionary<string, Func<Env>>(StringComparer.OrdinalIgnoreCase)
    {
        ["CartPole-v1"] = () => new CartPole(),
        ["cartpole"] = () => new CartPole(),
        ["Acrobot-v1"] = () => new Acrobot(),
        ["acrobot"] = () => new Acrobot(),
    };

    /// <summary>
    /// Creates the environment <paramref name="id"/> ("CartPole-v1"/"cartpole", "Acrobot-v1"/"acrobot") with its
    /// registered 500-step time limit (gymnasium.make(id)). An unknown id throws an <see cref="ArgumentException"/>.
    /// </summary>
    public static Env Make(string id)
    {
        if (!Registry.TryGetValue(id, out var make))
            throw new ArgumentException($"unknown environment '{id}': choose cartpole (CartPole-v1) or acrobot (Acrobot-v1)", nameof(id));
        return make();
    }
}
