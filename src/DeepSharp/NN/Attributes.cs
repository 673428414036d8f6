namespace DeepSharp.NN;

/// <summary>
/// Overrides the name under which a field or auto-property of a <see cref="Module"/> is registered, so state-dict keys
/// can follow PyTorch while the C# member keeps .NET naming: <c>[TorchName("weight")] public Tensor Weight { get; }</c>
/// gives the key "weight" (the attribute name of a torch.nn.Module member).
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = true)]
public sealed class TorchNameAttribute(string name) : Attribute
{
    /// <summary>The registered (PyTorch) name.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// Marks a <see cref="Tensor"/> field or auto-property of a <see cref="Module"/> as a buffer (torch.nn.Module.register_buffer):
/// state that is saved in the state dict (unless <see cref="Persistent"/> is false) but is not a parameter, such as
/// BatchNorm's running_mean.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = true)]
public sealed class BufferAttribute : Attribute
{
    /// <summary>Whether the buffer is part of the state dict (register_buffer(persistent=...)). Default true.</summary>
    public bool Persistent { get; init; } = true;
}

/// <summary>
/// Excludes a <see cref="Module"/>- or <see cref="Tensor"/>-typed field from automatic registration (for a reference
/// to a module owned elsewhere, or a cached tensor that is neither a parameter nor a buffer).
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = true)]
public sealed class NotRegisteredAttribute : Attribute { }
