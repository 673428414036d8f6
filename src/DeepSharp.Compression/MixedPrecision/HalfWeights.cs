using DeepSharp.NN;

namespace DeepSharp.Compression.MixedPrecision;

/// <summary>
/// 16-bit weight storage for inference (model.to(torch.bfloat16) / .half() for a model only evaluated): every float32
/// parameter and buffer of a floating type is rounded to <see cref="Precision"/> and kept as a real
/// <see cref="DType.BFloat16"/> / <see cref="DType.Float16"/> tensor (<see cref="StateDict"/>, <see cref="Save"/>); the float32
/// model's tensors are then filled from them on <see cref="LoadInto"/>, which also fills a freshly built model from the stored bits; the 16-bit copy is what a deployment keeps, at
/// half the float32 size (<see cref="Bytes"/>). The rounding is PyTorch's (round to nearest even).
/// </summary>
public sealed class HalfWeights
{
    readonly Dictionary<string, Tensor> entries = new();

    HalfWeights(Precision precision) => Precision = precision;

    /// <summary>The storage format.</summary>
    public Precision Precision { get; }

    /// <summary>Memory held by the 16-bit weights.</summary>
    public long Bytes => entries.Values.Sum(e => (long)e.NumEl * e.DType.ElementSize());

    /// <summary>Names of the stored tensors (state-dict keys).</summary>
    public IEnumerable<string> Keys => entries.Keys;

    /// <summary>Rounds <paramref name="model"/>'s float32 state to <paramref name="precision"/> and keeps it at 16 bits.</summary>
    public static HalfWeights From(Module model, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (precision == Precision.Float32) throw new ArgumentException("HalfWeights: choose BFloat16 or Float16", nameof(precision));
        var store = new HalfWeights(precision);
        foreach (var (key, t) in model.StateDict())
            if (t.DType == DType.Float32) store.entries[key] = TensorScope.Suspend(() => t.Detach().To(DTypeOf(precision)));
        return store;
    }

    static DType DTypeOf(Precision precision) => precision == Precision.Float16 ? DType.Float16 : DType.BFloat16;

    /// <summary>The stored 16-bit tensors by state-dict key (load them into a model converted with <c>To(DType.BFloat16)</c>).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict => entries;

    /// <summary>Writes the 16-bit tensors to a safetensors file (dtype "BF16" or "F16", 2 bytes per element).</summary>
    public void Save(string path) => DeepSharp.IO.SafeTensors.Save(path, entries);

    /// <summary>The stored tensor <paramref name="key"/> widened to float32.</summary>
    public Tensor Get(string key) =>
        entries.TryGetValue(key, out var e) ? e.To(DType.Float32)
            : throw new ArgumentException($"HalfWeights: no tensor \"{key}\" (stored: {string.Join(", ", entries.Keys)})", nameof(key));

    /// <summary>Copies the widened weights into <paramref name="model"/> (load_state_dict(strict=False) of the float32 values).</summary>
    public void LoadInto(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.LoadStateDict(entries.Keys.ToDictionary(k => k, Get), strict: false);
    }
}
