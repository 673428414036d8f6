using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Dynamic quantization of a whole model (torch.ao.quantization.quantize_dynamic with {nn.Linear}): every Linear held in
/// a <see cref="Sequential"/> is replaced, in place, by a <see cref="DynamicQuantizedLinear"/>; other layers stay float.
/// </summary>
public static class DynamicQuantization
{
    /// <summary>Quantizes the model's Linear layers in place (per-channel int8 weights by default); returns how many.</summary>
    public static int Quantize(Module model, bool perChannel = true) =>
        Apply(model, _ => null, perChannel);

    /// <summary>
    /// Replaces every Linear inside a Sequential; <paramref name="weights"/> gives stored weights by the Linear's
    /// state-dict name, or null to quantize the Linear's own float weight.
    /// </summary>
    internal static int Apply(Module model, Func<string, QuantizedLinearWeights?> weights, bool perChannel = true)
    {
        int count = 0;
        foreach (var (name, module) in model.NamedModules().ToList())
        {
            if (module is not Sequential sequential) continue;
            var names = sequential.Names;
            for (int i = 0; i < names.Count; i++)
            {
                if (sequential[i] is not Linear linear) continue;
                string full = name.Length == 0 ? names[i] : name + "." + names[i];
                var w = weights(full) ?? QuantizedLinearWeights.FromFloat(linear.Weight, linear.Bias, perChannel);
                sequential[i] = new DynamicQuantizedLinear(w);
                count++;
            }
        }
        if (count == 0) throw new ArgumentException($"DynamicQuantization: {model.GetType().Name} has no Linear layer inside a Sequential to quantize", nameof(model));
        return count;
    }
}
