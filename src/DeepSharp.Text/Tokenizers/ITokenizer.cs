using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSharp.IO;

namespace DeepSharp.Text;

/// <summary>
/// Turns text into token ids and back (the shape shared by Hugging Face's <c>tokenizers.Tokenizer</c>,
/// tiktoken's <c>Encoding</c> and torchtext's vocab + tokenizer pairs). Implementations are safe to use from several
/// threads at once once built (data-loader workers may share one).
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of distinct token ids; every id produced by <see cref="Encode"/> is in [0, VocabSize)
    /// (Tokenizer.get_vocab_size() / len(vocab)).</summary>
    int VocabSize { get; }

    /// <summary>The special tokens (such as <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;|endoftext|&gt;</c>) and their ids
    /// (Tokenizer.get_vocab() restricted to added special tokens). Empty when there are none.</summary>
    IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The token ids of <paramref name="text"/> (Tokenizer.encode(text).ids, tiktoken Encoding.encode).</summary>
    int[] Encode(string text);

    /// <summary>The text of a sequence of token ids (Tokenizer.decode(ids), tiktoken Encoding.decode); throws
    /// ArgumentOutOfRangeException for an id outside [0, VocabSize).</summary>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>Writes the tokenizer to a JSON file that <see cref="Tokenizer.Load"/> (or the type's own Load) reads back
    /// (Tokenizer.save(path)). The write is atomic: a crash leaves the old file or the new one.</summary>
    void Save(string path);
}

/// <summary>Helpers shared by every <see cref="ITokenizer"/>: loading any saved tokenizer, tensors of ids.</summary>
public static class Tokenizer
{
    /// <summary>
    /// Loads a tokenizer saved by <see cref="ITokenizer.Save"/>, whatever its kind (Tokenizer.from_file(path)): the
    /// JSON's <c>"type"</c> field says which (<c>"char"</c>, <c>"word"</c> or <c>"byte_bpe"</c>).
    /// </summary>
    public static ITokenizer Load(string path)
    {
        var root = TokenizerJson.Read(path, expectedType: null, out string type);
        return type switch
        {
            CharTokenizer.TypeName => CharTokenizer.FromJson(root, path),
            WordTokenizer.TypeName => WordTokenizer.FromJson(root, path),
            ByteBpeTokenizer.TypeName => ByteBpeTokenizer.FromJson(root, path),
            _ => throw new InvalidDataException($"Tokenizer.Load: '{path}' has unknown tokenizer type '{type}' " +
                                                $"(expected '{CharTokenizer.TypeName}', '{WordTokenizer.TypeName}' or '{ByteBpeTokenizer.TypeName}')"),
        };
    }

