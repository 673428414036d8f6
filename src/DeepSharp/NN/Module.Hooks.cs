using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace DeepSharp.NN;

/// <summary>A registered hook; disposing it (or calling <see cref="Remove"/>) unregisters it (torch.utils.hooks.RemovableHandle).</summary>
public sealed class HookHandle : IDisposable
{
    readonly Action remove;
    bool removed;
    internal HookHandle(Action remove) => this.remove = remove;

    /// <summary>Unregisters the hook; later calls do nothing (RemovableHandle.remove()).</summary>
    public void Remove() { if (!removed) { removed = true; remove(); } }

    /// <summary>Same as <see cref="Remove"/>.</summary>
    public void Dispose() => Remove();
}

// Calling a module: forward pre-hooks, the forward, forward hooks. Every typed Call (Module<TInput, TOutput>.Call and
// the overloads of modules with optional arguments) goes through Invoke, the one place hooks run.
public abstract partial class Module
{
    List<Func<Module, IReadOnlyList<object?>, IReadOnlyList<object?>?>>? preHooks;
    List<Func<Module, IReadOnlyList<object?>, object?, object?>>? hooks;

    /// <summary>True when at least one forward pre-hook or forward hook is registered on this module.</summary>
    public bool HasForwardHooks => preHooks is { Count: > 0 } || hooks is { Count: > 0 };

    /// <summary>
    /// The single entry that calls a module (torch.nn.Module._call_impl): runs the forward pre-hooks (which may replace
    /// the inputs), <paramref name="forward"/>, then the forward hooks (which may replace the output), in registration
    /// order. <paramref name="inputs"/> is a value tuple of the call's arguments (<c>ValueTuple.Create(x)</c> for one, up
    /// to any number); hooks see its elements as a list. Without hooks it calls <paramref name="forward"/> directly and
    /// allocates nothing, provided <paramref name="forward"/> is a static lambda:
    /// <code>public Tensor Call(Tensor input, int start) =>
    ///     Invoke(this, (input, start), static (m, a) => m.Forward(a.input, a.start));</code>
    /// </summary>
    protected internal static TResult Invoke<TModule, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TInputs, TResult>(TModule module, TInputs inputs, Func<TModule, TInputs, TResult> forward)
        where TModule : Module where TInputs : struct, ITuple
    {
        ArgumentNullException.ThrowIfNull(module);
        if (module.preHooks is not { Count: > 0 } && module.hooks is not { Count: > 0 }) return forward(module, inputs);
        return module.InvokeHooked(inputs, forward);
    }

    TResult InvokeHooked<TModule, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TInputs, TResult>(TInputs inputs, Func<TModule, TInputs, TResult> forward)
        where TModule : Module where TInputs : struct, ITuple
    {
        var self = (TModule)this;
        ITuple boxed = inputs;
        var values = new object?[boxed.Length];
        for (int i = 0; i < values.Length; i++) values[i] = boxed[i];
        IReadOnlyList<object?> view = Array.AsReadOnly(values);
        if (preHooks is { Count: > 0 })
            foreach (var hook in preHooks.ToArray())
                if (hook(this, view) is { } newInputs)
                {
                    if (newInputs.Count != values.Length)
                        throw new InvalidOperationException($"{GetType().Name}: a forward pre-hook returned {newInputs.Count} inputs, the call has {values.Length}");
                    values = [.. newInputs];
                    view = Array.AsReadOnly(values);
                    inputs = (TInputs)PackInputs(typeof(TInputs), values, 0);
                }
        var output = forward(self, inputs);
        if (hooks is { Count: > 0 })
        {
            object? result = output;
            bool replaced = false;
            foreach (var hook in hooks.ToArray())
                if (hook(this, view, result) is { } newOutput) { result = newOutput; replaced = true; }
            if (replaced)
                output = result is TResult typed ? typed
                    : throw new InvalidOperationException($"{GetType().Name}: a forward hook returned a {result?.GetType().Name} where the module returns " +
                        $"{typeof(TResult).Name}; return null to keep the output (a hook with a block body, {{ ... }}, only observes)");
        }
        return output;
    }

