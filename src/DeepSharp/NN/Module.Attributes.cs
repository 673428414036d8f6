namespace DeepSharp.NN;

// Tensor members by name: getattr / setattr / delattr on a module's tensors, for tools that re-wire a layer's weight
// (pruning's weight_orig/weight_mask re-parametrisation, torch.nn.utils.prune).
public abstract partial class Module
{
    /// <summary>
    /// The tensor member named <paramref name="name"/> (its PyTorch name, e.g. "weight"): a parameter, a buffer or a plain
    /// tensor attribute, or null when absent (getattr(module, name, None) for tensors).
    /// </summary>
    public Tensor? GetTensor(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var slot = FindSlot(name);
        return slot is { Kind: not SlotKind.Module } ? slot.Get(this) as Tensor : null;
    }

    /// <summary>
    /// Makes <paramref name="name"/> a plain tensor attribute holding <paramref name="value"/>: the member stops being a
    /// parameter or buffer (del module._parameters[name]; setattr(module, name, value) in PyTorch). A member bound to a
    /// field (a layer's Weight) keeps its field, so the layer's forward reads the new value. The value must not be a
    /// <see cref="Parameter"/> (it would be registered again); pass a computed tensor such as weight_orig * weight_mask.
    /// </summary>
    public void SetTensorAttribute(string name, Tensor value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        if (IsParameter(value))
            throw new ArgumentException($"SetTensorAttribute: \"{name}\" would be registered as a parameter again; use RegisterParameter for a parameter", nameof(value));
        var slot = FindSlot(name);
        membersVersion++;
        if (slot == null) { Slots.Add(new Slot { Name = name, Kind = SlotKind.AutoTensor, Value = value }); return; }
        if (slot.Kind == SlotKind.Module)
            throw new ArgumentException($"SetTensorAttribute: \"{name}\" is a submodule of {GetType().Name}, not a tensor", nameof(name));
        if (slot.Field != null)
        {
            if (!slot.Field.FieldType.IsInstanceOfType(value))
                throw new ArgumentException($"SetTensorAttribute: field \"{name}\" of {GetType().Name} cannot hold a tensor", nameof(name));
            slot.Field.SetValue(this, value);
        }
        else slot.Value = value;
        slot.Kind = SlotKind.AutoTensor;
        slot.Persistent = true;
    }

    /// <summary>
    /// Removes the tensor member <paramref name="name"/> (delattr(module, name)): a registered member disappears, a member
    /// bound to a field is set to null. Returns the tensor it held (null when absent).
    /// </summary>
    public Tensor? DeleteTensor(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var slot = FindSlot(name);
        if (slot == null) return null;
        if (slot.Kind == SlotKind.Module)
            throw new ArgumentException($"DeleteTensor: \"{name}\" is a submodule of {GetType().Name}, not a tensor", nameof(name));
        var old = slot.Get(this) as Tensor;
        membersVersion++;
        if (slot.Field != null) slot.Field.SetValue(this, null);
        else Slots.Remove(slot);
        return old;
    }
}