    /// <summary>The ids of <paramref name="text"/> as a 1-D int64 tensor, ready for an embedding
    /// (torch.tensor(tokenizer.encode(text), dtype=torch.long)).</summary>
    public static Tensor EncodeToTensor(this ITokenizer tokenizer, string text)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return ToTensor(tokenizer.Encode(text));
    }

    /// <summary>Decodes a tensor of ids of any integer dtype and any shape, read in row-major order
    /// (tokenizer.decode(ids.tolist())).</summary>
    public static string Decode(this ITokenizer tokenizer, Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer); ArgumentNullException.ThrowIfNull(ids);
        if (ids.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"Decode: token ids must be an integer tensor (int64 or int32), got {ids.DType} of shape ({string.Join(", ", ids.Shape)})", nameof(ids));
        var values = ids.ToArray<long>();
        var ints = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
            ints[i] = values[i] is >= int.MinValue and <= int.MaxValue ? (int)values[i]
                : throw new ArgumentOutOfRangeException(nameof(ids), $"Decode: token id {values[i]} at position {i} is out of range for a vocabulary of {tokenizer.VocabSize}");
        return tokenizer.Decode(ints);
    }

    /// <summary>Decodes a list of ids (tokenizer.decode(list)).</summary>
    public static string Decode(this ITokenizer tokenizer, IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer); ArgumentNullException.ThrowIfNull(ids);
        return tokenizer.Decode(ids as int[] ?? ids.ToArray());
    }

    /// <summary>The id of a special token, or null when the tokenizer has no such token
    /// (tokenizer.token_to_id(token) for an added token).</summary>
    public static int? SpecialTokenId(this ITokenizer tokenizer, string token)
    {
        ArgumentNullException.ThrowIfNull(tokenizer); ArgumentNullException.ThrowIfNull(token);
        return tokenizer.SpecialTokens.TryGetValue(token, out int id) ? id : null;
    }

    internal static Tensor ToTensor(int[] ids)
    {
        var longs = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++) longs[i] = ids[i];
        return Tensor.FromArray(longs, ids.Length);
    }

    internal static void CheckId(int id, int position, int vocabSize, string op)
    {
        if ((uint)id >= (uint)vocabSize)
            throw new ArgumentOutOfRangeException("ids", $"{op}: token id {id} at position {position} is out of range for a vocabulary of {vocabSize} (valid ids are 0..{vocabSize - 1})");
    }

    internal static Dictionary<string, int> CheckSpecialTokens(IEnumerable<string>? specialTokens, string op)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (specialTokens is null) return result;
        foreach (var token in specialTokens)
        {
            if (string.IsNullOrEmpty(token)) throw new ArgumentException($"{op}: a special token may not be null or empty", nameof(specialTokens));
            if (!result.TryAdd(token, result.Count)) throw new ArgumentException($"{op}: special token '{token}' is listed twice", nameof(specialTokens));
        }
        return result;
    }
}

/// <summary>Reading and writing the JSON files of the tokenizers: <c>{"type": ..., "version": 1, ...}</c>.</summary>
static class TokenizerJson
{
    internal const int Version = 1;

    internal static JsonObject NewRoot(string type) => new() { ["type"] = type, ["version"] = Version };

    internal static void Write(string path, JsonObject root)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true })) root.WriteTo(writer);
        AtomicFile.WriteAllBytes(path, stream.ToArray());
    }

    internal static JsonObject Read(string path, string? expectedType, out string type)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Tokenizer: no tokenizer file at '{path}'", path);
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"Tokenizer: '{path}' is not valid JSON: {e.Message}", e); }
        if (node is not JsonObject root) throw new InvalidDataException($"Tokenizer: '{path}' does not hold a JSON object");
        type = root["type"]?.GetValue<string>() ?? throw new InvalidDataException($"Tokenizer: '{path}' has no \"type\" field");
        if (expectedType != null && type != expectedType)
            throw new InvalidDataException($"Tokenizer: '{path}' holds a '{type}' tokenizer, not a '{expectedType}' one (use Tokenizer.Load for any kind)");
        int version = root["version"]?.GetValue<int>() ?? 0;
        if (version != Version) throw new InvalidDataException($"Tokenizer: '{path}' has format version {version}; this DeepSharp reads version {Version}");
        return root;
    }

    internal static JsonNode Field(JsonObject root, string name, string path) =>
        root[name] ?? throw new InvalidDataException($"Tokenizer: '{path}' has no \"{name}\" field");

    internal static JsonArray Strings(IEnumerable<string> values)
    {
        var array = new JsonArray();
        foreach (var v in values) array.Add((JsonNode?)JsonValue.Create(v));
        return array;
    }

    internal static List<string> ReadStrings(JsonNode? node, string name, string path)
    {
        if (node is null) return [];
        if (node is not JsonArray array) throw new InvalidDataException($"Tokenizer: field \"{name}\" of '{path}' is not an array");
        var list = new List<string>(array.Count);
        foreach (var item in array) list.Add(item?.GetValue<string>() ?? throw new InvalidDataException($"Tokenizer: field \"{name}\" of '{path}' holds a null"));
        return list;
    }
}
