using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;

namespace DeepSharp.Text;

/// <summary>
/// Byte-level byte-pair encoding, as in GPT-2 and tiktoken: text is UTF-8 encoded, split into chunks by GPT-2's
/// pre-tokenisation pattern, and within each chunk pairs of tokens are merged in the order the merges were learned
/// (<see cref="Train(IEnumerable{string}, int, IEnumerable{string}?, int)"/>). Ids 0..255 are the single bytes, ids
/// 256.. the merges in training order, then the special tokens.
/// <para>
/// Every byte sequence has an encoding, so nothing is ever unknown: <see cref="DecodeBytes"/>(<see cref="EncodeBytes(ReadOnlySpan{byte})"/>(b))
/// returns exactly <c>b</c> for any bytes, invalid UTF-8 included, and <see cref="Decode"/>(<see cref="Encode"/>(s)) returns
/// exactly <c>s</c> for every well-formed string (emoji, combining marks, CJK, special-token text).
/// A .NET string holding a lone UTF-16 surrogate has no UTF-8 form: <see cref="Encode"/> encodes each lone surrogate as
/// U+FFFD (what <see cref="Encoding.UTF8"/> does), so it comes back as U+FFFD. <see cref="Decode"/> likewise turns bytes
/// that are not valid UTF-8 (e.g. a generated sequence that stops inside a character) into U+FFFD; use
/// <see cref="DecodeBytes"/> to get them exactly.
/// </para>
/// </summary>
public sealed partial class ByteBpeTokenizer : ITokenizer
{
    internal const string TypeName = "byte_bpe";
    const int ByteCount = 256;
    const int CacheLimit = 1 << 16;
    /// <summary>Chunks longer than this are merged with a heap (n log n) instead of repeated scans (n^2).</summary>
    internal const int HeapMergeThreshold = 48;

    readonly (int Left, int Right)[] merges;
    readonly Dictionary<long, int> mergeIds;               // (left, right) -> id of the merged token
    readonly byte[][] tokenBytes;                          // id -> bytes, for the byte and merge tokens
    readonly string[] specialTokens;
    readonly Dictionary<string, int> specialIds;
    readonly ConcurrentDictionary<string, int[]> chunkCache = new(StringComparer.Ordinal);
    int chunkCacheSize;                                    // approximate entry count (ConcurrentDictionary.Count takes every lock)

