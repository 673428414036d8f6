using System.Text.Json.Serialization;

namespace DeepSharp.Quantization;

/// <summary>The JSON contracts of quantized files, generated at compile time (trimming- and AOT-safe; docs/packaging.md).</summary>
[JsonSerializable(typeof(List<QuantizedFile.LayerInfo>))]
[JsonSerializable(typeof(List<QuantizedFile.GraphNodeInfo>))]
internal sealed partial class QuantizationJsonContext : JsonSerializerContext;
