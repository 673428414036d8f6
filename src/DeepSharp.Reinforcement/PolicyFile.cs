using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Reinforcement.Environments;

namespace DeepSharp.Reinforcement;

/// <summary>A trained policy reloaded from disk: a greedy actor for its environment.</summary>
/// <param name="EnvId">The environment it was trained on, e.g. "CartPole-v1".</param>
/// <param name="Algorithm">"dqn" or "ppo".</param>
/// <param name="Policy">The greedy actor.</param>
public sealed record SavedPolicy(string EnvId, string Algorithm, IPolicy Policy);

/// <summary>
/// Saves and loads an agent's networks as safetensors with metadata naming the environment, the algorithm and the
/// hidden widths (model.save / DQN.load, PPO.load, in PyTorch's state-dict key names so torch can read them too).
/// </summary>
public static class PolicyFile
{
    /// <summary>Writes the Q-network of <paramref name="agent"/> ("0.weight", …).</summary>
    public static void Save(string path, Dqn agent) =>
        SafeTensors.Save(path, agent.QNetwork.StateDict(), Metadata(agent.Env.Id, "dqn", agent.Options.Hidden));

    /// <summary>Writes the policy and value networks of <paramref name="agent"/> ("pi.0.weight", …, "vf.4.bias").</summary>
    public static void Save(string path, Ppo agent) =>
        SafeTensors.Save(path, agent.Model.StateDict(), Metadata(agent.EnvId, "ppo", agent.Options.Hidden));

    static Dictionary<string, string> Metadata(string env, string algo, IReadOnlyList<int> hidden) => new()
    {
        ["deepsharp.env"] = env, ["deepsharp.algo"] = algo, ["deepsharp.hidden"] = string.Join(",", hidden),
    };

    /// <summary>Rebuilds the networks described by the file's metadata and loads its weights.</summary>
    public static SavedPolicy Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no saved policy at {path}", path);
        var (tensors, meta) = SafeTensors.LoadWithMetadata(path);
        if (!meta.TryGetValue("deepsharp.env", out var envId) || !meta.TryGetValue("deepsharp.algo", out var algo) || !meta.TryGetValue("deepsharp.hidden", out var hiddenText))
            throw new InvalidDataException($"{path} is not a policy saved by DeepSharp.Reinforcement (its metadata lacks deepsharp.env/algo/hidden)");
        var env = Gym.Make(envId);
        int[] hidden = hiddenText.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        int obs = env.ObservationSpace.Size, actions = env.ActionSpace.N;
        IPolicy policy;
        if (algo == "dqn")
        {
            var q = Networks.Mlp(obs, hidden, actions, Activation.Relu);
            q.LoadStateDict(tensors);
            policy = new GreedyQ(q);
        }
        else if (algo == "ppo")
        {
            var model = new ActorCritic(obs, actions, hidden, Activation.Tanh);
            model.LoadStateDict(tensors);
            policy = new GreedyActor(model);
        }
        else throw new InvalidDataException($"{path}: unknown algorithm '{algo}' in its metadata (dqn or ppo)");
        return new SavedPolicy(env.Id, algo, policy);
    }

    sealed class GreedyQ(Sequential q) : IPolicy
    {
        public int[] Act(Tensor observations)
        {
            using var _ = Autograd.NoGrad();
            return q.Call(observations).ArgMax(1).ToArray<long>().Select(a => (int)a).ToArray();
        }
    }

    sealed class GreedyActor(ActorCritic model) : IPolicy
    {
        public int[] Act(Tensor observations)
        {
            using var _ = Autograd.NoGrad();
            return model.Policy.Call(observations).ArgMax(1).ToArray<long>().Select(a => (int)a).ToArray();
        }
    }
}
