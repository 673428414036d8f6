using System.Globalization;
using System.Text.Json;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Quantized models as safetensors files (layout in docs/compression.md). Every int8 weight is stored as
/// <c>NAME.weight</c> (I8, its float shape), <c>NAME.weight_scale</c> (F32, one per output channel or one),
/// <c>NAME.weight_zero_point</c> (I64, all 0: symmetric) and <c>NAME.bias</c> (F32). Metadata "deepsharp.quantization" is
/// "static" or "dynamic". A static file also describes its layers in "deepsharp.quantized.layers" (JSON: kind,
/// hyperparameters, output scale/zero point) and the input's "deepsharp.quantized.input" (scale, zero point), so it runs
/// without the float model; a dynamic file keeps the float model's other tensors under their state-dict names. Graph models
/// ("static-graph", <see cref="SaveGraph"/>) and LSTM/GRUs ("dynamic-rnn", <c>SaveRecurrent</c>) have their own partial files.
/// </summary>
public static partial class QuantizedFile
{
    /// <summary>The metadata key that marks a quantized file and gives its mode.</summary>
    public const string ModeKey = "deepsharp.quantization";

    /// <summary>True when <paramref name="metadata"/> belongs to a quantized file.</summary>
    public static bool IsQuantized(IReadOnlyDictionary<string, string> metadata) => metadata.ContainsKey(ModeKey);

    internal sealed record LayerInfo(string Kind, int[]? Kernel = null, int[]? Stride = null, int[]? Padding = null, int[]? Dilation = null,
        int InChannels = 0, bool Relu = false, float Scale = 0, int ZeroPoint = 0);