    /// <summary>
    /// A tokenizer with the given merges: merge <c>i</c> joins tokens <c>Left</c> and <c>Right</c> into token
    /// <c>256 + i</c>, and may only use tokens that exist before it. Special tokens get the ids after the merges.
    /// </summary>
    public ByteBpeTokenizer(IEnumerable<(int Left, int Right)> merges, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(merges);
        this.merges = [.. merges];
        mergeIds = new Dictionary<long, int>(this.merges.Length);
        tokenBytes = new byte[ByteCount + this.merges.Length][];
        for (int b = 0; b < ByteCount; b++) tokenBytes[b] = [(byte)b];
        for (int i = 0; i < this.merges.Length; i++)
        {
            var (left, right) = this.merges[i];
            int id = ByteCount + i;
            if ((uint)left >= (uint)id || (uint)right >= (uint)id)
                throw new ArgumentException($"ByteBpeTokenizer: merge {i} ({left}, {right}) uses a token that does not exist before it (ids must be below {id})", nameof(merges));
            if (!mergeIds.TryAdd(PairKey(left, right), id))
                throw new ArgumentException($"ByteBpeTokenizer: merge {i} ({left}, {right}) is listed twice", nameof(merges));
            tokenBytes[id] = [.. tokenBytes[left], .. tokenBytes[right]];
        }
        var specials = Tokenizer.CheckSpecialTokens(specialTokens, "ByteBpeTokenizer");
        this.specialTokens = [.. specials.Keys];
        specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < this.specialTokens.Length; i++) specialIds[this.specialTokens[i]] = tokenBytes.Length + i;
    }

    /// <inheritdoc/>
    public int VocabSize => tokenBytes.Length + specialTokens.Length;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> SpecialTokens => specialIds;

    /// <summary>The merges in rank order: merge <c>i</c> makes token <c>256 + i</c> (the merges list of a GPT-2 vocabulary).</summary>
    public IReadOnlyList<(int Left, int Right)> Merges => merges;

    /// <summary>The bytes token <paramref name="id"/> stands for (tiktoken decode_single_token_bytes); a special token's
    /// bytes are the UTF-8 of its text.</summary>
    public byte[] TokenBytes(int id)
    {
        Tokenizer.CheckId(id, 0, VocabSize, "ByteBpeTokenizer.TokenBytes");
        return id < tokenBytes.Length ? (byte[])tokenBytes[id].Clone() : Encoding.UTF8.GetBytes(specialTokens[id - tokenBytes.Length]);
    }

    /// <summary>A readable form of token <paramref name="id"/>: its bytes decoded as UTF-8, U+FFFD for bytes that are not
    /// whole characters (Tokenizer.id_to_token, decoded).</summary>
    public string IdToToken(int id) => Encoding.UTF8.GetString(TokenBytes(id));

    /// <summary>
    /// The ids of <paramref name="text"/>; occurrences of special-token text become the special token
    /// (tiktoken encode(text, allowed_special="all"), Hugging Face Tokenizer.encode). Lone surrogates are encoded as U+FFFD.
    /// </summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        SpecialTokenSplitter.Split(text, specialIds, (start, length) => EncodeOrdinary(text.AsSpan(start, length), ids), ids.Add);
        return [.. ids];
    }

    /// <summary>The ids of <paramref name="text"/> with special-token text treated as ordinary text (tiktoken encode_ordinary).</summary>
    public int[] EncodeOrdinary(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        EncodeOrdinary(text.AsSpan(), ids);
        return [.. ids];
    }

    /// <summary>The ids of arbitrary bytes (no special tokens): <see cref="DecodeBytes"/> gives the same bytes back,
    /// even for invalid UTF-8.</summary>
    public int[] EncodeBytes(ReadOnlySpan<byte> bytes)
    {
        var ids = new List<int>(bytes.Length / 3 + 4);
        EncodeBytesInto(bytes, ids);
        return [.. ids];
    }

    void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 1024 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int count = Encoding.UTF8.GetBytes(text, buffer);       // lone surrogates become EF BF BD (U+FFFD)
            EncodeBytesInto(buffer[..count], ids);
        }
        finally { if (rented != null) ArrayPool<byte>.Shared.Return(rented); }
    }

    void EncodeBytesInto(ReadOnlySpan<byte> bytes, List<int> ids)
    {
        var chunks = new List<(int Start, int Length)>();
        ByteLevelPreTokenizer.Split(bytes, chunks);
        var lookup = chunkCache.GetAlternateLookup<ReadOnlySpan<char>>();
        char[]? keyBuffer = null;
        foreach (var (start, length) in chunks)
        {
            var chunk = bytes.Slice(start, length);
            if (length == 1) { ids.Add(chunk[0]); continue; }
            if (keyBuffer == null || keyBuffer.Length < length) keyBuffer = new char[Math.Max(length, 64)];
            var key = keyBuffer.AsSpan(0, length);
            for (int i = 0; i < length; i++) key[i] = (char)chunk[i];   // one char per byte: an exact, cheap cache key
            if (!lookup.TryGetValue(key, out var chunkIds))
            {
                chunkIds = MergeChunk(chunk);
                if (Interlocked.Increment(ref chunkCacheSize) > CacheLimit) { chunkCache.Clear(); chunkCacheSize = 0; }
                chunkCache.TryAdd(new string(key), chunkIds);
            }
            ids.AddRange(chunkIds);
        }
    }

    /// <summary>The BPE of one chunk: repeatedly merges the adjacent pair with the lowest merge rank, leftmost first.</summary>
    internal int[] MergeChunk(ReadOnlySpan<byte> chunk) =>
        chunk.Length > HeapMergeThreshold ? MergeChunkWithHeap(chunk) : MergeChunkByScanning(chunk);

    internal int[] MergeChunkByScanning(ReadOnlySpan<byte> chunk)
    {
        Span<int> symbols = chunk.Length <= 256 ? stackalloc int[chunk.Length] : new int[chunk.Length];
        for (int i = 0; i < chunk.Length; i++) symbols[i] = chunk[i];
        int count = chunk.Length;
        while (count >= 2)
        {
            int best = int.MaxValue;                       // ids grow with the merge rank: the lowest id is the first merge
            for (int i = 0; i + 1 < count; i++)
                if (mergeIds.TryGetValue(PairKey(symbols[i], symbols[i + 1]), out int id) && id < best) best = id;
            if (best == int.MaxValue) break;
            var (left, right) = merges[best - ByteCount];
            int write = 0;
            for (int read = 0; read < count; write++)
            {
                if (read + 1 < count && symbols[read] == left && symbols[read + 1] == right) { symbols[write] = best; read += 2; }
                else symbols[write] = symbols[read++];
            }
            count = write;
        }
        return symbols[..count].ToArray();
    }

    /// <summary>
    /// The same result as <see cref="MergeChunkByScanning"/> in O(n log n): the candidate pairs sit in a heap ordered by
    /// (merge id, position). A merge only creates pairs that contain the new token, whose merges come later, so all pairs
    /// of one rank are merged left to right before any later rank, exactly as the scanning version does.
    /// </summary>
    internal int[] MergeChunkWithHeap(ReadOnlySpan<byte> chunk)
    {
        int n = chunk.Length;
        var symbols = new int[n];
        var next = new int[n];
        var previous = new int[n];
        for (int i = 0; i < n; i++) { symbols[i] = chunk[i]; next[i] = i + 1 < n ? i + 1 : -1; previous[i] = i - 1; }
        var heap = new PriorityQueue<int, long>(n);
        void Push(int position)
        {
            int after = next[position];
            if (after >= 0 && mergeIds.TryGetValue(PairKey(symbols[position], symbols[after]), out int id))
                heap.Enqueue(position, ((long)id << 32) | (uint)position);
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (heap.TryDequeue(out int position, out long priority))
        {
            int id = (int)(priority >> 32);
            if (symbols[position] < 0) continue;                             // merged into its left neighbour
            int after = next[position];
            if (after < 0 || !mergeIds.TryGetValue(PairKey(symbols[position], symbols[after]), out int current) || current != id) continue;
            symbols[position] = id;
            symbols[after] = -1;
            next[position] = next[after];
            if (next[after] >= 0) previous[next[after]] = position;
            if (previous[position] >= 0) Push(previous[position]);
            Push(position);
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(symbols[i]);
        return [.. result];
    }

    /// <summary>
    /// The text of <paramref name="ids"/>: their bytes decoded as UTF-8, with U+FFFD for bytes that do not form whole
    /// characters (tiktoken decode(errors="replace"), Hugging Face Tokenizer.decode).
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    /// <summary>The bytes of <paramref name="ids"/>, exactly (tiktoken decode_bytes).</summary>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        int total = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            Tokenizer.CheckId(ids[i], i, VocabSize, "ByteBpeTokenizer.Decode");
            total += ids[i] < tokenBytes.Length ? tokenBytes[ids[i]].Length : Encoding.UTF8.GetByteCount(specialTokens[ids[i] - tokenBytes.Length]);
        }
        var bytes = new byte[total];
        int offset = 0;
        foreach (int id in ids)
        {
            if (id < tokenBytes.Length) { tokenBytes[id].CopyTo(bytes, offset); offset += tokenBytes[id].Length; }
            else offset += Encoding.UTF8.GetBytes(specialTokens[id - tokenBytes.Length], bytes.AsSpan(offset));
        }
        return bytes;
    }

    /// <inheritdoc/>
    public void Save(string path)
    {
        var root = TokenizerJson.NewRoot(TypeName);
        root["pre_tokenizer"] = "gpt2";
        var array = new JsonArray();
        foreach (var (left, right) in merges) array.Add((JsonNode)new JsonArray(left, right));
        root["merges"] = array;
        root["special_tokens"] = TokenizerJson.Strings(specialTokens);
        TokenizerJson.Write(path, root);
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/> (Tokenizer.from_file).</summary>
    public static ByteBpeTokenizer Load(string path) => FromJson(TokenizerJson.Read(path, TypeName, out _), path);

    internal static ByteBpeTokenizer FromJson(JsonObject root, string path)
    {
        string preTokenizer = TokenizerJson.Field(root, "pre_tokenizer", path).GetValue<string>();
        if (preTokenizer != "gpt2") throw new InvalidDataException($"ByteBpeTokenizer.Load: '{path}' uses pre-tokenizer '{preTokenizer}'; only 'gpt2' is known");
        if (TokenizerJson.Field(root, "merges", path) is not JsonArray array)
            throw new InvalidDataException($"ByteBpeTokenizer.Load: field \"merges\" of '{path}' is not an array");
        var merges = new List<(int, int)>(array.Count);
        foreach (var node in array)
        {
            if (node is not JsonArray { Count: 2 } pair)
                throw new InvalidDataException($"ByteBpeTokenizer.Load: merge {merges.Count} of '{path}' is not a [left, right] pair");
            merges.Add((pair[0]!.GetValue<int>(), pair[1]!.GetValue<int>()));
        }
        try { return new ByteBpeTokenizer(merges, TokenizerJson.ReadStrings(root["special_tokens"], "special_tokens", path)); }
        catch (ArgumentException e) { throw new InvalidDataException($"ByteBpeTokenizer.Load: '{path}' is inconsistent: {e.Message}", e); }
    }

    internal static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;
}
