using DeepSharp.NN;

namespace DeepSharp.Compression.MixedPrecision;

/// <summary>
/// An autocast region over a model (torch.autocast(device_type="cpu", dtype=torch.bfloat16 | torch.float16)): while it is
/// open, every Linear and convolution of the model runs on inputs, weights and biases rounded to the reduced precision
/// (<see cref="ReducedPrecision.Round(Tensor, Precision)"/>), and DeepSharp's kernels accumulate the products in float32,
/// which is what autocast's matmul/linear/conv do on hardware with bf16/fp16 units. Everything else (reductions, softmax,
/// normalisation, losses) stays in float32, as on autocast's fp32 list. The parameters stay float32 master weights and
/// receive float32 gradients (the cast's backward is the identity). Dispose ends the region.
/// <para>
/// DeepSharp has no 16-bit arithmetic, so the region reproduces the numerics of reduced precision, not its speed or its
/// activation memory; weights for inference are stored at 16 bits by <see cref="HalfWeights"/>.
/// </para>
/// </summary>
public sealed class Autocast : IDisposable
{
    readonly List<HookHandle> handles = new();
    readonly Dictionary<(Module, string), Tensor> swapped = new();

    Autocast(Module model, Precision precision)
    {
        Precision = precision;
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

    IReadOnlyList<object?> Before(Module module, IReadOnlyList<object?> inputs)
    {
        foreach (var name in (string[])["weight", "bias"])
        {
            if (module.GetTensor(name) is not { DType: DType.Float32 } t) continue;
            if (Module.IsParameter(t)) swapped[(module, name)] = t;   // put back after the forward
            module.SetTensorAttribute(name, ReducedPrecision.Round(t, Precision));
        }
        return inputs.Select(i => i is Tensor { DType: DType.Float32 } x ? ReducedPrecision.Round(x, Precision) : i).ToArray();
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
