using DeepSharp.NN;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>
/// The deterministic weight fill of tools/golden/vision_fill.py, bit for bit: u(k, i) = (lowbias32(i + k·0x9E3779B9) ≫ 8)·2⁻²³ − 1
/// and value = float32(offset + scale·u), computed in double, with (offset, scale) chosen from the key and shape.
/// </summary>
public static class WeightFill
{
    public const int InputTag = 65535;

    static uint LowBias32(uint x)
    {
        x ^= x >> 16; x *= 0x7FEB352Du;
        x ^= x >> 15; x *= 0x846CA68Bu;
        x ^= x >> 16;
        return x;
    }

    public static double U(long k, long i) => (LowBias32(unchecked((uint)i + (uint)(k * 0x9E3779B9L))) >> 8) * (1.0 / (1 << 23)) - 1.0;

    public static (double Offset, double Scale) OffsetScale(string key, IReadOnlyList<int> shape)
    {
        string leaf = key[(key.LastIndexOf('.') + 1)..];
        switch (leaf)
        {
            case "running_var": return (1.5, 0.5);
            case "running_mean": return (0, 0.1);
            case "bias": return (0, 0.1);
            case "weight" when shape.Count >= 2:
                long fanIn = 1;
                for (int d = 1; d < shape.Count; d++) fanIn *= shape[d];
                return (0, Math.Sqrt(6.0 / fanIn));
            case "weight": return (1, 0.25);
            case "in_proj_weight":
                long inFan = 1;
                for (int d = 1; d < shape.Count; d++) inFan *= shape[d];
                return (0, Math.Sqrt(6.0 / inFan));
            case "in_proj_bias": return (0, 0.1);
            case "class_token" or "pos_embedding": return (0, 0.2);
            default: throw new ArgumentException($"no fill rule for {key}");
        }
    }

    public static float[] Values(long k, string key, IReadOnlyList<int> shape)
    {
        var (offset, scale) = OffsetScale(key, shape);
        long n = 1;
        foreach (var d in shape) n *= d;
        var data = new float[n];
        Parallel.For(0, (int)((n + 65535) / 65536), chunk =>
        {
            long start = chunk * 65536L, end = Math.Min(n, start + 65536);
            for (long i = start; i < end; i++) data[i] = (float)(offset + scale * U(k, i));
        });
        return data;
    }

    /// <summary>A state dict with the model's keys, in its order, filled by the formula.</summary>
    public static Dictionary<string, Tensor> StateDict(Module model)
    {
        var result = new Dictionary<string, Tensor>();
        int k = 0;
        foreach (var (key, t) in model.StateDict())
        {
            result[key] = key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? Tensor.Zeros(t.Shape.ToArray(), DType.Int64)
                : Tensor.FromArray(Values(k, key, t.Shape), t.Shape.ToArray());
            k++;
        }
        return result;
    }

    /// <summary>Fills <paramref name="model"/> by the formula through a strict LoadStateDict.</summary>
    public static void Fill(Module model) => model.LoadStateDict(StateDict(model), strict: true);

    /// <summary>The test input of the given shape.</summary>
    public static Tensor Input(params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        var data = new float[n];
        for (long i = 0; i < n; i++) data[i] = (float)U(InputTag, i);
        return Tensor.FromArray(data, shape);
    }
}
