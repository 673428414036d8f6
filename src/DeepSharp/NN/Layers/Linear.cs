namespace DeepSharp.NN;

/// <summary>
/// Fully connected layer y = x·Wᵀ + b (torch.nn.Linear). Input (*, in_features), output (*, out_features).
/// Parameters "weight" (out_features, in_features) and "bias" (out_features,).
/// </summary>
public class Linear : Module<Tensor, Tensor>
{
    /// <summary>Size of each input sample (in_features).</summary>
    public int InFeatures { get; }

    /// <summary>Size of each output sample (out_features).</summary>
    public int OutFeatures { get; }

    /// <summary>The weight W of shape (out_features, in_features) (Linear.weight).</summary>
    [TorchName("weight")] public Tensor Weight { get; private set; }

    /// <summary>The bias of shape (out_features,), or null when created with bias: false (Linear.bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; private set; }

    /// <summary>Creates the layer and initialises it like PyTorch (torch.nn.Linear(in_features, out_features, bias, dtype=)).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, DType dtype = DType.Float32)
    {
        if (inFeatures < 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear: inFeatures must be non-negative, got {inFeatures}");
        if (outFeatures < 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), $"Linear: outFeatures must be non-negative, got {outFeatures}");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        // not zero-filled: ResetParameters writes every element (a large layer would be zeroed only to be overwritten)
        Weight = Parameter(Tensor.AllocUninit(dtype, [outFeatures, inFeatures]));
        Bias = bias ? Parameter(Tensor.AllocUninit(dtype, [outFeatures])) : null;
        if (!Init.DefaultInitSkipped(Weight, Bias)) ResetParameters();
    }

    /// <summary>
    /// PyTorch's default initialisation (Linear.reset_parameters): weight from kaiming_uniform(a=√5), i.e.
    /// U(−1/√in, 1/√in), and bias from U(−1/√in, 1/√in).
    /// </summary>
    public void ResetParameters(Generator? generator = null)
    {
        Init.KaimingUniform(Weight, a: Math.Sqrt(5), generator: generator);
        if (Bias != null)
        {
            double bound = InFeatures > 0 ? 1 / Math.Sqrt(InFeatures) : 0;
            Init.Uniform(Bias, -bound, bound, generator);
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={PyBool(Bias != null)}";
}

/// <summary>
/// Bilinear layer y = x1ᵀ·A·x2 + b (torch.nn.Bilinear), a two-input module: <c>bilinear.Call(x1, x2)</c>.
/// Parameters "weight" (out, in1, in2) and "bias" (out,).
/// </summary>
public class Bilinear : Module<Tensor, Tensor, Tensor>
{
    /// <summary>Size of the first input (in1_features).</summary>
    public int In1Features { get; }
    /// <summary>Size of the second input (in2_features).</summary>
    public int In2Features { get; }
    /// <summary>Size of the output (out_features).</summary>
    public int OutFeatures { get; }

    /// <summary>The weight of shape (out_features, in1_features, in2_features) (Bilinear.weight).</summary>
    [TorchName("weight")] public Tensor Weight { get; private set; }

    /// <summary>The bias of shape (out_features,), or null (Bilinear.bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; private set; }

    /// <summary>Creates the layer (torch.nn.Bilinear(in1_features, in2_features, out_features, bias, dtype=)).</summary>
    public Bilinear(int in1Features, int in2Features, int outFeatures, bool bias = true, DType dtype = DType.Float32)
    {
        if (in1Features <= 0 || in2Features <= 0 || outFeatures < 0)
            throw new ArgumentOutOfRangeException(nameof(in1Features), $"Bilinear: feature sizes must be positive, got ({in1Features}, {in2Features}, {outFeatures})");
        In1Features = in1Features; In2Features = in2Features; OutFeatures = outFeatures;
        Weight = Parameter(Tensor.Empty([outFeatures, in1Features, in2Features], dtype));
        Bias = bias ? Parameter(Tensor.Empty([outFeatures], dtype)) : null;
        if (!Init.DefaultInitSkipped(Weight, Bias)) ResetParameters();
    }

    /// <summary>PyTorch's default initialisation: weight and bias from U(−1/√in1, 1/√in1) (Bilinear.reset_parameters).</summary>
    public void ResetParameters(Generator? generator = null)
    {
        double bound = 1 / Math.Sqrt(In1Features);
        Init.Uniform(Weight, -bound, bound, generator);
        if (Bias != null) Init.Uniform(Bias, -bound, bound, generator);
    }

    /// <summary>Applies the layer to a pair of inputs (torch.nn.Bilinear.forward(input1, input2)); call it as <c>Call(x1, x2)</c>.</summary>
    public override Tensor Forward(Tensor input1, Tensor input2) => F.Bilinear(input1, input2, Weight, Bias);

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"in1_features={In1Features}, in2_features={In2Features}, out_features={OutFeatures}, bias={PyBool(Bias != null)}";
}
