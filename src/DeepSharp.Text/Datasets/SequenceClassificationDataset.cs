using System.Globalization;
using DeepSharp.Data;

namespace DeepSharp.Text.Datasets;

/// <summary>The layout of a labelled text file.</summary>
public enum DelimitedFormat
{
    /// <summary>Comma-separated, with RFC 4180 double-quote quoting.</summary>
    Csv,
    /// <summary>Tab-separated, one record per line, no quoting.</summary>
    Tsv,
}

/// <summary>
/// Labelled texts for sequence classification (sentiment, topic, ...), tokenised once up front and padded or truncated
/// to <see cref="MaxLength"/> tokens: item <c>i</c> is (ids (L) int64, label () int64, length () int64), and a
/// <see cref="DataLoader"/> batch is (ids (B, L), labels (B), lengths (B)), so the <c>Trainer</c> sees (input, target) first
/// and a recurrent model can use the lengths to skip the padding (torchtext's text-classification datasets +
/// a collate that pads with <c>pad_sequence</c>, or Hugging Face <c>tokenizer(texts, padding="max_length", truncation=True)</c>).
/// Labels are strings mapped to ids by a label vocabulary: given, or built from the data (numerically sorted when every
/// label is an integer, otherwise in ordinal order). Give the training set's <see cref="Labels"/> to the validation
/// and test sets so the ids agree.
/// </summary>
public sealed class SequenceClassificationDataset : IBatchDataset
{
    readonly long[] ids;          // (N, L), padded
    readonly long[] labelIds;     // (N)
    readonly long[] lengths;      // (N)
    readonly string[] labels;
    readonly Dictionary<string, int> labelToId;

    /// <summary>
    /// Tokenises <paramref name="texts"/> with <paramref name="tokenizer"/>, keeping at most <paramref name="maxLength"/>
    /// tokens of each and padding the rest with <paramref name="padId"/> (default: the tokenizer's <c>&lt;pad&gt;</c> token,
    /// else 0). <paramref name="labelVocabulary"/> fixes the label ids (an unknown label then throws).
    /// </summary>
    public SequenceClassificationDataset(IReadOnlyList<string> texts, IReadOnlyList<string> labels, ITokenizer tokenizer, int maxLength,
                                         IReadOnlyList<string>? labelVocabulary = null, int? padId = null)
        : this(texts, labels, tokenizer, maxLength, labelVocabulary, padId, lineNumbers: null)
    {
    }

