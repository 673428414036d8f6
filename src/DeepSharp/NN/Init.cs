using System.Numerics.Tensors;

namespace DeepSharp.NN;

/// <summary>Which fan Kaiming initialisation preserves the variance of (torch.nn.init mode="fan_in"/"fan_out").</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of activations in the forward pass ("fan_in").</summary>
    FanIn,
    /// <summary>Preserve the variance of gradients in the backward pass ("fan_out").</summary>
    FanOut,
}

/// <summary>Non-linearities known to <see cref="Init.CalculateGain"/> (the strings of torch.nn.init.calculate_gain).</summary>
public enum Nonlinearity
{
    /// <summary>"linear": gain 1.</summary>
    Linear,
    /// <summary>"conv1d"/"conv2d"/"conv3d"/"conv_transpose*": gain 1.</summary>
    Conv,
    /// <summary>"sigmoid": gain 1.</summary>
    Sigmoid,
    /// <summary>"tanh": gain 5/3.</summary>
    Tanh,
    /// <summary>"relu": gain √2.</summary>
    ReLU,
    /// <summary>"leaky_relu": gain √(2 / (1 + slope²)), slope 0.01 by default.</summary>
    LeakyReLU,
    /// <summary>"selu": gain 3/4.</summary>
    SELU,
}

/// <summary>
/// Parameter initialisation (torch.nn.init). Every function fills its tensor in place without recording gradients,
/// draws from the given generator or the global generator when null, and returns the tensor.
/// </summary>
public static class Init
{
    [ThreadStatic] static int skipDepth;

    /// <summary>
    /// Until the returned scope is disposed, the constructors of Linear, Bilinear, the convolutions and Embedding on this
    /// thread skip their default random initialisation and start their parameters at zero (torch.nn.utils.skip_init, which
    /// leaves them uninitialised). For a model that initialises every parameter itself right after building its layers
    /// (VGG's torchvision init): the default draw would only be overwritten. Scopes nest; dispose on the thread that began it.
    /// </summary>
    public static IDisposable SkipDefaultInit()
    {
        skipDepth++;
        return new SkipScope();
    }

