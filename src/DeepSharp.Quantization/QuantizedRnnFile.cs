using System.Globalization;

namespace DeepSharp.Quantization;

public static partial class QuantizedFile
{
    /// <summary>The mode of a file holding one dynamically quantized LSTM or GRU.</summary>
    public const string RecurrentMode = "dynamic-rnn";

    /// <summary>Writes a dynamically quantized LSTM (layout in docs/compression.md).</summary>
    public static void SaveRecurrent(DynamicQuantizedLSTM lstm, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SaveRecurrent((lstm ?? throw new ArgumentNullException(nameof(lstm))).Core, path, metadata);

    /// <summary>Writes a dynamically quantized GRU (layout in docs/compression.md).</summary>
    public static void SaveRecurrent(DynamicQuantizedGRU gru, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SaveRecurrent((gru ?? throw new ArgumentNullException(nameof(gru))).Core, path, metadata);

    /// <summary>
    /// Writes the int8 weights of every layer and direction under PyTorch's parameter names (<c>weight_ih_l0</c>,
    /// <c>weight_hh_l0_reverse</c>, ...: I8 with the float shape (gates·H, in)), each with <c>NAME_scale</c> (F32, one per
    /// tensor or per row), <c>NAME_zero_point</c> (I64, zeros) and the float biases <c>bias_ih_lK</c> / <c>bias_hh_lK</c>;
    /// the sizes go to metadata "deepsharp.quantized.rnn" ("lstm"/"gru") and "deepsharp.quantized.rnn.config".
    /// </summary>
    static void SaveRecurrent(DynamicQuantizedRecurrent core, string path, IReadOnlyDictionary<string, string>? metadata)
    {
        var tensors = new Dictionary<string, RawTensor>();
        for (int layer = 0; layer < core.NumLayers; layer++)
            for (int dir = 0; dir < core.NumDirections; dir++)
            {
                int k = layer * core.NumDirections + dir;
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                AddRecurrentWeights(tensors, "ih" + suffix, core.InputWeights[k]);
                AddRecurrentWeights(tensors, "hh" + suffix, core.HiddenWeights[k]);
            }
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [ModeKey] = RecurrentMode,
            ["deepsharp.quantized.rnn"] = core.IsLstm ? "lstm" : "gru",
            ["deepsharp.quantized.rnn.config"] = string.Create(CultureInfo.InvariantCulture,
                $"input_size={core.InputSize},hidden_size={core.HiddenSize},num_layers={core.NumLayers},bidirectional={core.NumDirections == 2},batch_first={core.BatchFirst},reduce_range={core.ReduceRange}"),
        };
        RawSafeTensors.Save(path, tensors, meta);
    }

    static void AddRecurrentWeights(Dictionary<string, RawTensor> tensors, string name, QuantizedLinearWeights w)
    {
        var weight = "weight_" + name;
        tensors[weight] = new RawTensor("I8", [w.OutFeatures, w.InFeatures], w.Weight.Data.ToArray());
        tensors[weight + "_scale"] = RawTensor.F32(w.Weight.Scales.Select(s => (float)s).ToArray(), w.Weight.Scales.Length);
        tensors[weight + "_zero_point"] = RawTensor.I64(w.Weight.ZeroPoints, w.Weight.ZeroPoints.Length);
        if (w.Bias != null) tensors["bias_" + name] = RawTensor.F32(w.Bias, w.Bias.Length);
    }

    /// <summary>Reads a file written by <see cref="SaveRecurrent(DynamicQuantizedLSTM, string, IReadOnlyDictionary{string, string}?)"/>.</summary>
    public static DynamicQuantizedLSTM LoadLstm(string path)
    {
        var core = LoadRecurrent(path);
        return core.IsLstm ? new DynamicQuantizedLSTM(core) : throw new InvalidDataException($"{path} holds a quantized GRU, not an LSTM");
    }

    /// <summary>Reads a file written by <see cref="SaveRecurrent(DynamicQuantizedGRU, string, IReadOnlyDictionary{string, string}?)"/>.</summary>
    public static DynamicQuantizedGRU LoadGru(string path)
    {
        var core = LoadRecurrent(path);
        return !core.IsLstm ? new DynamicQuantizedGRU(core) : throw new InvalidDataException($"{path} holds a quantized LSTM, not a GRU");
    }

    static DynamicQuantizedRecurrent LoadRecurrent(string path)
    {
        var (tensors, metadata) = RawSafeTensors.Load(path);
        if (metadata.GetValueOrDefault(ModeKey) != RecurrentMode || !metadata.TryGetValue("deepsharp.quantized.rnn", out var kind) || kind is not ("lstm" or "gru"))
            throw new InvalidDataException($"{path} is not a quantized DeepSharp LSTM/GRU file (metadata {ModeKey} = {RecurrentMode})");
        var config = metadata.GetValueOrDefault("deepsharp.quantized.rnn.config", "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        string Get(string key) => config.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: deepsharp.quantized.rnn.config lacks {key}");
        int Int(string key) => int.Parse(Get(key), CultureInfo.InvariantCulture);
        bool Bool(string key) => bool.Parse(Get(key));
        bool lstm = kind == "lstm", bidirectional = Bool("bidirectional");
        int inputSize = Int("input_size"), hidden = Int("hidden_size"), layers = Int("num_layers"), dirs = bidirectional ? 2 : 1, gates = lstm ? 4 : 3;
        var ih = new QuantizedLinearWeights[layers * dirs];
        var hh = new QuantizedLinearWeights[layers * dirs];
        for (int layer = 0; layer < layers; layer++)
            for (int dir = 0; dir < dirs; dir++)
            {
                int k = layer * dirs + dir;
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                ih[k] = ReadRecurrentWeights(tensors, "ih" + suffix, path, gates * hidden, layer == 0 ? inputSize : dirs * hidden);
                hh[k] = ReadRecurrentWeights(tensors, "hh" + suffix, path, gates * hidden, hidden);
            }
        return new DynamicQuantizedRecurrent(lstm, inputSize, hidden, layers, bidirectional, Bool("batch_first"), ih, hh, Bool("reduce_range"));
    }

    static QuantizedLinearWeights ReadRecurrentWeights(Dictionary<string, RawTensor> tensors, string name, string path, int rows, int cols)
    {
        var weight = "weight_" + name;
        if (!tensors.TryGetValue(weight, out var w) || w.DType != "I8")
            throw new InvalidDataException($"{path}: no int8 tensor '{weight}'");
        if (w.Shape.Length != 2 || w.Shape[0] != rows || w.Shape[1] != cols)
            throw new InvalidDataException($"{path}: '{weight}' has shape ({string.Join(", ", w.Shape)}), expected ({rows}, {cols})");
        if (!tensors.TryGetValue(weight + "_scale", out var s) || !tensors.TryGetValue(weight + "_zero_point", out var z))
            throw new InvalidDataException($"{path}: '{weight}' lacks its scale or zero point");
        var scales = s.AsF32().Select(v => (double)v).ToArray();
        var zeroPoints = z.AsI64();
        if (scales.Length != 1 && scales.Length != rows || zeroPoints.Length != scales.Length)
            throw new InvalidDataException($"{path}: '{weight}' has {scales.Length} scales and {zeroPoints.Length} zero points for {rows} rows");
        var q = QuantizedTensor.FromRaw(w.Bytes, [rows, cols], QuantDType.QInt8, scales, zeroPoints, scales.Length == 1 ? -1 : 0);
        return new QuantizedLinearWeights(q, tensors.TryGetValue("bias_" + name, out var b) ? b.AsF32() : null);
    }
}
