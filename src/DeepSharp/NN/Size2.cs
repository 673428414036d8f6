namespace DeepSharp.NN;

/// <summary>
/// A (height, width) pair of integers for 2-D hyperparameters (PyTorch's <c>_size_2_t</c>: an int or a 2-tuple).
/// Converts implicitly from an <see cref="int"/> (used for both) and from a tuple: <c>stride: 2</c> or <c>stride: (2, 1)</c>.
/// </summary>
public readonly record struct Size2(int H, int W)
{
    /// <summary>The same value for height and width.</summary>
    public static implicit operator Size2(int value) => new(value, value);
    /// <summary>A (height, width) tuple.</summary>
    public static implicit operator Size2((int H, int W) value) => new(value.H, value.W);
    /// <inheritdoc/>
    public override string ToString() => $"({H}, {W})";
}

/// <summary>
/// A (height, width) pair of scale factors (PyTorch's float-or-tuple scale_factor). Converts implicitly from a
/// <see cref="double"/> (used for both) and from a tuple.
/// </summary>
public readonly record struct Scale2(double H, double W)
{
    /// <summary>The same factor for height and width.</summary>
    public static implicit operator Scale2(double value) => new(value, value);
    /// <summary>A (height, width) tuple.</summary>
    public static implicit operator Scale2((double H, double W) value) => new(value.H, value.W);
    /// <inheritdoc/>
    public override string ToString() => $"({H}, {W})";
}