    sealed class SkipScope : IDisposable
    {
        bool disposed;
        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            skipDepth--;
        }
    }

    /// <summary>
    /// For a layer constructor: inside <see cref="SkipDefaultInit"/>, zeroes the given fresh parameters and returns true
    /// (skip the default initialisation); otherwise returns false.
    /// </summary>
    internal static bool DefaultInitSkipped(Tensor? weight, Tensor? bias = null)
    {
        if (skipDepth == 0) return false;
        if (weight != null) Zeros(weight);
        if (bias != null) Zeros(bias);
        return true;
    }

    /// <summary>The recommended gain for a non-linearity (torch.nn.init.calculate_gain); <paramref name="param"/> is LeakyReLU's slope.</summary>
    public static double CalculateGain(Nonlinearity nonlinearity, double? param = null) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Conv or Nonlinearity.Sigmoid => 1,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.ReLU => Math.Sqrt(2.0),
        Nonlinearity.LeakyReLU => Math.Sqrt(2.0 / (1 + (param ?? 0.01) * (param ?? 0.01))),
        Nonlinearity.SELU => 3.0 / 4,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity)),
    };

    /// <summary>
    /// (fan_in, fan_out) of a weight as PyTorch computes them (torch.nn.init._calculate_fan_in_and_fan_out):
    /// size(1)·receptive and size(0)·receptive, where receptive is the product of the dims after the first two.
    /// </summary>
    public static (int FanIn, int FanOut) CalculateFanInAndFanOut(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2)
            throw new ArgumentException($"Init: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape {ShapeUtil.Format(tensor.shape)})", nameof(tensor));
        int receptive = 1;
        for (int i = 2; i < tensor.Rank; i++) receptive *= tensor.shape[i];
        return (tensor.shape[1] * receptive, tensor.shape[0] * receptive);
    }

    static void CheckFloat(Tensor tensor, string op)
    {
        if (!tensor.IsFloatingPoint) throw new ArgumentException($"Init.{op}: needs a floating point tensor, got {tensor.DType.TorchName()}", nameof(tensor));
    }

    static Tensor Write(Tensor tensor, Tensor values, string op)
    {
        if (!tensor.IsFloatingPoint) throw new ArgumentException($"Init.{op}: needs a floating point tensor, got {tensor.DType.TorchName()}", nameof(tensor));
        using (Autograd.NoGrad()) tensor.CopyFrom(values);
        return tensor;
    }

    static Tensor Draw(Tensor like, Generator? generator, Func<Generator, double> sample)
    {
        var values = new double[like.NumEl];
        DeepSharp.Random.With(generator, g => { for (int i = 0; i < values.Length; i++) values[i] = sample(g); });
        return Tensor.FromArray(values, like.NumEl).Reshape(like.shape);
    }

    /// <summary>Fills with samples from U(<paramref name="a"/>, <paramref name="b"/>) (torch.nn.init.uniform_).</summary>
    public static Tensor Uniform(Tensor tensor, double a = 0, double b = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckFloat(tensor, "Uniform");
        if (b < a) throw new ArgumentException($"Init.Uniform: the upper bound {b} is below the lower bound {a}", nameof(b));
        return DrawRandom(tensor, Tensor.RandomKind.Uniform, b - a, a, generator, "Uniform");
    }

    /// <summary>
    /// Fills <paramref name="tensor"/> with Rand's or Randn's values ·<paramref name="scale"/> + <paramref name="shift"/>: a
    /// contiguous float32/float64 tensor is drawn into in place (no temporary as large as the tensor, no copy: VGG-16's
    /// 138 M parameters are drawn twice while it is built); any other is drawn into a fresh float32/float64 tensor (float32
    /// for the 16-bit types, rounded once when copied in) and copied.
    /// </summary>
    static Tensor DrawRandom(Tensor tensor, Tensor.RandomKind kind, double scale, double shift, Generator? generator, string op)
    {
        using (Autograd.NoGrad())
        {
            if (tensor.IsContiguous && tensor.DType is DType.Float32 or DType.Float64)
            {
                tensor.CheckInPlace(op);
                tensor.DrawRandomInPlace(kind, generator, scale, shift);
                tensor.BumpVersion();
                return tensor;
            }
            var values = Tensor.AllocUninit(tensor.DType.IsReducedPrecision() ? DType.Float32 : tensor.DType, tensor.Shape.ToArray());
            values.DrawRandomInPlace(kind, generator, scale, shift);
            return Write(tensor, values, op);
        }
    }

    /// <summary>Fills with samples from N(<paramref name="mean"/>, <paramref name="std"/>²) (torch.nn.init.normal_).</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckFloat(tensor, "Normal");
        if (std < 0) throw new ArgumentException($"Init.Normal: std must be non-negative, got {std}", nameof(std));
        return DrawRandom(tensor, Tensor.RandomKind.Normal, std, mean, generator, "Normal");
    }

    /// <summary>
    /// Fills with N(mean, std²) samples redrawn until they fall in [<paramref name="a"/>, <paramref name="b"/>]
    /// (torch.nn.init.trunc_normal_; same distribution, drawn by rejection).
    /// </summary>
    public static Tensor TruncNormal(Tensor tensor, double mean = 0, double std = 1, double a = -2, double b = 2, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(a < b)) throw new ArgumentException($"Init.TruncNormal: the interval [{a}, {b}] is empty", nameof(b));
        if (std <= 0) throw new ArgumentException($"Init.TruncNormal: std must be positive, got {std}", nameof(std));
        // Rejection sampling is fine while the interval holds a fair share of the mass; clamp otherwise.
        return Write(tensor, Draw(tensor, generator, g =>
        {
            for (int attempt = 0; attempt < 1000; attempt++)
            {
                double v = mean + std * g.NextNormal();
                if (v >= a && v <= b) return v;
            }
            return a + (b - a) * g.NextDouble();
        }), "TruncNormal");
    }

    /// <summary>Fills with <paramref name="value"/> (torch.nn.init.constant_).</summary>
    public static Tensor Constant(Tensor tensor, double value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using (Autograd.NoGrad()) tensor.FillInPlace(value);
        return tensor;
    }

    /// <summary>Fills with zeros (torch.nn.init.zeros_).</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0);

    /// <summary>Fills with ones (torch.nn.init.ones_).</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1);

    /// <summary>Fills a 2-D tensor with the identity matrix (torch.nn.init.eye_).</summary>
    public static Tensor Eye(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank != 2) throw new ArgumentException($"Init.Eye: only 2-D tensors are supported, got shape {ShapeUtil.Format(tensor.shape)}", nameof(tensor));
        return Write(tensor, Tensor.Eye(tensor.shape[0], tensor.shape[1], tensor.DType), "Eye");
    }

    /// <summary>
    /// Glorot/Xavier uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out)) (torch.nn.init.xavier_uniform_).
    /// </summary>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Glorot/Xavier normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out)) (torch.nn.init.xavier_normal_).</summary>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        return Normal(tensor, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    static double KaimingStd(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException($"Init: cannot initialise a tensor with a zero-sized fan (shape {ShapeUtil.Format(tensor.shape)})", nameof(tensor));
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>
    /// He/Kaiming uniform: U(-bound, bound) with bound = gain·√(3 / fan) (torch.nn.init.kaiming_uniform_; defaults
    /// a=0, mode="fan_in", nonlinearity="leaky_relu"). <paramref name="a"/> is the negative slope for LeakyReLU;
    /// Linear and Conv use a=√5, which gives bound = 1/√fan_in.
    /// </summary>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyReLU, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.NumEl == 0) return tensor;   // PyTorch: "Initializing zero-element tensors is a no-op" (Linear(0, n))
        double bound = Math.Sqrt(3.0) * KaimingStd(tensor, a, mode, nonlinearity);
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>He/Kaiming normal: N(0, std²) with std = gain / √fan (torch.nn.init.kaiming_normal_).</summary>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyReLU, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.NumEl == 0 ? tensor : Normal(tensor, 0, KaimingStd(tensor, a, mode, nonlinearity), generator);
    }

    /// <summary>
    /// A (semi-)orthogonal matrix scaled by <paramref name="gain"/> (torch.nn.init.orthogonal_): the Q factor of the QR
    /// decomposition of a normal random matrix, with R's diagonal made positive. Dims after the first are flattened.
    /// </summary>
    public static Tensor Orthogonal(Tensor tensor, double gain = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2) throw new ArgumentException($"Init.Orthogonal: only tensors with 2 or more dimensions are supported, got shape {ShapeUtil.Format(tensor.shape)}", nameof(tensor));
        if (tensor.NumEl == 0) return tensor;
        int rows = tensor.shape[0], cols = tensor.NumEl / rows;
        bool transpose = rows < cols;
        int m = transpose ? cols : rows, n = transpose ? rows : cols;   // QR of a tall m×n matrix, m ≥ n
        var a = Draw(Tensor.Empty(m, n), generator, g => g.NextNormal()).ToArray<double>();
        // Modified Gram–Schmidt, done twice per column for stability; columns come out orthonormal, R's diagonal positive.
        var q = new double[m * n];
        var col = new double[m];
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < m; i++) col[i] = a[i * n + j];
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < j; k++)
                {
                    double dot = 0;
                    for (int i = 0; i < m; i++) dot += q[i * n + k] * col[i];
                    for (int i = 0; i < m; i++) col[i] -= dot * q[i * n + k];
                }
            double norm = 0;
            for (int i = 0; i < m; i++) norm += col[i] * col[i];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < m; i++) q[i * n + j] = col[i] / norm;
        }
        for (int i = 0; i < q.Length; i++) q[i] *= gain;
        var result = Tensor.FromArray(q, m, n);
        if (transpose) result = result.T;
        return Write(tensor, result.Reshape(tensor.shape), "Orthogonal");
    }
}
