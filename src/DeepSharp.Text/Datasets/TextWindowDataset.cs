using DeepSharp.Data;

namespace DeepSharp.Text.Datasets;

/// <summary>
/// A token stream cut into fixed-length windows for language modelling: item <c>i</c> is the pair
/// (<c>tokens[s .. s+T)</c>, <c>tokens[s+1 .. s+T+1)</c>) with <c>s = i * stride</c> and <c>T = blockSize</c>, so the target
/// of each position is the next token (nanoGPT's <c>get_batch</c>, torchtext's language-modelling <c>batchify</c> +
/// <c>get_batch</c> as a map-style dataset). Both are int64 tensors of shape (T); batches from a
/// <see cref="DataLoader"/> are (B, T). With stride = blockSize (the default) windows do not overlap; with stride 1
/// every offset is a window. Tokens after the last whole window are not used.
/// </summary>
public sealed class TextWindowDataset : IBatchDataset
{
    readonly int[] tokens;

    /// <summary>Windows of length <paramref name="blockSize"/> every <paramref name="stride"/> tokens (default: blockSize)
    /// over <paramref name="tokens"/>.</summary>
    public TextWindowDataset(int[] tokens, int blockSize, int? stride = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), $"TextWindowDataset: blockSize must be at least 1, got {blockSize}");
        int step = stride ?? blockSize;
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"TextWindowDataset: stride must be at least 1, got {step}");
        for (int i = 0; i < tokens.Length; i++)
            if (tokens[i] < 0) throw new ArgumentException($"TextWindowDataset: token {i} is negative ({tokens[i]}); token ids must be non-negative", nameof(tokens));
        this.tokens = tokens;
        BlockSize = blockSize;
        Stride = step;
        Count = tokens.Length < blockSize + 1 ? 0 : (tokens.Length - blockSize - 1) / step + 1;
    }

    /// <summary>Windows over a 1-D integer tensor of token ids (e.g. <c>tokenizer.EncodeToTensor(text)</c>).</summary>
    public TextWindowDataset(Tensor tokens, int blockSize, int? stride = null)
        : this(ToIds(tokens), blockSize, stride)
    {
    }

    /// <summary>Windows over the tokens of <paramref name="text"/>.</summary>
    public static TextWindowDataset FromText(string text, ITokenizer tokenizer, int blockSize, int? stride = null)
    {
        ArgumentNullException.ThrowIfNull(text); ArgumentNullException.ThrowIfNull(tokenizer);
        return new TextWindowDataset(tokenizer.Encode(text), blockSize, stride);
    }

    /// <summary>Windows over the tokens of a UTF-8 text file.</summary>
    public static TextWindowDataset FromFile(string path, ITokenizer tokenizer, int blockSize, int? stride = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path); ArgumentNullException.ThrowIfNull(tokenizer);
        if (!File.Exists(path)) throw new FileNotFoundException($"TextWindowDataset: no text file at '{path}'", path);
        return FromText(File.ReadAllText(path), tokenizer, blockSize, stride);
    }

    /// <summary>Length T of each window.</summary>
    public int BlockSize { get; }

    /// <summary>Tokens between the starts of consecutive windows.</summary>
    public int Stride { get; }

    /// <summary>The whole token stream.</summary>
    public ReadOnlyMemory<int> Tokens => tokens;

    /// <summary>Number of whole windows (len(dataset)).</summary>
    public int Count { get; }

    /// <summary>Window <paramref name="index"/>: (input (T), target (T)), int64, target shifted by one (dataset[index]).</summary>
    public Tensor[] Get(int index)
    {
        CheckIndex(index);
        var input = new long[BlockSize];
        var target = new long[BlockSize];
        Fill(index, input, target);
        return [Tensor.FromArray(input, BlockSize), Tensor.FromArray(target, BlockSize)];
    }

    /// <summary>The windows at <paramref name="indices"/> as (input (B, T), target (B, T)) int64 tensors.</summary>
    public Tensor[] GetBatch(ReadOnlySpan<int> indices)
    {
        foreach (int index in indices) CheckIndex(index);
        var input = new long[indices.Length * BlockSize];
        var target = new long[indices.Length * BlockSize];
        for (int b = 0; b < indices.Length; b++)
            Fill(indices[b], input.AsSpan(b * BlockSize, BlockSize), target.AsSpan(b * BlockSize, BlockSize));
        return [Tensor.FromArray(input, indices.Length, BlockSize), Tensor.FromArray(target, indices.Length, BlockSize)];
    }

    void Fill(int index, Span<long> input, Span<long> target)
    {
        int start = index * Stride;
        for (int t = 0; t < BlockSize; t++)
        {
            input[t] = tokens[start + t];
            target[t] = tokens[start + t + 1];
        }
    }

    void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"TextWindowDataset: index {index} is out of range for {Count} windows " +
                                                  $"({tokens.Length} tokens, blockSize {BlockSize}, stride {Stride})");
    }

    static int[] ToIds(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Rank != 1 || tokens.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"TextWindowDataset: tokens must be a 1-D int64 or int32 tensor, got {tokens.DType} of shape ({string.Join(", ", tokens.Shape)})", nameof(tokens));
        var values = tokens.ToArray<long>();
        var ids = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
            ids[i] = values[i] is >= 0 and <= int.MaxValue ? (int)values[i]
                : throw new ArgumentException($"TextWindowDataset: token {i} ({values[i]}) is not a valid token id", nameof(tokens));
        return ids;
    }
}
