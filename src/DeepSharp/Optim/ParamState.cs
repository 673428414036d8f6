namespace DeepSharp.Optim;

/// <summary>
/// The state an optimizer keeps for one parameter (an entry of torch.optim.Optimizer.state): a step count and
/// named buffers of the parameter's shape and dtype ("momentum_buffer", "exp_avg", "exp_avg_sq", "sum" ...).
/// </summary>
public sealed class ParamState
{
    /// <summary>Number of updates applied to this parameter (state["step"]).</summary>
    public long Step { get; set; }

    /// <summary>State tensors by their PyTorch names (the other entries of state[p]).</summary>
    public Dictionary<string, Tensor> Buffers { get; } = new();

    /// <summary>
    /// The buffer <paramref name="name"/>, created filled with <paramref name="fill"/> (contiguous, shape and dtype of
    /// <paramref name="like"/>) when missing. New buffers are allocated outside any <see cref="TensorScope"/>: state
    /// outlives the training step that created it.
    /// </summary>
    internal Tensor GetOrCreate(string name, Tensor like, double fill = 0)
    {
        return Buffers.TryGetValue(name, out var buffer) ? buffer : Create(name, like, fill);
    }

    // Kept apart from GetOrCreate: a lambda capturing `like` there would allocate its closure on every call.
    Tensor Create(string name, Tensor like, double fill)
    {
        var buffer = TensorScope.Suspend(() => Tensor.Alloc(like.DType, like.shape));
        if (fill != 0) buffer.FillRaw(fill);
        Buffers[name] = buffer;
        return buffer;
    }
}

/// <summary>
/// An optimizer's state in plain, serialisable form (torch.optim.Optimizer.state_dict()), flattened to two
/// dictionaries so a checkpoint writer can store it without knowing the optimizer:
/// <list type="bullet">
/// <item><see cref="Tensors"/>: "state.{paramIndex}.{buffer}" for every state buffer, e.g. "state.0.exp_avg",
/// "state.3.momentum_buffer". paramIndex counts the parameters of all groups in order, as PyTorch does.</item>
/// <item><see cref="Scalars"/>: "state.{paramIndex}.step" for every parameter that has state;
/// "param_groups.{groupIndex}.{option}" for every hyperparameter of every group (PyTorch's names; Adam's betas are
/// "beta1"/"beta2"; booleans are 0/1); "param_groups.{groupIndex}.num_params" (the length of the group's "params").</item>
/// </list>
/// The tensors are copies: changing the optimizer afterwards does not change a state dict already taken.
/// </summary>
public sealed class OptimizerState
{
    /// <summary>State buffers keyed "state.{paramIndex}.{name}".</summary>
    public Dictionary<string, Tensor> Tensors { get; init; } = new();

    /// <summary>Step counts ("state.{paramIndex}.step") and group hyperparameters ("param_groups.{groupIndex}.{option}").</summary>
    public Dictionary<string, double> Scalars { get; init; } = new();
}