    SequenceClassificationDataset(IReadOnlyList<string> texts, IReadOnlyList<string> labels, ITokenizer tokenizer, int maxLength,
                                  IReadOnlyList<string>? labelVocabulary, int? padId, IReadOnlyList<int>? lineNumbers)
    {
        ArgumentNullException.ThrowIfNull(texts); ArgumentNullException.ThrowIfNull(labels); ArgumentNullException.ThrowIfNull(tokenizer);
        if (texts.Count != labels.Count)
            throw new ArgumentException($"SequenceClassificationDataset: {texts.Count} texts but {labels.Count} labels; they must pair up", nameof(labels));
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), $"SequenceClassificationDataset: maxLength must be at least 1, got {maxLength}");
        int pad = padId ?? tokenizer.SpecialTokenId("<pad>") ?? 0;
        if ((uint)pad >= (uint)tokenizer.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(padId), $"SequenceClassificationDataset: padId {pad} is outside the tokenizer's vocabulary of {tokenizer.VocabSize}");

        this.labels = labelVocabulary != null ? CheckVocabulary(labelVocabulary) : BuildVocabulary(labels);
        labelToId = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < this.labels.Length; i++) labelToId[this.labels[i]] = i;

        Count = texts.Count;
        MaxLength = maxLength;
        PadId = pad;
        ids = new long[Count * maxLength];
        labelIds = new long[Count];
        lengths = new long[Count];
        Array.Fill(ids, pad);
        for (int i = 0; i < Count; i++)
        {
            string where = lineNumbers != null ? $"line {lineNumbers[i]}" : $"item {i}";
            if (texts[i] is null) throw new ArgumentException($"SequenceClassificationDataset: the text of {where} is null", nameof(texts));
            if (labels[i] is null || !labelToId.TryGetValue(labels[i], out int label))
                throw new ArgumentException($"SequenceClassificationDataset: the label '{labels[i]}' of {where} is not in the label vocabulary " +
                                            $"({string.Join(", ", this.labels)})", nameof(labels));
            var tokens = tokenizer.Encode(texts[i]);
            int length = Math.Min(tokens.Length, maxLength);
            for (int t = 0; t < length; t++) ids[i * maxLength + t] = tokens[t];
            lengths[i] = length;
            labelIds[i] = label;
        }
        Texts = texts;
    }

    /// <summary>
    /// Reads a labelled CSV or TSV file (format from <paramref name="format"/>, else from the extension: .tsv/.tab is TSV,
    /// anything else CSV). Columns are chosen by index, or by name (<paramref name="textColumnName"/>,
    /// <paramref name="labelColumnName"/>) when the file has a header row (<paramref name="hasHeader"/>).
    /// </summary>
    public static SequenceClassificationDataset FromFile(string path, ITokenizer tokenizer, int maxLength, DelimitedFormat? format = null,
                                                         bool hasHeader = false, int textColumn = 0, int labelColumn = 1,
                                                         string? textColumnName = null, string? labelColumnName = null,
                                                         IReadOnlyList<string>? labelVocabulary = null, int? padId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path); ArgumentNullException.ThrowIfNull(tokenizer);
        var layout = format ?? (Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab" ? DelimitedFormat.Tsv : DelimitedFormat.Csv);
        var records = layout == DelimitedFormat.Csv
            ? DelimitedTextReader.ReadFile(path, ',', quoting: true)
            : DelimitedTextReader.ReadFile(path, '\t', quoting: false);
        int start = 0;
        if (hasHeader)
        {
            if (records.Count == 0) throw new InvalidDataException($"SequenceClassificationDataset: '{path}' is empty but a header row was expected");
            var header = records[0].Fields;
            textColumn = textColumnName != null ? ColumnIndex(header, textColumnName, path, nameof(textColumnName)) : textColumn;
            labelColumn = labelColumnName != null ? ColumnIndex(header, labelColumnName, path, nameof(labelColumnName)) : labelColumn;
            start = 1;
        }
        else if (textColumnName != null || labelColumnName != null)
            throw new ArgumentException("SequenceClassificationDataset: columns can only be chosen by name when hasHeader is true", nameof(textColumnName));
        if (textColumn < 0) throw new ArgumentOutOfRangeException(nameof(textColumn), $"SequenceClassificationDataset: textColumn must be non-negative, got {textColumn}");
        if (labelColumn < 0) throw new ArgumentOutOfRangeException(nameof(labelColumn), $"SequenceClassificationDataset: labelColumn must be non-negative, got {labelColumn}");
        if (textColumn == labelColumn) throw new ArgumentException($"SequenceClassificationDataset: the text and label columns are both {textColumn}", nameof(labelColumn));

        var texts = new List<string>(records.Count);
        var labels = new List<string>(records.Count);
        var lines = new List<int>(records.Count);
        int needed = Math.Max(textColumn, labelColumn) + 1;
        for (int r = start; r < records.Count; r++)
        {
            var (line, fields) = records[r];
            if (fields.Length < needed)
                throw new InvalidDataException($"SequenceClassificationDataset: line {line} of '{path}' has {fields.Length} field(s), " +
                                               $"but the text is column {textColumn} and the label column {labelColumn}");
            texts.Add(fields[textColumn]);
            labels.Add(fields[labelColumn].Trim());
            lines.Add(line);
        }
        return new SequenceClassificationDataset(texts, labels, tokenizer, maxLength, labelVocabulary, padId, lines);
    }

    /// <summary>Number of examples (len(dataset)).</summary>
    public int Count { get; }

    /// <summary>Length L every sequence is padded or truncated to.</summary>
    public int MaxLength { get; }

    /// <summary>The id used for padding.</summary>
    public int PadId { get; }

    /// <summary>The raw texts, in order.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>The label vocabulary: label id -> label string (the classes of the dataset).</summary>
    public IReadOnlyList<string> Labels => labels;

    /// <summary>Number of classes.</summary>
    public int NumClasses => labels.Length;

    /// <summary>The id of a label string; throws ArgumentException for an unknown one.</summary>
    public int LabelToId(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return labelToId.TryGetValue(label, out int id) ? id
            : throw new ArgumentException($"SequenceClassificationDataset: unknown label '{label}' (known: {string.Join(", ", labels)})", nameof(label));
    }

    /// <summary>Example <paramref name="index"/>: (ids (L), label (), length ()), all int64 (dataset[index]).</summary>
    public Tensor[] Get(int index)
    {
        CheckIndex(index);
        var row = ids.AsSpan(index * MaxLength, MaxLength).ToArray();
        return [Tensor.FromArray(row, MaxLength), Tensor.Scalar(labelIds[index], DType.Int64), Tensor.Scalar(lengths[index], DType.Int64)];
    }

    /// <summary>The examples at <paramref name="indices"/>: (ids (B, L), labels (B), lengths (B)).</summary>
    public Tensor[] GetBatch(ReadOnlySpan<int> indices)
    {
        foreach (int index in indices) CheckIndex(index);
        int b = indices.Length;
        var batchIds = new long[b * MaxLength];
        var batchLabels = new long[b];
        var batchLengths = new long[b];
        for (int i = 0; i < b; i++)
        {
            ids.AsSpan(indices[i] * MaxLength, MaxLength).CopyTo(batchIds.AsSpan(i * MaxLength));
            batchLabels[i] = labelIds[indices[i]];
            batchLengths[i] = lengths[indices[i]];
        }
        return [Tensor.FromArray(batchIds, b, MaxLength), Tensor.FromArray(batchLabels, b), Tensor.FromArray(batchLengths, b)];
    }

    void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"SequenceClassificationDataset: index {index} is out of range for a dataset of {Count} examples");
    }

    static int ColumnIndex(string[] header, string name, string path, string argument)
    {
        int index = Array.FindIndex(header, h => string.Equals(h.Trim(), name, StringComparison.Ordinal));
        return index >= 0 ? index
            : throw new ArgumentException($"SequenceClassificationDataset: '{path}' has no column '{name}' (header: {string.Join(", ", header)})", argument);
    }

    static string[] CheckVocabulary(IReadOnlyList<string> vocabulary)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in vocabulary)
            if (label is null || !set.Add(label))
                throw new ArgumentException($"SequenceClassificationDataset: the label vocabulary holds '{label}' twice or a null", nameof(vocabulary));
        return [.. vocabulary];
    }

    static string[] BuildVocabulary(IReadOnlyList<string> labels)
    {
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labels) if (label != null) distinct.Add(label);
        bool numeric = distinct.All(l => long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        return numeric
            ? [.. distinct.OrderBy(l => long.Parse(l, CultureInfo.InvariantCulture))]
            : [.. distinct.Order(StringComparer.Ordinal)];
    }
}
