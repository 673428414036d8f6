namespace DeepSharp.NN;

/// <summary>Returns its input unchanged (torch.nn.Identity); a placeholder that keeps a model's structure.</summary>
public class Identity : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}

/// <summary>
/// Flattens dimensions <see cref="StartDim"/>..<see cref="EndDim"/> into one (torch.nn.Flatten). The default keeps the
/// batch dimension: (N, C, H, W) → (N, C·H·W).
/// </summary>
public class Flatten : Module<Tensor, Tensor>
{
    /// <summary>First dimension to flatten (start_dim), 1 by default.</summary>
    public int StartDim { get; }
    /// <summary>Last dimension to flatten (end_dim), −1 by default.</summary>
    public int EndDim { get; }

    /// <summary>Creates the layer (torch.nn.Flatten(start_dim=1, end_dim=-1)).</summary>
    public Flatten(int startDim = 1, int endDim = -1) { StartDim = startDim; EndDim = endDim; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Flatten(StartDim, EndDim);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>Expands one dimension into several (torch.nn.Unflatten): dim 1 of (N, 784) with (1, 28, 28) → (N, 1, 28, 28).</summary>
public class Unflatten : Module<Tensor, Tensor>
{
    readonly int[] sizes;

    /// <summary>The dimension to expand (dim).</summary>
    public int Dim { get; }
    /// <summary>The sizes it expands into (unflattened_size); one may be −1.</summary>
    public IReadOnlyList<int> UnflattenedSize => sizes;

    /// <summary>Creates the layer (torch.nn.Unflatten(dim, unflattened_size)).</summary>
    public Unflatten(int dim, params int[] unflattenedSize)
    {
        ArgumentNullException.ThrowIfNull(unflattenedSize);
        if (unflattenedSize.Length == 0) throw new ArgumentException("Unflatten: unflattenedSize must not be empty", nameof(unflattenedSize));
        Dim = dim; sizes = (int[])unflattenedSize.Clone();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Unflatten(Dim, sizes);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"dim={Dim}, unflattened_size={PyTuple(sizes)}";
}
