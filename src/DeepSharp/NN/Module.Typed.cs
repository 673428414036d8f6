namespace DeepSharp.NN;

/// <summary>
/// A module with one input and one output, the base of most layers and models (a torch.nn.Module whose forward takes
/// one argument; TorchSharp's Module&lt;T, TResult&gt;): <c>sealed class Net : Module&lt;Tensor, Tensor&gt;</c>. Subclasses
/// override <see cref="Forward"/>; callers use <see cref="Call"/>, which runs the hooks. Modules with optional
/// arguments (a start position, a mask) add <c>Call</c> overloads that go through <see cref="Module.Invoke"/> too.
/// </summary>
/// <typeparam name="TInput">The argument of <see cref="Forward"/>.</typeparam>
/// <typeparam name="TOutput">The result of <see cref="Forward"/>.</typeparam>
public abstract class Module<TInput, TOutput> : Module
{
    /// <summary>The computation (torch.nn.Module.forward). Call the module through <see cref="Call"/> so hooks run.</summary>
    public abstract TOutput Forward(TInput input);

    /// <summary>
    /// Runs the module (torch.nn.Module.__call__, <c>module(x)</c>): forward pre-hooks, <see cref="Forward"/>, forward
    /// hooks. Parents call their children through this, so hooks fire in every model. Allocates nothing when no hook is registered.
    /// </summary>
    public TOutput Call(TInput input) => Invoke(this, ValueTuple.Create(input), static (m, a) => m.Forward(a.Item1));

    /// <summary>
    /// Registers a typed pre-hook (torch.nn.Module.register_forward_pre_hook): a non-null result replaces the input.
    /// It runs for calls whose first argument is a <typeparamref name="TInput"/>.
    /// </summary>
    public HookHandle RegisterForwardPreHook(Func<Module, TInput, TInput?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardPreHook((m, inputs) =>
        {
            if (!TryArgument(inputs, 0, out TInput x) || hook(m, x) is not { } replaced) return null;
            var newInputs = inputs.ToArray();
            newInputs[0] = replaced;
            return newInputs;
        });
    }

    /// <summary>Registers a typed observing pre-hook (torch.nn.Module.register_forward_pre_hook).</summary>
    public HookHandle RegisterForwardPreHook(Action<Module, TInput> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardPreHook((m, inputs) => { if (TryArgument(inputs, 0, out TInput x)) hook(m, x); });
    }

    /// <summary>
    /// Registers a typed forward hook with (module, input, output) (torch.nn.Module.register_forward_hook): a non-null
    /// result replaces the output. It runs for calls whose first argument and output have the module's types.
    /// </summary>
    public HookHandle RegisterForwardHook(Func<Module, TInput, TOutput, TOutput?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardHook((m, inputs, output) =>
            TryArgument(inputs, 0, out TInput x) && TryCast(output, out TOutput y) ? hook(m, x, y) : null);
    }

    /// <summary>Registers a typed observing forward hook, e.g. to record activations (torch.nn.Module.register_forward_hook).</summary>
    public HookHandle RegisterForwardHook(Action<Module, TInput, TOutput> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardHook((m, inputs, output) =>
        {
            if (TryArgument(inputs, 0, out TInput x) && TryCast(output, out TOutput y)) hook(m, x, y);
        });
    }
}

/// <summary>
/// A module with two inputs (a torch.nn.Module whose forward takes two arguments): losses (input, target),
/// <see cref="Bilinear"/>, recurrent layers (input, initial state). Override <see cref="Forward"/>, call <see cref="Call"/>.
/// </summary>
/// <typeparam name="T1">The first argument of <see cref="Forward"/>.</typeparam>
/// <typeparam name="T2">The second argument of <see cref="Forward"/>.</typeparam>
/// <typeparam name="TOutput">The result of <see cref="Forward"/>.</typeparam>
public abstract class Module<T1, T2, TOutput> : Module
{
    /// <summary>The computation (torch.nn.Module.forward). Call the module through <see cref="Call"/> so hooks run.</summary>
    public abstract TOutput Forward(T1 input1, T2 input2);