    /// <summary>Builds the value tuple <paramref name="tupleType"/> from <paramref name="values"/> (Item1..Item7, then Rest), checking each type.</summary>
    // trimming: the tuple types come from Invoke's annotated TInputs; a Rest field (8 or more inputs) has no annotation
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Typed modules take at most seven inputs, so a ValueTuple's Rest is never reached")]
    object PackInputs([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] Type tupleType, object?[] values, int offset)
    {
        var tuple = Activator.CreateInstance(tupleType)!;
        for (int k = 1; k <= 7; k++)
        {
            var field = tupleType.GetField("Item" + k);
            if (field == null) break;
            var value = values[offset + k - 1];
            bool fits = value == null
                ? !field.FieldType.IsValueType || Nullable.GetUnderlyingType(field.FieldType) != null
                : field.FieldType.IsInstanceOfType(value);
            if (!fits)
                throw new InvalidOperationException(
                    $"{GetType().Name}: a forward pre-hook gave input {offset + k - 1} as {value?.GetType().Name ?? "null"}; the module takes {field.FieldType.Name}");
            field.SetValue(tuple, value);
        }
        if (tupleType.GetField("Rest") is { } rest) rest.SetValue(tuple, PackInputs(rest.FieldType, values, offset + 7));
        return tuple;
    }

    /// <summary>Argument <paramref name="index"/> of a call as <typeparamref name="T"/>, for typed hooks: false when it is absent or of another type.</summary>
    private protected static bool TryArgument<T>(IReadOnlyList<object?> inputs, int index, out T value)
    {
        if (index < inputs.Count) return TryCast(inputs[index], out value);
        value = default!;
        return false;
    }

    /// <summary>A call's argument or output as <typeparamref name="T"/>: true when it is a T, or null where T admits null.</summary>
    private protected static bool TryCast<T>(object? boxed, out T value)
    {
        if (boxed is T typed) { value = typed; return true; }
        value = default!;
        return boxed is null && default(T) is null;
    }

    /// <summary>
    /// Registers a hook run before the forward by every call (torch.nn.Module.register_forward_pre_hook): it gets the
    /// module and the call's arguments; a non-null result replaces them (same count and types). Works on any module, so
    /// tools that attach by name (activation capture, quantization observers) use this form. Dispose the handle to remove it.
    /// </summary>
    public HookHandle RegisterForwardPreHook(Func<Module, IReadOnlyList<object?>, IReadOnlyList<object?>?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (preHooks ??= []).Add(hook);
        return new HookHandle(() => preHooks.Remove(hook));
    }

    /// <summary>Registers an observing pre-hook that sees the arguments and changes nothing (torch.nn.Module.register_forward_pre_hook).</summary>
    public HookHandle RegisterForwardPreHook(Action<Module, IReadOnlyList<object?>> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterForwardPreHook((m, inputs) => { hook(m, inputs); return null; });
    }

    /// <summary>
    /// Registers a hook run after the forward by every call with (module, arguments, output)
    /// (torch.nn.Module.register_forward_hook); a non-null result replaces the output and must have its type. Works on
    /// any module (Grad-CAM, activation capture). Dispose the handle to remove it.
    /// </summary>
    public HookHandle RegisterForwardHook(Func<Module, IReadOnlyList<object?>, object?, object?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (hooks ??= []).Add(hook);
        return new HookHandle(() => hooks.Remove(hook));
    }

    /// <summary>Registers an observing forward hook, e.g. to record activations (torch.nn.Module.register_forward_hook).</summary>
    public HookHandle RegisterForwardHook(Action<Module, IReadOnlyList<object?>, object?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterForwardHook((m, inputs, output) => { hook(m, inputs, output); return null; });
    }
}
