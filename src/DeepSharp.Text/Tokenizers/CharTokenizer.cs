using System.Text;
using System.Text.Json.Nodes;

namespace DeepSharp.Text;

/// <summary>What a <see cref="CharTokenizer"/> does with a character that is not in its vocabulary.</summary>
public enum UnknownCharHandling
{
    /// <summary>Map it to the replacement character U+FFFD, which is then always part of the vocabulary.</summary>
    Replace,
    /// <summary>Drop it.</summary>
    Skip,
    /// <summary>Throw an ArgumentException naming the character and its position.</summary>
    Error,
}

/// <summary>
/// A character-level tokenizer (the <c>stoi</c>/<c>itos</c> tables of a char-RNN or nanoGPT's shakespeare_char):
/// one id per distinct character of the corpus it is built from. A character is a Unicode scalar value, so an emoji
/// written as a surrogate pair is one token; a lone UTF-16 surrogate is a character of its own, so
/// <c>Decode(Encode(s)) == s</c> for every string made of known characters, well-formed or not.
/// Ids: the special tokens first (in the order given), then U+FFFD when unknown characters are replaced, then the
/// characters of the corpus in code-point order. Special tokens are never produced by <see cref="Encode"/>;
/// <see cref="Decode"/> writes their text.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    internal const string TypeName = "char";
    const int ReplacementChar = 0xFFFD;

    readonly string[] specialTokens;
    readonly Dictionary<string, int> specialIds;
    readonly int[] symbols;                      // id - specialCount -> symbol (code point, or a lone surrogate's code unit)
    readonly Dictionary<int, int> symbolIds;     // symbol -> id
    readonly int[] asciiIds = new int[128];      // fast path: ASCII symbol -> id, or -1

    /// <summary>
    /// A tokenizer over exactly the given characters (the vocabulary of a saved char-RNN). <paramref name="symbols"/>
    /// are Unicode code points (a lone surrogate is its UTF-16 code unit); order and duplicates do not matter.
    /// </summary>
    public CharTokenizer(IEnumerable<int> symbols, UnknownCharHandling unknown = UnknownCharHandling.Replace, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        if (!Enum.IsDefined(unknown)) throw new ArgumentOutOfRangeException(nameof(unknown), $"CharTokenizer: unknown handling {unknown} is not defined");
        specialIds = Tokenizer.CheckSpecialTokens(specialTokens, "CharTokenizer");
        this.specialTokens = [.. specialIds.Keys];
        Unknown = unknown;
        var set = new SortedSet<int>();
        foreach (int s in symbols)
        {
            if (s is < 0 or > 0x10FFFF) throw new ArgumentOutOfRangeException(nameof(symbols), $"CharTokenizer: {s} is not a Unicode code point (0..0x10FFFF)");
            set.Add(s);
        }
        var ordered = new List<int>(set.Count + 1);
        if (unknown == UnknownCharHandling.Replace) { ordered.Add(ReplacementChar); set.Remove(ReplacementChar); }
        ordered.AddRange(set);
        this.symbols = [.. ordered];
        symbolIds = new Dictionary<int, int>(this.symbols.Length);
        Array.Fill(asciiIds, -1);
        for (int i = 0; i < this.symbols.Length; i++)
        {
            int id = this.specialTokens.Length + i;
            symbolIds[this.symbols[i]] = id;
            if (this.symbols[i] < 128) asciiIds[this.symbols[i]] = id;
        }
        UnknownId = unknown == UnknownCharHandling.Replace ? this.specialTokens.Length : null;
    }

    /// <summary>A tokenizer whose vocabulary is every character of <paramref name="corpus"/>
    /// (sorted(set(text)) in a char-level language model).</summary>
    public static CharTokenizer FromCorpus(string corpus, UnknownCharHandling unknown = UnknownCharHandling.Replace, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        return FromCorpus([corpus], unknown, specialTokens);
    }

    /// <summary>A tokenizer whose vocabulary is every character of the texts of <paramref name="corpus"/>.</summary>
    public static CharTokenizer FromCorpus(IEnumerable<string> corpus, UnknownCharHandling unknown = UnknownCharHandling.Replace, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var seen = new HashSet<int>();
        foreach (var text in corpus)
        {
            if (text is null) throw new ArgumentException("CharTokenizer.FromCorpus: the corpus holds a null text", nameof(corpus));
            for (int i = 0; i < text.Length;) seen.Add(NextSymbol(text, ref i));
        }
        return new CharTokenizer(seen, unknown, specialTokens);
    }

    /// <summary>What happens to characters outside the vocabulary.</summary>
    public UnknownCharHandling Unknown { get; }

    /// <summary>The id unknown characters map to (that of U+FFFD) with <see cref="UnknownCharHandling.Replace"/>, else null.</summary>
    public int? UnknownId { get; }

    /// <inheritdoc/>
    public int VocabSize => specialTokens.Length + symbols.Length;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> SpecialTokens => specialIds;

    /// <summary>The characters of the vocabulary in id order (after the special tokens), as code points (itos).</summary>
    public IReadOnlyList<int> Symbols => symbols;

    /// <summary>The text of one token: a special token's string or a single character (itos[id]).</summary>
    public string IdToToken(int id)
    {
        Tokenizer.CheckId(id, 0, VocabSize, "CharTokenizer.IdToToken");
        if (id < specialTokens.Length) return specialTokens[id];
        var sb = new StringBuilder(2);
        AppendSymbol(sb, symbols[id - specialTokens.Length]);
        return sb.ToString();
    }

    /// <summary>The id of a special token or single character, or null when it has none (stoi.get(token)).</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (specialIds.TryGetValue(token, out int special)) return special;
        if (token.Length == 0) return null;
        int i = 0;
        int symbol = NextSymbol(token, ref i);
        return i == token.Length && symbolIds.TryGetValue(symbol, out int id) ? id : null;
    }

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int start = i;
            int symbol = NextSymbol(text, ref i);
            int id = symbol < 128 ? asciiIds[symbol] : symbolIds.GetValueOrDefault(symbol, -1);
            if (id >= 0) { ids.Add(id); continue; }
            switch (Unknown)
            {
                case UnknownCharHandling.Replace: ids.Add(UnknownId!.Value); break;
                case UnknownCharHandling.Skip: break;
                default:
                    throw new ArgumentException($"CharTokenizer.Encode: character U+{symbol:X4} at position {start} is not in the vocabulary " +
                                                $"of {symbols.Length} characters (build with UnknownCharHandling.Replace or Skip to accept it)", nameof(text));
            }
        }
        return [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            Tokenizer.CheckId(id, i, VocabSize, "CharTokenizer.Decode");
            if (id < specialTokens.Length) sb.Append(specialTokens[id]);
            else AppendSymbol(sb, symbols[id - specialTokens.Length]);
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public void Save(string path)
    {
        var root = TokenizerJson.NewRoot(TypeName);
        root["unknown"] = Unknown.ToString().ToLowerInvariant();
        root["special_tokens"] = TokenizerJson.Strings(specialTokens);
        var array = new JsonArray();
        // U+FFFD (when replacing) is re-added by the constructor; the rest are saved as code points, since JSON text
        // cannot carry a lone surrogate.
        for (int i = UnknownId.HasValue ? 1 : 0; i < symbols.Length; i++) array.Add((JsonNode?)JsonValue.Create(symbols[i]));
        root["symbols"] = array;
        TokenizerJson.Write(path, root);
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/>.</summary>
    public static CharTokenizer Load(string path) => FromJson(TokenizerJson.Read(path, TypeName, out _), path);

    internal static CharTokenizer FromJson(JsonObject root, string path)
    {
        string unknownName = TokenizerJson.Field(root, "unknown", path).GetValue<string>();
        if (!Enum.TryParse<UnknownCharHandling>(unknownName, ignoreCase: true, out var unknown))
            throw new InvalidDataException($"CharTokenizer.Load: '{path}' has unknown handling '{unknownName}'");
        var specials = TokenizerJson.ReadStrings(root["special_tokens"], "special_tokens", path);
        if (TokenizerJson.Field(root, "symbols", path) is not JsonArray array)
            throw new InvalidDataException($"CharTokenizer.Load: field \"symbols\" of '{path}' is not an array");
        var symbols = new List<int>(array.Count);
        foreach (var node in array) symbols.Add(node?.GetValue<int>() ?? throw new InvalidDataException($"CharTokenizer.Load: '{path}' has a null symbol"));
        return new CharTokenizer(symbols, unknown, specials);
    }

    /// <summary>The symbol at <paramref name="i"/> (a code point, or a lone surrogate's code unit), advancing past it.</summary>
    internal static int NextSymbol(string text, ref int i)
    {
        char c = text[i++];
        if (char.IsHighSurrogate(c) && i < text.Length && char.IsLowSurrogate(text[i]))
            return char.ConvertToUtf32(c, text[i++]);
        return c;
    }

    static void AppendSymbol(StringBuilder sb, int symbol)
    {
        if (symbol < 0x10000) sb.Append((char)symbol);
        else sb.Append(char.ConvertFromUtf32(symbol));
    }
}
