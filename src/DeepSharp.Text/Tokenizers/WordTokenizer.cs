using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace DeepSharp.Text;

/// <summary>
/// A word-level tokenizer: a simple splitter (whitespace, optionally lowercasing and cutting punctuation and symbols
/// into tokens of their own, like torchtext's <c>basic_english</c>) plus a vocabulary built from a corpus with a
/// minimum frequency and a maximum size (torchtext's <c>build_vocab_from_iterator(min_freq=, max_tokens=, specials=)</c>
/// with <c>set_default_index(vocab["&lt;unk&gt;"])</c>).
/// Ids: the special tokens first (by default <c>&lt;pad&gt;</c>=0, <c>&lt;unk&gt;</c>=1, <c>&lt;bos&gt;</c>=2,
/// <c>&lt;eos&gt;</c>=3), then the words by decreasing frequency (ties in ordinal order). Unknown words map to
/// <c>&lt;unk&gt;</c>. Special-token strings in the input text are recognised as such. Decoding joins the tokens with
/// single spaces, so it is not an exact inverse of encoding (use <see cref="ByteBpeTokenizer"/> for that).
/// </summary>
public sealed class WordTokenizer : ITokenizer
{
    internal const string TypeName = "word";

    /// <summary>The padding token, <c>&lt;pad&gt;</c>.</summary>
    public const string PadToken = "<pad>";
    /// <summary>The unknown-word token, <c>&lt;unk&gt;</c>.</summary>
    public const string UnkToken = "<unk>";
    /// <summary>The beginning-of-sequence token, <c>&lt;bos&gt;</c>.</summary>
    public const string BosToken = "<bos>";
    /// <summary>The end-of-sequence token, <c>&lt;eos&gt;</c>.</summary>
    public const string EosToken = "<eos>";

    /// <summary>The special tokens used when none are given: <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;bos&gt;</c>, <c>&lt;eos&gt;</c>.</summary>
    public static IReadOnlyList<string> DefaultSpecialTokens { get; } = [PadToken, UnkToken, BosToken, EosToken];

    readonly string[] itos;
    readonly Dictionary<string, int> stoi;
    readonly Dictionary<string, int> specialIds;

