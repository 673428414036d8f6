using DeepSharp.NN;

namespace DeepSharp.Reinforcement;

/// <summary>The hidden-layer activation of an <see cref="Networks.Mlp"/>.</summary>
public enum Activation
{
    /// <summary>torch.nn.ReLU (Stable-Baselines3's DQN default).</summary>
    Relu,
    /// <summary>torch.nn.Tanh (Stable-Baselines3's PPO default).</summary>
    Tanh,
}

/// <summary>The multilayer perceptrons of the agents (Stable-Baselines3's create_mlp).</summary>
public static class Networks
{
    /// <summary>
    /// Linear layers of widths <paramref name="inputs"/> → <paramref name="hidden"/>… → <paramref name="outputs"/> with
    /// <paramref name="activation"/> between them and none after the last (create_mlp(input_dim, output_dim, net_arch,
    /// activation_fn)); state-dict keys "0.weight", "0.bias", "2.weight", …
    /// </summary>
    public static Sequential Mlp(int inputs, IReadOnlyList<int> hidden, int outputs, Activation activation = Activation.Relu)
    {
        if (inputs <= 0 || outputs <= 0 || hidden.Any(h => h <= 0))
            throw new ArgumentException($"Mlp: every width must be positive, got {inputs} → [{string.Join(", ", hidden)}] → {outputs}", nameof(hidden));
        var net = new Sequential();
        int width = inputs;
        foreach (int h in hidden)
        {
            net.Add(new Linear(width, h));
            net.Add(activation == Activation.Relu ? new ReLU() : new Tanh());
            width = h;
        }
        net.Add(new Linear(width, outputs));
        return net;
    }

    /// <summary>
    /// Orthogonal initialisation of an MLP's linear layers, gain √2 for the hidden ones and <paramref name="outputGain"/>
    /// for the last, biases zero (Stable-Baselines3's ortho_init: 0.01 for the policy head, 1 for the value head).
    /// </summary>
    public static void OrthogonalInit(Sequential mlp, double outputGain, Generator? generator = null)
    {
        var linears = mlp.Modules().OfType<Linear>().ToList();
        for (int i = 0; i < linears.Count; i++)
        {
            Init.Orthogonal(linears[i].Weight, i == linears.Count - 1 ? outputGain : Math.Sqrt(2), generator);
            if (linears[i].Bias is { } b) Init.Zeros(b);
        }
    }

    /// <summary>Copies every parameter and buffer of <paramref name="source"/> into <paramref name="target"/> (target.load_state_dict(source.state_dict())).</summary>
    public static void CopyWeights(Module source, Module target) =>
        target.LoadStateDict(source.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone()));
}

/// <summary>
/// Separate policy and value networks over the same observation (Stable-Baselines3's ActorCriticPolicy with
/// share_features_extractor and net_arch dict(pi=[64, 64], vf=[64, 64]), tanh): "pi" maps an observation to action
/// logits, "vf" to a state value. Keys "pi.0.weight", …, "vf.4.bias".
/// </summary>
public sealed class ActorCritic : Module
{
    /// <summary>The policy network: (B, obs) → (B, actions) logits (policy_net + action_net).</summary>
    [TorchName("pi")] public Sequential Policy { get; }

    /// <summary>The value network: (B, obs) → (B, 1) (value_net).</summary>
    [TorchName("vf")] public Sequential Value { get; }

    /// <summary>Builds both networks and initialises them orthogonally as SB3 does (ortho_init=True).</summary>
    public ActorCritic(int observations, int actions, IReadOnlyList<int>? hidden = null, Activation activation = Activation.Tanh, Generator? generator = null)
    {
        hidden ??= [64, 64];
        Policy = Networks.Mlp(observations, hidden, actions, activation);
        Value = Networks.Mlp(observations, hidden, 1, activation);
        Networks.OrthogonalInit(Policy, 0.01, generator);
        Networks.OrthogonalInit(Value, 1.0, generator);
    }

    /// <summary>The action distribution's log-probabilities, (B, actions) (Categorical(logits).logits normalised).</summary>
    public Tensor LogProbabilities(Tensor observations) => Policy.Call(observations).LogSoftmax(-1);

    /// <summary>State values, (B,).</summary>
    public Tensor Values(Tensor observations) => Value.Call(observations).Squeeze(-1);
}