    /// <summary>Writes a statically quantized model; <paramref name="metadata"/> (e.g. the float file's) is kept.</summary>
    public static void SaveStatic(QuantizedModel model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new Dictionary<string, RawTensor>();
        var layers = new List<LayerInfo>();
        for (int i = 0; i < model.Layers.Count; i++)
        {
            switch (model.Layers[i])
            {
                case QuantizedConv2d c:
                    AddWeights(tensors, $"layers.{i}", c.Weights, [c.Weights.OutFeatures, c.InChannels, c.Kernel.H, c.Kernel.W]);
                    layers.Add(new("conv2d", [c.Kernel.H, c.Kernel.W], [c.Stride.H, c.Stride.W], [c.Padding.H, c.Padding.W], [c.Dilation.H, c.Dilation.W],
                        c.InChannels, c.Relu, c.Output.Scale, c.Output.ZeroPoint));
                    break;
                case QuantizedLinear l:
                    AddWeights(tensors, $"layers.{i}", l.Weights, [l.Weights.OutFeatures, l.Weights.InFeatures]);
                    layers.Add(new("linear", Relu: l.Relu, Scale: l.Output.Scale, ZeroPoint: l.Output.ZeroPoint));
                    break;
                case QuantizedMaxPool2d p: layers.Add(new("maxpool2d", [p.Kernel.H, p.Kernel.W], [p.Stride.H, p.Stride.W], [p.Padding.H, p.Padding.W])); break;
                case QuantizedFlatten: layers.Add(new("flatten")); break;
                case QuantizedReLU: layers.Add(new("relu")); break;
                default: throw new ArgumentException($"QuantizedFile: layer {i} ({model.Layers[i].GetType().Name}) cannot be saved", nameof(model));
            }
        }
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [ModeKey] = "static",
            ["deepsharp.quantized.layers"] = JsonSerializer.Serialize(layers, QuantizationJsonContext.Default.ListLayerInfo),
            ["deepsharp.quantized.input"] = string.Create(CultureInfo.InvariantCulture, $"{model.Input.Scale:R},{model.Input.ZeroPoint}"),
        };
        RawSafeTensors.Save(path, tensors, meta);
    }

    /// <summary>Reads a static file back into a runnable <see cref="QuantizedModel"/>.</summary>
    public static QuantizedModel LoadStatic(string path)
    {
        var (tensors, metadata) = RawSafeTensors.Load(path);
        if (metadata.GetValueOrDefault(ModeKey) != "static") throw new InvalidDataException($"{path} is not a statically quantized DeepSharp file");
        string Meta(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: a static file needs metadata {key}");
        List<LayerInfo>? layers;
        try { layers = JsonSerializer.Deserialize(Meta("deepsharp.quantized.layers"), QuantizationJsonContext.Default.ListLayerInfo); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: deepsharp.quantized.layers is not a valid layer list ({e.Message})", e); }
        if (layers == null || layers.Any(l => l == null)) throw new InvalidDataException($"{path}: no layer list");
        var input = ParseQParams(path, "deepsharp.quantized.input", Meta("deepsharp.quantized.input"));
        var modules = new List<Module<QuantizedTensor, QuantizedTensor>>();
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            Size2 S(int[]? v) => v is { Length: 2 } ? new Size2(v[0], v[1]) : throw new InvalidDataException($"{path}: layer {i} lacks a 2-D size");
            modules.Add(l.Kind switch
            {
                "conv2d" => new QuantizedConv2d(ReadWeights(tensors, $"layers.{i}", path), l.InChannels, S(l.Kernel), S(l.Stride), S(l.Padding), S(l.Dilation), new(l.Scale, l.ZeroPoint), l.Relu),
                "linear" => new QuantizedLinear(ReadWeights(tensors, $"layers.{i}", path), new(l.Scale, l.ZeroPoint), l.Relu),
                "maxpool2d" => new QuantizedMaxPool2d(S(l.Kernel), S(l.Stride), S(l.Padding)),
                "flatten" => new QuantizedFlatten(),
                "relu" => new QuantizedReLU(),
                _ => throw new InvalidDataException($"{path}: unknown layer kind '{l.Kind}'"),
            });
        }
        return new QuantizedModel(input, modules);
    }

    /// <summary>
    /// Writes a dynamically quantized model: every <see cref="DynamicQuantizedLinear"/> as int8 weights, every other
    /// parameter and buffer as float32 under its state-dict name.
    /// </summary>
    public static void SaveDynamic(Module model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new Dictionary<string, RawTensor>();
        foreach (var (name, t) in model.StateDict())
            tensors[name] = t.IsFloatingPoint ? RawTensor.F32(t.ToArray<float>(), t.Shape.ToArray()) : RawTensor.I64(t.ToArray<long>(), t.Shape.ToArray());
        foreach (var (name, module) in model.NamedModules())
            if (module is DynamicQuantizedLinear q)
                AddWeights(tensors, name, q.Weights, [q.Weights.OutFeatures, q.Weights.InFeatures]);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [ModeKey] = "dynamic" };
        RawSafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Loads a dynamic file into <paramref name="floatModel"/> (built with the same architecture): float tensors into its
    /// state, then its Linear layers replaced by <see cref="DynamicQuantizedLinear"/> with the stored int8 weights.
    /// </summary>
    public static void LoadDynamic(string path, Module floatModel)
    {
        var (tensors, metadata) = RawSafeTensors.Load(path);
        if (metadata.GetValueOrDefault(ModeKey) != "dynamic") throw new InvalidDataException($"{path} is not a dynamically quantized DeepSharp file");
        // float parameters and buffers (a quantized Linear's float bias loads harmlessly into the Linear it replaces)
        var floats = tensors.Where(t => t.Value.DType is "F32" or "I64" && !t.Key.EndsWith(".weight_scale") && !t.Key.EndsWith(".weight_zero_point"))
            .ToDictionary(t => t.Key, t => t.Value.DType == "F32" ? Tensor.FromArray(t.Value.AsF32()).Reshape(t.Value.Shape) : Tensor.FromArray(t.Value.AsI64()).Reshape(t.Value.Shape));
        floatModel.LoadStateDict(floats, strict: false);
        DynamicQuantization.Apply(floatModel, name => ReadWeights(tensors, name, path));
    }

    static void AddWeights(Dictionary<string, RawTensor> tensors, string prefix, QuantizedLinearWeights w, int[] shape)
    {
        tensors[prefix + ".weight"] = new RawTensor("I8", shape, w.Weight.Data.ToArray());
        tensors[prefix + ".weight_scale"] = RawTensor.F32(w.Weight.Scales.Select(s => (float)s).ToArray(), w.Weight.Scales.Length);
        tensors[prefix + ".weight_zero_point"] = RawTensor.I64(w.Weight.ZeroPoints, w.Weight.ZeroPoints.Length);
        if (w.Bias != null) tensors[prefix + ".bias"] = RawTensor.F32(w.Bias, w.Bias.Length);
    }

    /// <summary>PREFIX.weight (I8) with its scales, zero points and bias as a (out, in·…) weight; a malformed or missing
    /// tensor is an <see cref="InvalidDataException"/> naming the file and the tensor.</summary>
    static QuantizedLinearWeights ReadWeights(Dictionary<string, RawTensor> tensors, string prefix, string path)
    {
        try
        {
            if (!tensors.TryGetValue(prefix + ".weight", out var w) || w.DType != "I8")
                throw new InvalidDataException($"has no int8 tensor '{prefix}.weight'");
            if (w.Shape.Length < 2 || w.Shape[0] == 0)
                throw new InvalidDataException($"has '{prefix}.weight' of shape ({string.Join(", ", w.Shape)}), expected (out, in, ...)");
            return ReadWeights(tensors, prefix, w.Shape[0], (int)(w.NumEl / w.Shape[0]));
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>PREFIX.weight as a (<paramref name="rows"/>, <paramref name="cols"/>) int8 weight with PREFIX.weight_scale
    /// (F32, one or one per row, positive), PREFIX.weight_zero_point (I64, zeros, as many) and PREFIX.bias (F32, rows, if
    /// present). Messages name the tensor; the caller adds the file.</summary>
    static QuantizedLinearWeights ReadWeights(Dictionary<string, RawTensor> tensors, string prefix, int rows, int cols)
    {
        if (!tensors.TryGetValue(prefix + ".weight", out var w) || w.DType != "I8")
            throw new InvalidDataException($"has no int8 tensor '{prefix}.weight'");
        if ((long)rows * cols != w.Bytes.Length)
            throw new InvalidDataException($"has '{prefix}.weight' of shape ({string.Join(", ", w.Shape)}), expected {rows}·{cols} values");
        RawTensor Get(string suffix, string dtype) => tensors.TryGetValue(prefix + suffix, out var t) && t.DType == dtype ? t
            : throw new InvalidDataException($"has no {dtype} tensor '{prefix}{suffix}' beside '{prefix}.weight'");
        var scales = Get(".weight_scale", "F32").AsF32().Select(s => (double)s).ToArray();
        var zeroPoints = Get(".weight_zero_point", "I64").AsI64();
        if (scales.Length != 1 && scales.Length != rows || zeroPoints.Length != scales.Length)
            throw new InvalidDataException($"has {scales.Length} scales and {zeroPoints.Length} zero points in '{prefix}.weight_scale' / '_zero_point' for {rows} output channels");
        if (scales.Any(s => !double.IsFinite(s) || s <= 0)) throw new InvalidDataException($"has a scale in '{prefix}.weight_scale' that is not positive and finite");
        if (zeroPoints.Any(z => z != 0)) throw new InvalidDataException($"has a non-zero weight zero point in '{prefix}.weight_zero_point' (weights are symmetric)");
        float[]? bias = null;
        if (tensors.TryGetValue(prefix + ".bias", out var b))
        {
            bias = b.DType == "F32" ? b.AsF32() : throw new InvalidDataException($"has '{prefix}.bias' of dtype {b.DType}, expected F32");
            if (bias.Length != rows) throw new InvalidDataException($"has {bias.Length} values in '{prefix}.bias' for {rows} output channels");
        }
        var q = QuantizedTensor.FromRaw(w.Bytes, [rows, cols], QuantDType.QInt8, scales, zeroPoints, scales.Length == 1 ? -1 : 0);
        return new QuantizedLinearWeights(q, bias);
    }
}
