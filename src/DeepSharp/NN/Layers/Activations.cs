namespace DeepSharp.NN;

/// <summary>max(0, x) (torch.nn.ReLU).</summary>
public class ReLU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>
/// Clamps to [<see cref="MinVal"/>, <see cref="MaxVal"/>], with zero gradient outside (torch.nn.Hardtanh(min_val=-1, max_val=1)).
/// </summary>
public class Hardtanh : Module<Tensor, Tensor>
{
    /// <summary>Lower bound (min_val).</summary>
    public double MinVal { get; }
    /// <summary>Upper bound (max_val).</summary>
    public double MaxVal { get; }

    /// <summary>Creates the layer (torch.nn.Hardtanh(min_val, max_val)).</summary>
    public Hardtanh(double minVal = -1.0, double maxVal = 1.0)
    {
        if (!(minVal <= maxVal)) throw new ArgumentException($"{GetType().Name}: minVal ({minVal}) must not exceed maxVal ({maxVal})", nameof(minVal));
        MinVal = minVal; MaxVal = maxVal;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Hardtanh(MinVal, MaxVal);
    /// <inheritdoc/>
    public override string ExtraRepr() => $"min_val={PyFloat(MinVal)}, max_val={PyFloat(MaxVal)}";
}

/// <summary>min(max(0, x), 6) (torch.nn.ReLU6), the activation of MobileNetV2.</summary>
public class ReLU6 : Hardtanh
{
    /// <summary>Creates the layer (torch.nn.ReLU6()).</summary>
    public ReLU6() : base(0, 6) { }
    /// <inheritdoc/>
    public override string ExtraRepr() => "";
}

/// <summary>x for x ≥ 0, slope·x otherwise (torch.nn.LeakyReLU).</summary>
public class LeakyReLU(double negativeSlope = 0.01) : Module<Tensor, Tensor>
{
    /// <summary>Slope for negative inputs (negative_slope).</summary>
    public double NegativeSlope { get; } = negativeSlope;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LeakyRelu(NegativeSlope);
    /// <inheritdoc/>
    public override string ExtraRepr() => $"negative_slope={PyFloat(NegativeSlope)}";
}

/// <summary>x for x > 0, α·(eˣ − 1) otherwise (torch.nn.ELU).</summary>
public class ELU(double alpha = 1.0) : Module<Tensor, Tensor>
{
    /// <summary>Scale of the negative part (alpha).</summary>
    public double Alpha { get; } = alpha;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Elu(Alpha);
    /// <inheritdoc/>
    public override string ExtraRepr() => $"alpha={PyFloat(Alpha)}";
}

/// <summary>Gaussian error linear unit, exact or tanh-approximated (torch.nn.GELU(approximate='none'|'tanh')).</summary>
public class GELU(string approximate = "none") : Module<Tensor, Tensor>
{
    /// <summary>"none" for the exact erf form, "tanh" for the approximation (approximate).</summary>
    public string Approximate { get; } = approximate is "none" or "tanh" ? approximate
        : throw new ArgumentException($"GELU: approximate must be \"none\" or \"tanh\", got \"{approximate}\"", nameof(approximate));
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Gelu(Approximate);
    /// <inheritdoc/>
    public override string ExtraRepr() => $"approximate='{Approximate}'";
}

/// <summary>x·σ(x), also called swish (torch.nn.SiLU).</summary>
public class SiLU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Silu();
}

/// <summary>1 / (1 + e⁻ˣ) (torch.nn.Sigmoid).</summary>
public class Sigmoid : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>Hyperbolic tangent (torch.nn.Tanh).</summary>
public class Tanh : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>Softmax along <see cref="Dim"/> (torch.nn.Softmax(dim)).</summary>
public class Softmax(int dim) : Module<Tensor, Tensor>
{
    /// <summary>The dimension that sums to one (dim).</summary>
    public int Dim { get; } = dim;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softmax(Dim);
    /// <inheritdoc/>
    public override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>Log of the softmax along <see cref="Dim"/> (torch.nn.LogSoftmax(dim)).</summary>
public class LogSoftmax(int dim) : Module<Tensor, Tensor>
{
    /// <summary>The dimension normalised over (dim).</summary>
    public int Dim { get; } = dim;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LogSoftmax(Dim);
    /// <inheritdoc/>
    public override string ExtraRepr() => $"dim={Dim}";
}
