namespace DeepSharp.NN;

/// <summary>
/// Zeroes elements with probability p during training and scales the rest by 1/(1−p); identity in evaluation
/// (torch.nn.Dropout).
/// </summary>
public class Dropout : Module<Tensor, Tensor>
{
    /// <summary>Probability of zeroing an element (p).</summary>
    public double P { get; }
    /// <summary>Optional generator for reproducible masks (null: the global one).</summary>
    public Generator? Generator { get; set; }

    /// <summary>Creates the layer (torch.nn.Dropout(p=0.5)).</summary>
    public Dropout(double p = 0.5)
    {
        if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), $"{GetType().Name}: p must be in [0, 1], got {p}");
        P = p;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Dropout(input, P, IsTraining, Generator);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"p={PyFloat(P)}, inplace=False";
}

/// <summary>Zeroes whole channels of (N, C, H, W) inputs with probability p during training (torch.nn.Dropout2d).</summary>
public class Dropout2d(double p = 0.5) : Dropout(p)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Dropout2d(input, P, IsTraining, Generator);
}
