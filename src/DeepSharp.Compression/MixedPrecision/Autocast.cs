using DeepSharp.NN;

namespace DeepSharp.Compression.MixedPrecision;

/// <summary>
/// An autocast region over a model (torch.autocast(device_type="cpu", dtype=torch.bfloat16 | torch.float16)): while it is
/// open, every Linear and convolution of the model casts its float32 input, weight and bias to real 16-bit tensors
/// (<see cref="DType.BFloat16"/> / <see cref="DType.Float16"/>, 2 bytes per element, round to nearest even), computes with
/// float32 accumulation and returns a 16-bit output, as autocast's lower-precision list does. What autograd saves for
/// backward is the 16-bit tensors, so activation memory halves. The ops after them take 16-bit inputs (ReLU, pooling,
/// dropout, views and elementwise arithmetic compute in float32 and store 16 bits; BatchNorm/LayerNorm/GroupNorm use
/// their float32 parameters and statistics, PyTorch's mixed-type CPU norm); losses belong on autocast's float32 list:
/// <see cref="MixedPrecisionStep"/> casts the model's output to float32 before the loss. The parameters stay float32
/// master weights: the cast's backward converts each 16-bit weight gradient to float32. Dispose ends the region.
/// <para>
/// The CPU has no 16-bit arithmetic here (DeepSharp's kernels widen 16-bit operands to float32 and round the result once),
/// so the gain is memory and bandwidth, not FLOPs; the conversions cost time (docs/compression.md measures both).
/// </para>
/// </summary>
public sealed class Autocast : IDisposable
{
    readonly List<HookHandle> handles = new();
    readonly Dictionary<(Module, string), Tensor> swapped = new();

    Autocast(Module model, Precision precision)
    {
        Precision = precision;
        DType = precision == Precision.Float16 ? DType.Float16 : precision == Precision.BFloat16 ? DType.BFloat16 : DType.Float32;
        if (precision == Precision.Float32) return;
        foreach (var m in model.Modules())
        {
            if (m is not (Linear or ConvBase)) continue;
            handles.Add(m.RegisterForwardPreHook((module, inputs) => Before(module, inputs)));
            handles.Add(m.RegisterForwardHook((module, _, _) => Restore(module)));
        }
    }

    /// <summary>Opens a region over <paramref name="model"/>'s Linear and convolution layers (with torch.autocast(...)). Float32 opens a region that changes nothing.</summary>
    public static Autocast Enable(Module model, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new Autocast(model, precision);
    }

    /// <summary>The precision of the region.</summary>
    public Precision Precision { get; }

    /// <summary>The dtype Linear and conv layers compute in and return (torch.get_autocast_cpu_dtype()); Float32 for a Float32 region.</summary>
    public DType DType { get; }

    /// <summary>
    /// <paramref name="tensor"/> cast to the region's dtype if it is float32 (autocast casts only float32 tensors), else
    /// itself. Recorded: the backward converts the gradient back to float32.
    /// </summary>
    public Tensor Cast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.DType == DType.Float32 ? tensor.To(DType) : tensor;
    }

    IReadOnlyList<object?> Before(Module module, IReadOnlyList<object?> inputs)
    {
        foreach (var name in (string[])["weight", "bias"])
        {
            if (module.GetTensor(name) is not { DType: DType.Float32 } t) continue;
            if (Module.IsParameter(t)) swapped[(module, name)] = t;   // put back after the forward
            module.SetTensorAttribute(name, t.To(DType));
        }
        return inputs.Select(i => i is Tensor { DType: DType.Float32 } x ? x.To(DType) : i).ToArray();
    }

    void Restore(Module module)
    {
        foreach (var name in (string[])["weight", "bias"])
            if (swapped.Remove((module, name), out var parameter)) module.RegisterParameter(name, parameter);
    }

    /// <summary>Removes the hooks and puts back any parameter still swapped out (leaving the autocast block).</summary>
    public void Dispose()
    {
        foreach (var h in handles) h.Dispose();
        handles.Clear();
        foreach (var ((module, name), parameter) in swapped) module.RegisterParameter(name, parameter);
        swapped.Clear();
    }
}
