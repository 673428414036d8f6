using System.Text.Json;
using DeepSharp.IO;
using DeepSharp.NN;

namespace DeepSharp.Text.Models;

/// <summary>
/// A next-token language model: token ids (B, T) int64 in, logits (B, T, V) out, where row t predicts token t + 1.
/// Subclasses (<see cref="Gpt"/>, <see cref="LstmLanguageModel"/>) add a way to generate one token at a time without
/// re-reading the prefix (<see cref="CreateStepper"/>) and describe themselves by a <see cref="Kind"/> and a JSON
/// configuration, so that <see cref="Save"/> / <see cref="Load"/> round-trip them through one safetensors file.
/// (PyTorch has no such base class; it is the role of Hugging Face's PreTrainedModel + save_pretrained/from_pretrained.)
/// </summary>
public abstract class LanguageModel : Module<Tensor, Tensor>
{
    /// <summary>Metadata key of the model kind ("gpt", "lstm") in a saved file.</summary>
    public const string KindKey = "deepsharp.model";
    /// <summary>Metadata key of the JSON configuration in a saved file.</summary>
    public const string ConfigKey = "deepsharp.config";

    /// <summary>Size V of the vocabulary (the logits' last dimension).</summary>
    public abstract int VocabSize { get; }

    /// <summary>The short name saved with the weights: "gpt" or "lstm".</summary>
    public abstract string Kind { get; }

    /// <summary>The longest context the model can read in one go (a Transformer's block size), or null for no limit.</summary>
    public abstract int? ContextLength { get; }

    /// <summary>The configuration record as JSON (saved with the weights).</summary>
    public abstract string ConfigJson();

    /// <summary>
    /// A stateful next-token function for <see cref="Generation.Generate"/>: each call gets the whole context so far and
    /// returns logits whose last row scores the next token. It feeds the model only the tokens it has not seen yet (the
    /// prompt on the first call, then one token per call), carrying a KV cache or recurrent state, so a generated token
    /// costs one incremental step. A context that does not extend the previous one starts over. Use one stepper per
    /// sequence; it runs under no-grad and puts nothing in training mode.
    /// </summary>
    public abstract Func<IReadOnlyList<int>, Tensor> CreateStepper();

    /// <summary>Checks that <paramref name="ids"/> is (B, T) int64 with T ≥ 1; <paramref name="caller"/> names the model in the message.</summary>
    protected static void CheckIds(Tensor ids, string caller)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Rank != 2 || ids.DType != DType.Int64 || ids.Shape[1] < 1)
            throw new ArgumentException($"{caller}: ids must be int64 of shape (B, T) with T >= 1, got {ids.DType.TorchName()} of shape ({string.Join(", ", ids.Shape)})", nameof(ids));
    }

    /// <summary>
    /// Saves the weights (state dict) with the kind and configuration as safetensors metadata, plus any
    /// <paramref name="metadata"/> (e.g. training results), atomically. <see cref="Load"/> rebuilds the model from it.
    /// (Hugging Face save_pretrained: model.safetensors + config.json, here in one file.)
    /// </summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var meta = new Dictionary<string, string>();
        if (metadata != null) foreach (var (k, v) in metadata) meta[k] = v;
        meta[KindKey] = Kind;
        meta[ConfigKey] = ConfigJson();
        SafeTensors.Save(path, StateDict(), meta);
    }

    /// <summary>
    /// Loads a model written by <see cref="Save"/>: builds the architecture named by its metadata from the saved
    /// configuration, loads the weights strictly and puts it in evaluation mode. Returns the model and all metadata.
    /// Throws <see cref="FileNotFoundException"/> for a missing file and <see cref="InvalidDataException"/> for a file
    /// that is not a saved language model. (Hugging Face from_pretrained.)
    /// </summary>
    public static (LanguageModel Model, IReadOnlyDictionary<string, string> Metadata) Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path}", path);
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        if (!metadata.TryGetValue(KindKey, out var kind) || !metadata.TryGetValue(ConfigKey, out var config))
            throw new InvalidDataException($"{path} has no '{KindKey}' and '{ConfigKey}' metadata; it was not saved by LanguageModel.Save");
        LanguageModel model;
        try
        {
            model = kind switch
            {
                Gpt.KindName => new Gpt(Deserialize<GptConfig>(config)),
                LstmLanguageModel.KindName => new LstmLanguageModel(Deserialize<LstmLanguageModelConfig>(config)),
                _ => throw new InvalidDataException($"{path}: unknown language model kind '{kind}' (known: {Gpt.KindName}, {LstmLanguageModel.KindName})"),
            };
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: bad {kind} configuration {config}: {e.Message}", e);
        }
        try { model.LoadStateDict(tensors); }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: the weights do not fit the saved {kind} configuration: {e.Message}", e);
        }
        model.Eval();
        return (model, metadata);
    }

    /// <summary>A configuration record as JSON (snake_case names, as a Hugging Face config.json).</summary>
    protected static string Serialize<T>(T config) => JsonSerializer.Serialize(config, TypeInfo<T>());

    static T Deserialize<T>(string json) => JsonSerializer.Deserialize(json, TypeInfo<T>())
        ?? throw new InvalidDataException($"empty configuration: {json}");

    /// <summary>The source-generated (trimming- and AOT-safe) JSON contract of a configuration record.</summary>
    static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> TypeInfo<T>() =>
        TextJsonContext.Default.GetTypeInfo(typeof(T)) as System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>
        ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered in TextJsonContext");
}