    /// <summary>Runs the module (<c>module(a, b)</c>): forward pre-hooks, <see cref="Forward"/>, forward hooks; allocation-free without hooks.</summary>
    public TOutput Call(T1 input1, T2 input2) => Invoke(this, (input1, input2), static (m, a) => m.Forward(a.input1, a.input2));

    /// <summary>Registers a typed observing pre-hook that sees both arguments (torch.nn.Module.register_forward_pre_hook).</summary>
    public HookHandle RegisterForwardPreHook(Action<Module, T1, T2> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardPreHook((m, inputs) =>
        {
            if (TryArgument(inputs, 0, out T1 a) && TryArgument(inputs, 1, out T2 b)) hook(m, a, b);
        });
    }

    /// <summary>
    /// Registers a typed forward hook with (module, input1, input2, output) (torch.nn.Module.register_forward_hook): a
    /// non-null result replaces the output. It runs for calls whose arguments and output have the module's types.
    /// </summary>
    public HookHandle RegisterForwardHook(Func<Module, T1, T2, TOutput, TOutput?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardHook((m, inputs, output) =>
            TryArgument(inputs, 0, out T1 a) && TryArgument(inputs, 1, out T2 b) && TryCast(output, out TOutput y) ? hook(m, a, b, y) : null);
    }

    /// <summary>Registers a typed observing forward hook (torch.nn.Module.register_forward_hook).</summary>
    public HookHandle RegisterForwardHook(Action<Module, T1, T2, TOutput> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardHook((m, inputs, output) =>
        {
            if (TryArgument(inputs, 0, out T1 a) && TryArgument(inputs, 1, out T2 b) && TryCast(output, out TOutput y)) hook(m, a, b, y);
        });
    }
}

/// <summary>
/// A module with three inputs (a torch.nn.Module whose forward takes three arguments): three-tensor losses,
/// <see cref="MultiheadAttention"/> (query, key, value). Override <see cref="Forward"/>, call <see cref="Call"/>.
/// </summary>
/// <typeparam name="T1">The first argument of <see cref="Forward"/>.</typeparam>
/// <typeparam name="T2">The second argument of <see cref="Forward"/>.</typeparam>
/// <typeparam name="T3">The third argument of <see cref="Forward"/>.</typeparam>
/// <typeparam name="TOutput">The result of <see cref="Forward"/>.</typeparam>
public abstract class Module<T1, T2, T3, TOutput> : Module
{
    /// <summary>The computation (torch.nn.Module.forward). Call the module through <see cref="Call"/> so hooks run.</summary>
    public abstract TOutput Forward(T1 input1, T2 input2, T3 input3);

    /// <summary>Runs the module (<c>module(a, b, c)</c>): forward pre-hooks, <see cref="Forward"/>, forward hooks; allocation-free without hooks.</summary>
    public TOutput Call(T1 input1, T2 input2, T3 input3) =>
        Invoke(this, (input1, input2, input3), static (m, a) => m.Forward(a.input1, a.input2, a.input3));

    /// <summary>
    /// Registers a typed forward hook with (module, input1, input2, input3, output) (torch.nn.Module.register_forward_hook):
    /// a non-null result replaces the output. It runs for calls whose arguments and output have the module's types.
    /// </summary>
    public HookHandle RegisterForwardHook(Func<Module, T1, T2, T3, TOutput, TOutput?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardHook((m, inputs, output) =>
            TryArgument(inputs, 0, out T1 a) && TryArgument(inputs, 1, out T2 b) && TryArgument(inputs, 2, out T3 c)
            && TryCast(output, out TOutput y) ? hook(m, a, b, c, y) : null);
    }

    /// <summary>Registers a typed observing forward hook (torch.nn.Module.register_forward_hook).</summary>
    public HookHandle RegisterForwardHook(Action<Module, T1, T2, T3, TOutput> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return base.RegisterForwardHook((m, inputs, output) =>
        {
            if (TryArgument(inputs, 0, out T1 a) && TryArgument(inputs, 1, out T2 b) && TryArgument(inputs, 2, out T3 c)
                && TryCast(output, out TOutput y)) hook(m, a, b, c, y);
        });
    }
}
