using System.Text.Json.Serialization;
using DeepSharp.Text.Models;

namespace DeepSharp.Text;

/// <summary>
/// The JSON contracts of DeepSharp.Text, generated at compile time so that trimmed and Native AOT programs serialize
/// exactly what a JIT one does (docs/packaging.md). Configurations use snake_case names, as a Hugging Face config.json.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(GptConfig))]
[JsonSerializable(typeof(LstmLanguageModelConfig))]
[JsonSerializable(typeof(string))]
internal sealed partial class TextJsonContext : JsonSerializerContext;