    /// <summary>
    /// A tokenizer with the given vocabulary: <paramref name="words"/> get the ids after the special tokens, in order
    /// (torchtext.vocab.vocab). <c>&lt;unk&gt;</c> is appended to <paramref name="specialTokens"/> when missing.
    /// </summary>
    public WordTokenizer(IEnumerable<string> words, bool lowercase = true, bool splitPunctuation = true, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(words);
        var specials = (specialTokens ?? DefaultSpecialTokens).ToList();
        if (!specials.Contains(UnkToken)) specials.Add(UnkToken);
        specialIds = Tokenizer.CheckSpecialTokens(specials, "WordTokenizer");
        Lowercase = lowercase;
        SplitPunctuation = splitPunctuation;
        var all = new List<string>(specials);
        stoi = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < all.Count; i++) stoi[all[i]] = i;
        foreach (var word in words)
        {
            if (string.IsNullOrEmpty(word)) throw new ArgumentException("WordTokenizer: a word of the vocabulary is null or empty", nameof(words));
            if (!stoi.TryAdd(word, all.Count)) throw new ArgumentException($"WordTokenizer: word '{word}' is listed twice (or is also a special token)", nameof(words));
            all.Add(word);
        }
        itos = [.. all];
        UnkId = stoi[UnkToken];
    }

    /// <summary>
    /// Builds the vocabulary from <paramref name="corpus"/> (torchtext build_vocab_from_iterator): words seen fewer than
    /// <paramref name="minFrequency"/> times are left out, and at most <paramref name="maxSize"/> ids are used in all,
    /// special tokens included (max_tokens), keeping the most frequent words.
    /// </summary>
    public static WordTokenizer Build(IEnumerable<string> corpus, int minFrequency = 1, int? maxSize = null, bool lowercase = true,
                                      bool splitPunctuation = true, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (minFrequency < 1) throw new ArgumentOutOfRangeException(nameof(minFrequency), $"WordTokenizer.Build: minFrequency must be at least 1, got {minFrequency}");
        var specials = (specialTokens ?? DefaultSpecialTokens).ToList();
        if (!specials.Contains(UnkToken)) specials.Add(UnkToken);
        if (maxSize is int max && max < specials.Count)
            throw new ArgumentOutOfRangeException(nameof(maxSize), $"WordTokenizer.Build: maxSize ({max}) must leave room for the {specials.Count} special tokens");
        var specialSet = new HashSet<string>(specials, StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
        {
            if (text is null) throw new ArgumentException("WordTokenizer.Build: the corpus holds a null text", nameof(corpus));
            foreach (var word in Split(text, lowercase, splitPunctuation))
                if (!specialSet.Contains(word)) counts[word] = counts.GetValueOrDefault(word) + 1;
        }
        var words = counts.Where(kv => kv.Value >= minFrequency)
                          .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                          .Select(kv => kv.Key);
        if (maxSize is int limit) words = words.Take(limit - specials.Count);
        return new WordTokenizer(words.ToList(), lowercase, splitPunctuation, specials);
    }

    /// <summary>Whether text is lowercased (invariant culture) before splitting.</summary>
    public bool Lowercase { get; }

    /// <summary>Whether each punctuation or symbol character is a token of its own.</summary>
    public bool SplitPunctuation { get; }

    /// <inheritdoc/>
    public int VocabSize => itos.Length;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> SpecialTokens => specialIds;

    /// <summary>Every token in id order (vocab.get_itos()).</summary>
    public IReadOnlyList<string> Vocabulary => itos;

    /// <summary>The id of <c>&lt;unk&gt;</c>, which unknown words map to (vocab.get_default_index()).</summary>
    public int UnkId { get; }

    /// <summary>The id of <c>&lt;pad&gt;</c>, or null when it is not a special token.</summary>
    public int? PadId => this.SpecialTokenId(PadToken);

    /// <summary>The id of <c>&lt;bos&gt;</c>, or null when it is not a special token.</summary>
    public int? BosId => this.SpecialTokenId(BosToken);

    /// <summary>The id of <c>&lt;eos&gt;</c>, or null when it is not a special token.</summary>
    public int? EosId => this.SpecialTokenId(EosToken);

    /// <summary>The id of a token; <see cref="UnkId"/> for an unknown one (vocab[token]).</summary>
    public int TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return stoi.GetValueOrDefault(token, UnkId);
    }

    /// <summary>The token of an id (vocab.lookup_token(id)).</summary>
    public string IdToToken(int id)
    {
        Tokenizer.CheckId(id, 0, VocabSize, "WordTokenizer.IdToToken");
        return itos[id];
    }

    /// <summary>The tokens of <paramref name="text"/> before the vocabulary lookup (torchtext get_tokenizer("basic_english")(text)).</summary>
    public string[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        SpecialTokenSplitter.Split(text, specialIds,
            (start, length) => tokens.AddRange(Split(text.Substring(start, length), Lowercase, SplitPunctuation)),
            id => tokens.Add(itos[id]));
        return [.. tokens];
    }

    /// <inheritdoc/>
    public int[] Encode(string text) => Encode(text, addBos: false, addEos: false);

    /// <summary>The ids of <paramref name="text"/>, optionally framed by <c>&lt;bos&gt;</c> and <c>&lt;eos&gt;</c>
    /// (which must then be special tokens).</summary>
    public int[] Encode(string text, bool addBos, bool addEos)
    {
        var tokens = Tokenize(text);
        var ids = new List<int>(tokens.Length + 2);
        if (addBos) ids.Add(BosId ?? throw new InvalidOperationException($"WordTokenizer.Encode: addBos needs {BosToken} among the special tokens"));
        foreach (var token in tokens) ids.Add(stoi.GetValueOrDefault(token, UnkId));
        if (addEos) ids.Add(EosId ?? throw new InvalidOperationException($"WordTokenizer.Encode: addEos needs {EosToken} among the special tokens"));
        return [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids) => Decode(ids, skipSpecialTokens: false);

    /// <summary>The tokens of <paramref name="ids"/> joined by single spaces, leaving out the special tokens when
    /// <paramref name="skipSpecialTokens"/> is set (Tokenizer.decode(ids, skip_special_tokens=)).</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < ids.Length; i++)
        {
            Tokenizer.CheckId(ids[i], i, VocabSize, "WordTokenizer.Decode");
            if (skipSpecialTokens && ids[i] < specialIds.Count) continue;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(itos[ids[i]]);
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public void Save(string path)
    {
        var root = TokenizerJson.NewRoot(TypeName);
        root["lowercase"] = Lowercase;
        root["split_punctuation"] = SplitPunctuation;
        root["special_tokens"] = TokenizerJson.Strings(itos.Take(specialIds.Count));
        root["words"] = TokenizerJson.Strings(itos.Skip(specialIds.Count));
        TokenizerJson.Write(path, root);
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/>.</summary>
    public static WordTokenizer Load(string path) => FromJson(TokenizerJson.Read(path, TypeName, out _), path);

    internal static WordTokenizer FromJson(JsonObject root, string path) =>
        new(TokenizerJson.ReadStrings(TokenizerJson.Field(root, "words", path), "words", path),
            TokenizerJson.Field(root, "lowercase", path).GetValue<bool>(),
            TokenizerJson.Field(root, "split_punctuation", path).GetValue<bool>(),
            TokenizerJson.ReadStrings(TokenizerJson.Field(root, "special_tokens", path), "special_tokens", path));

    /// <summary>The splitter: whitespace separates words; with <paramref name="splitPunctuation"/> every punctuation or
    /// symbol character (Unicode categories P* and S*) is a word of its own.</summary>
    internal static IEnumerable<string> Split(string text, bool lowercase, bool splitPunctuation)
    {
        if (lowercase) text = text.ToLowerInvariant();
        int wordStart = -1;
        for (int i = 0; i < text.Length;)
        {
            int start = i;
            int symbol = CharTokenizer.NextSymbol(text, ref i);
            bool space, separate;
            if (symbol is >= 0xD800 and <= 0xDFFF) { space = false; separate = false; }   // a lone surrogate stays in its word
            else
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(symbol);
                space = Rune.IsWhiteSpace(new Rune(symbol));
                separate = splitPunctuation && IsPunctuationOrSymbol(category);
            }
            if (space || separate)
            {
                if (wordStart >= 0) { yield return text[wordStart..start]; wordStart = -1; }
                if (separate) yield return text[start..i];
            }
            else if (wordStart < 0) wordStart = start;
        }
        if (wordStart >= 0) yield return text[wordStart..];
    }

    static bool IsPunctuationOrSymbol(UnicodeCategory category) => category is
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or
        UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or
        UnicodeCategory.OtherPunctuation or UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or
        UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol;
}
