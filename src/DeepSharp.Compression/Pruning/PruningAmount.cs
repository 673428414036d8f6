namespace DeepSharp.Compression.Pruning;

/// <summary>
/// How much to prune (the <c>amount</c> argument of torch.nn.utils.prune): a fraction in [0, 1] of the entries (or channels)
/// still unpruned, or an absolute count. An <c>int</c> converts to a count and a <c>double</c> to a fraction, as Python's
/// int/float distinction does: <c>amount: 3</c> prunes three entries, <c>amount: 0.3</c> thirty percent.
/// </summary>
public readonly record struct PruningAmount
{
    PruningAmount(double value, bool isCount) { Value = value; IsCount = isCount; }

    /// <summary>The fraction or the count.</summary>
    public double Value { get; }

    /// <summary>True for an absolute number of entries, false for a fraction.</summary>
    public bool IsCount { get; }

    /// <summary>A fraction in [0, 1] (a Python float amount).</summary>
    public static PruningAmount Fraction(double fraction)
    {
        if (!(fraction >= 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "amount: a fraction must lie in [0, 1] (prune._validate_pruning_amount_init)");
        return new(fraction, false);
    }

    /// <summary>A non-negative count of entries (a Python int amount).</summary>
    public static PruningAmount Count(int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "amount: a count must be non-negative (prune._validate_pruning_amount_init)");
        return new(count, true);
    }

    /// <summary>A fraction (float amount).</summary>
    public static implicit operator PruningAmount(double fraction) => Fraction(fraction);

    /// <summary>A count (int amount).</summary>
    public static implicit operator PruningAmount(int count) => Count(count);

    /// <summary>
    /// The number of units to prune out of <paramref name="size"/> (prune._compute_nparams_toprune): the count itself, or
    /// round(fraction · size) with Python's round half to even. A count above <paramref name="size"/> throws, as
    /// prune._validate_pruning_amount does.
    /// </summary>
    public int ToPrune(int size)
    {
        if (IsCount)
        {
            if (Value > size)
                throw new ArgumentException($"amount={(int)Value} should be smaller than the number of parameters to prune={size}", "amount");
            return (int)Value;
        }
        return (int)Math.Round(Value * size, MidpointRounding.ToEven);
    }

    /// <inheritdoc/>
    public override string ToString() => IsCount ? ((int)Value).ToString() : Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
