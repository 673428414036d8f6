namespace DeepSharp.NN;

/// <summary>
/// Packing and padding of variable-length sequences (torch.nn.utils.rnn): <see cref="PackPaddedSequence(Tensor, Tensor, bool, bool)"/>,
/// <see cref="PadPackedSequence"/>, <see cref="PadSequence"/> and <see cref="PackSequence"/>. All are differentiable
/// with respect to the sequence values (they gather rows).
/// </summary>
public static class RnnUtils
{
    /// <summary>
    /// Packs a padded batch (torch.nn.utils.rnn.pack_padded_sequence). <paramref name="input"/> is (T, B, *) or, with
    /// <paramref name="batchFirst"/>, (B, T, *); <paramref name="lengths"/> (B) gives each sequence's length (1 ≤ length ≤ T).
    /// With <paramref name="enforceSorted"/> the lengths must already decrease; otherwise the batch is sorted by decreasing
    /// length (stably) and the permutation is kept in the result so that layers can restore the original order.
    /// </summary>
    public static PackedSequence PackPaddedSequence(Tensor input, Tensor lengths, bool batchFirst = false, bool enforceSorted = true)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Rank != 1 || lengths.IsFloatingPoint || lengths.DType == DType.Bool)
            throw new ArgumentException($"PackPaddedSequence: lengths must be a 1-D integer tensor, got {lengths.DType.TorchName()} of shape {ShapeUtil.Format(lengths.shape)}", nameof(lengths));
        return PackPaddedSequence(input, lengths.To(DType.Int64).ToArray<long>().Select(v => v > int.MaxValue ? int.MaxValue : (int)Math.Max(v, int.MinValue)).ToArray(), batchFirst, enforceSorted);
    }

    /// <summary>Packs a padded batch given the lengths as integers (torch.nn.utils.rnn.pack_padded_sequence).</summary>
    public static PackedSequence PackPaddedSequence(Tensor input, int[] lengths, bool batchFirst = false, bool enforceSorted = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(lengths);
        if (input.Rank < 2)
            throw new ArgumentException($"PackPaddedSequence: input must be (T, B, *) or batch-first (B, T, *), got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        int timeDim = batchFirst ? 1 : 0, batchDim = batchFirst ? 0 : 1;
        int steps = input.shape[timeDim], batch = input.shape[batchDim];
        if (lengths.Length != batch)
            throw new ArgumentException($"PackPaddedSequence: expected {batch} lengths (the batch size of input of shape {ShapeUtil.Format(input.shape)}, batchFirst={batchFirst}), got {lengths.Length}", nameof(lengths));
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] <= 0)
                throw new ArgumentException($"PackPaddedSequence: length of all samples has to be greater than 0, but lengths[{b}] = {lengths[b]}", nameof(lengths));
            if (lengths[b] > steps)
                throw new ArgumentException($"PackPaddedSequence: lengths[{b}] = {lengths[b]} exceeds the {steps} time steps of input of shape {ShapeUtil.Format(input.shape)} (batchFirst={batchFirst})", nameof(lengths));
        }
        int[] order;
        if (enforceSorted)
        {
            for (int b = 1; b < batch; b++)
                if (lengths[b] > lengths[b - 1])
                    throw new ArgumentException($"PackPaddedSequence: lengths [{string.Join(", ", lengths)}] must be sorted in decreasing order when enforceSorted is true; pass enforceSorted: false to sort them", nameof(lengths));
            order = Enumerable.Range(0, batch).ToArray();
        }
        else order = Enumerable.Range(0, batch).OrderByDescending(b => lengths[b]).ToArray();   // stable

        int maxLen = lengths[order[0]];
        var batchSizes = new int[maxLen];
        foreach (var len in lengths) for (int t = 0; t < len; t++) batchSizes[t]++;
        int total = batchSizes.Sum();
        var rows = new long[total];
        for (int t = 0, k = 0; t < maxLen; t++)
            for (int p = 0; p < batchSizes[t]; p++)
                rows[k++] = batchFirst ? (long)order[p] * steps + t : (long)t * batch + order[p];
        var feature = input.shape[2..];
        var flat = input.Reshape([steps * batch, .. feature]);
        var data = flat.IndexSelect(0, Tensor.FromArray(rows, total));
        Tensor? sorted = enforceSorted ? null : Tensor.FromArray(order.Select(v => (long)v).ToArray(), batch);
        return PackedSequence.Create(data, batchSizes, sorted, sorted == null ? null : InvertPermutation(sorted));
    }

    /// <summary>
    /// Unpacks to a padded batch (torch.nn.utils.rnn.pad_packed_sequence): returns (T, B, *) (or (B, T, *) with
    /// <paramref name="batchFirst"/>) filled with <paramref name="paddingValue"/> past each sequence's end, in the original
    /// batch order, and the lengths as an int64 tensor. <paramref name="totalLength"/> pads T beyond the longest sequence.
    /// </summary>
    public static (Tensor Padded, Tensor Lengths) PadPackedSequence(PackedSequence sequence, bool batchFirst = false, double paddingValue = 0, int? totalLength = null)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        var sizes = sequence.BatchSizesArray;
        int maxLen = sizes.Length, batch = sizes[0];
        int steps = totalLength ?? maxLen;
        if (steps < maxLen)
            throw new ArgumentException($"PadPackedSequence: expected totalLength to be at least the length of the longest sequence in input, but got totalLength={steps} and max sequence length being {maxLen}", nameof(totalLength));
        var offsets = RecurrentOps.Offsets(sizes);
        var data = sequence.Data;
        int total = data.shape[0];
        var unsorted = sequence.UnsortedIndices?.To(DType.Int64).ToArray<long>();
        var lengths = new long[batch];
        foreach (var bs in sizes) for (int p = 0; p < bs; p++) lengths[p]++;
        // row of the padded result (t, j) -> packed row, or the padding row (index total) past the sequence's end
        var rows = new long[steps * batch];
        for (int t = 0; t < steps; t++)
            for (int j = 0; j < batch; j++)
            {
                int p = unsorted == null ? j : (int)unsorted[j];
                long src = t < maxLen && p < sizes[t] ? offsets[t] + p : total;
                rows[batchFirst ? j * steps + t : t * batch + j] = src;
            }
        var feature = data.shape[1..];
        var padRow = Tensor.Full([1, .. feature], paddingValue, data.DType);
        var extended = Tensor.Cat([data, padRow]);
        var padded = extended.IndexSelect(0, Tensor.FromArray(rows, rows.Length));
        padded = padded.Reshape(batchFirst ? [batch, steps, .. feature] : [steps, batch, .. feature]);
        var lengthsOut = unsorted == null ? lengths : unsorted.Select(p => lengths[p]).ToArray();
        return (padded, Tensor.FromArray(lengthsOut, batch));
    }

    /// <summary>
    /// Stacks sequences of shape (Lᵢ, *) into a padded batch (torch.nn.utils.rnn.pad_sequence): (max L, B, *), or (B, max L, *)
    /// with <paramref name="batchFirst"/>, padded with <paramref name="paddingValue"/>.
    /// </summary>
    public static Tensor PadSequence(IReadOnlyList<Tensor> sequences, bool batchFirst = false, double paddingValue = 0)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("PadSequence: expected a non-empty list of sequences", nameof(sequences));
        var first = sequences[0] ?? throw new ArgumentNullException(nameof(sequences), "PadSequence: sequence 0 is null");
        if (first.Rank < 1) throw new ArgumentException("PadSequence: sequences must have at least 1 dimension (L, *), got a scalar at position 0", nameof(sequences));
        var feature = first.shape[1..];
        int maxLen = 0;
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i] ?? throw new ArgumentNullException(nameof(sequences), $"PadSequence: sequence {i} is null");
            if (s.Rank != first.Rank || !s.shape.AsSpan(1).SequenceEqual(feature) || s.DType != first.DType)
                throw new ArgumentException($"PadSequence: all sequences must be (L, *) with the same trailing sizes and dtype; sequence {i} is {s.DType.TorchName()} {ShapeUtil.Format(s.shape)}, sequence 0 is {first.DType.TorchName()} {ShapeUtil.Format(first.shape)}", nameof(sequences));
            maxLen = Math.Max(maxLen, s.shape[0]);
        }
        var padded = new Tensor[sequences.Count];
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i];
            int missing = maxLen - s.shape[0];
            padded[i] = missing == 0 ? s : Tensor.Cat([s, Tensor.Full([missing, .. feature], paddingValue, s.DType)]);
        }
        return Tensor.Stack(padded, batchFirst ? 0 : 1);
    }

    /// <summary>
    /// Packs a list of sequences of shape (Lᵢ, *) (torch.nn.utils.rnn.pack_sequence): PadSequence then PackPaddedSequence.
    /// With <paramref name="enforceSorted"/> they must come in order of decreasing length.
    /// </summary>
    public static PackedSequence PackSequence(IReadOnlyList<Tensor> sequences, bool enforceSorted = true)
    {
        var padded = PadSequence(sequences);
        return PackPaddedSequence(padded, sequences.Select(s => s.shape[0]).ToArray(), false, enforceSorted);
    }

    /// <summary>The inverse of a permutation given as a 1-D int64 tensor (torch.nn.utils.rnn.invert_permutation).</summary>
    public static Tensor InvertPermutation(Tensor permutation)
    {
        ArgumentNullException.ThrowIfNull(permutation);
        var p = permutation.To(DType.Int64).ToArray<long>();
        var inverse = new long[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] < 0 || p[i] >= p.Length) throw new ArgumentException($"InvertPermutation: value {p[i]} at {i} is out of range for length {p.Length}", nameof(permutation));
            inverse[p[i]] = i;
        }
        return Tensor.FromArray(inverse, p.Length);
    }
}
