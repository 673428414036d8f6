namespace DeepSharp.NN;

/// <summary>
/// Stateless neural-network functions (torch.nn.functional). This part: activations and softmax. Each forwards to the
/// Tensor method of the same name; hyperparameters are optional named arguments with PyTorch's defaults.
/// </summary>
public static partial class F
{
    /// <summary>max(x, 0) (torch.nn.functional.relu). With <paramref name="inplace"/> the input is overwritten (relu_).</summary>
    public static Tensor Relu(Tensor input, bool inplace = false) => inplace ? input.ReluInPlace() : input.Relu();

    /// <summary>min(max(x, 0), 6) (torch.nn.functional.relu6).</summary>
    public static Tensor Relu6(Tensor input) => input.Relu6();

    /// <summary>x for x &gt; 0, negativeSlope·x otherwise (torch.nn.functional.leaky_relu).</summary>
    public static Tensor LeakyRelu(Tensor input, double negativeSlope = 0.01) => input.LeakyRelu(negativeSlope);

    /// <summary>x for x &gt; 0, alpha·(e^x - 1) otherwise (torch.nn.functional.elu).</summary>
    public static Tensor Elu(Tensor input, double alpha = 1.0) => input.Elu(alpha);

    /// <summary>Scaled ELU with the self-normalising constants (torch.nn.functional.selu).</summary>
    public static Tensor Selu(Tensor input) => input.Selu();

    /// <summary>x·Φ(x); approximate "none" (erf) or "tanh" (torch.nn.functional.gelu).</summary>
    public static Tensor Gelu(Tensor input, string approximate = "none") => input.Gelu(approximate);

    /// <summary>x·σ(x) (torch.nn.functional.silu).</summary>
    public static Tensor Silu(Tensor input) => input.Silu();

    /// <summary>x·tanh(softplus(x)) (torch.nn.functional.mish).</summary>
    public static Tensor Mish(Tensor input) => input.Mish();

    /// <summary>log(1 + e^{βx})/β, linear above the threshold (torch.nn.functional.softplus).</summary>
    public static Tensor Softplus(Tensor input, double beta = 1.0, double threshold = 20.0) => input.Softplus(beta, threshold);

    /// <summary>Clamp to [minVal, maxVal] with zero gradient at the bounds (torch.nn.functional.hardtanh).</summary>
    public static Tensor Hardtanh(Tensor input, double minVal = -1.0, double maxVal = 1.0) => input.Hardtanh(minVal, maxVal);

    /// <summary>relu6(x + 3)/6 (torch.nn.functional.hardsigmoid).</summary>
    public static Tensor Hardsigmoid(Tensor input) => input.Hardsigmoid();

    /// <summary>x·relu6(x + 3)/6 (torch.nn.functional.hardswish).</summary>
    public static Tensor Hardswish(Tensor input) => input.Hardswish();

    /// <summary>1/(1 + e^{-x}) (torch.sigmoid, torch.nn.functional.sigmoid).</summary>
    public static Tensor Sigmoid(Tensor input) => input.Sigmoid();

    /// <summary>log σ(x) (torch.nn.functional.logsigmoid).</summary>
    public static Tensor LogSigmoid(Tensor input) => input.LogSigmoid();

    /// <summary>Hyperbolic tangent (torch.tanh, torch.nn.functional.tanh).</summary>
    public static Tensor Tanh(Tensor input) => input.Tanh();

    /// <summary>Softmax along <paramref name="dim"/> (torch.nn.functional.softmax).</summary>
    public static Tensor Softmax(Tensor input, int dim) => input.Softmax(dim);

    /// <summary>Log-softmax along <paramref name="dim"/> (torch.nn.functional.log_softmax).</summary>
    public static Tensor LogSoftmax(Tensor input, int dim) => input.LogSoftmax(dim);
}
