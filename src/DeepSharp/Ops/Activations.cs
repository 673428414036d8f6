using System.Numerics;
using System.Numerics.Tensors;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>x·a &gt; b (softplus's linear region).</summary>
internal struct ScaledAbove : ICompare
{
    public static bool Scalar<T>(T x, T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => x * a > b;
    public static Vector<T> Vector<T>(Vector<T> x, Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => System.Numerics.Vector.GreaterThan(x * a, b);
}

internal struct ScaledAboveMask : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
        => MathKernels.Select<T, ScaledAbove>(x, d, a, b, T.One, T.Zero);
}

/// <summary>x &gt; 0 ? x : slope·x.</summary>
internal struct LeakyReluFamily : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T slope, T unused) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(x, slope, d);
        MathKernels.KeepWhere<T, Above>(x, d, d, T.Zero, T.Zero);
    }
}

/// <summary>x &gt; 0 ? x : alpha·(e^x - 1).</summary>
internal struct EluFamily : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T alpha, T unused) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Min(x, T.Zero, d);
        TensorPrimitives.ExpM1(d, d);
        TensorPrimitives.Multiply(d, alpha, d);
        MathKernels.KeepWhere<T, Above>(x, d, d, T.Zero, T.Zero);
    }
}

/// <summary>x·Φ(x) with the exact normal CDF.</summary>
internal struct GeluFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => ErrorFunction.NormalCdf(x, d, timesX: true);
}

/// <summary>½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
internal struct GeluTanhFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(x, x, d);                                              // x²
        TensorPrimitives.Multiply(d, T.CreateTruncating(Tensor.GeluCubic), d);
        TensorPrimitives.Add(d, T.One, d);                                               // 1 + c·x²
        TensorPrimitives.Multiply(d, x, d);                                              // x + c·x³
        TensorPrimitives.Multiply(d, T.CreateTruncating(Tensor.SqrtTwoOverPi), d);
        TensorPrimitives.Tanh(d, d);
        TensorPrimitives.Add(d, T.One, d);
        TensorPrimitives.Multiply(d, x, d);
        TensorPrimitives.Multiply(d, T.CreateTruncating(0.5), d);
    }
}

/// <summary>x·σ(x).</summary>
internal struct SiluFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Sigmoid(x, d);
        TensorPrimitives.Multiply(d, x, d);
    }
}

/// <summary>log(1 + e^{βx})/β, or x where βx &gt; threshold.</summary>
internal struct SoftplusFamily : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T beta, T threshold) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(x, beta, d);
        TensorPrimitives.Exp(d, d);
        TensorPrimitives.LogP1(d, d);
        TensorPrimitives.Divide(d, beta, d);
        MathKernels.KeepWhere<T, ScaledAbove>(x, d, d, beta, threshold);
    }
}

// Activation functions (torch.nn.functional): relu and friends. Piecewise-linear ones multiply the gradient by a
// constant mask (their second derivative is 0); smooth ones write the derivative with differentiable ops.
public sealed partial class Tensor
{
    internal const double SqrtTwoOverPi = 0.79788456080286535588;
    internal const double GeluCubic = 0.044715;
    const double SeluAlpha = 1.6732632423543772848170429916717;
    const double SeluScale = 1.0507009873554804934193349852946;

    /// <summary>max(x, 0) elementwise (torch.relu, nn.ReLU). Keeps integer dtypes.</summary>
    public Tensor Relu()
    {
        var result = MathKernels.Numeric<ClampMinFamily>(this, 0, 0, "Relu");
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, "ReluBackward", [this], ReluBackward, null, result);
        return result;
    }

    /// <summary>
    /// The backward of <see cref="Relu"/> (saved: the output y): g·[0 &lt; y &lt; ∞], one fused pass (Kernels'
    /// ActivationKernels.ReluBackward, chunked over the thread pool) with the bits of multiplying by the 0/1 mask, which is
    /// what runs when the backward is itself recorded (double backward) or g is not a dense tensor of y's shape and dtype.
    /// </summary>
    static InputGrads ReluBackward(Node node, Tensor g)
    {
        var y = node.Saved(0);
        if (Autograd.IsGradEnabled || !g.IsContiguous || !y.IsContiguous || g.DType != y.DType || y.DType is not (DType.Float32 or DType.Float64)
            || !ShapeUtil.SameShape(g.shape, y.shape))
            return [g.Mul(MathKernels.Mask<OpenRangeMask>(y, 0, double.PositiveInfinity))];
        var gradInput = AllocUninit(y.DType, y.shape);
        if (y.DType == DType.Float32) ParallelChunks.ReluBackward<float>(y.Span<float>(), g.Span<float>(), gradInput.Span<float>());
        else ParallelChunks.ReluBackward<double>(y.Span<double>(), g.Span<double>(), gradInput.Span<double>());
        return [gradInput];
    }

    /// <summary>
    /// In-place relu (torch.relu_, nn.ReLU(inplace=True)). Like every in-place op here it refuses tensors that take part in
    /// the autograd graph; use it on tensors that do not require grad or under <see cref="Autograd.NoGrad"/>.
    /// </summary>
    public Tensor ReluInPlace()
    {
        CheckInPlace("ReluInPlace");
        if (DType == DType.Bool) throw new ArgumentException("ReluInPlace: bool tensors are not supported");
        MathKernels.NumericInPlace<ClampMinFamily>(this, 0, 0, "ReluInPlace");
        BumpVersion();
        return this;
    }

    /// <summary>x for x &gt; 0, negativeSlope·x otherwise (torch.nn.functional.leaky_relu, nn.LeakyReLU).</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01)
    {
        var result = MathKernels.Float<LeakyReluFamily>(this, negativeSlope, 0, "LeakyRelu");
        var self = this;
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, "LeakyReluBackward", [this], g => [g.Mul(MathKernels.Mask<PositiveSelect>(self, 1, negativeSlope))], this);
        return result;
    }

    /// <summary>x for x &gt; 0, alpha·(e^x - 1) otherwise (torch.nn.functional.elu, nn.ELU).</summary>
    public Tensor Elu(double alpha = 1.0)
    {
        var result = MathKernels.Float<EluFamily>(this, alpha, 0, "Elu");
        var self = this;
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, "EluBackward", [this], g =>
            {
                var positive = MathKernels.Mask<PositiveSelect>(self, 1, 0);
                var negative = MathKernels.Mask<PositiveSelect>(self, 0, 1);
                // derivative: 1 for x > 0, alpha·e^x otherwise (ClampMax keeps e^x finite where it is masked away)
                return [g.Mul(self.ClampMax(0).Exp().Mul(alpha).Mul(negative).Add(positive))];
            }, this);
        return result;
    }

    /// <summary>scale·elu(x, alpha) with the self-normalising constants (torch.nn.functional.selu, nn.SELU).</summary>
    public Tensor Selu() => Elu(SeluAlpha).Mul(SeluScale);

    /// <summary>
    /// Gaussian error linear unit x·Φ(x) (torch.nn.functional.gelu, nn.GELU). <paramref name="approximate"/> is "none"
    /// (exact, with erf) or "tanh" (½x(1 + tanh(√(2/π)(x + 0.044715x³)))).
    /// </summary>
    public Tensor Gelu(string approximate = "none")
    {
        bool tanh = approximate switch
        {
            "none" => false,
            "tanh" => true,
            _ => throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\"", nameof(approximate)),
        };
        var result = tanh ? Elementwise.Unary<GeluTanhFamily>(this, "Gelu") : Elementwise.Unary<GeluFamily>(this, "Gelu");
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            Autograd.Record(result, "GeluBackward", [this], g => [g.Mul(tanh ? self.GeluTanhDerivative() : self.NormalCdf().Add(self.Mul(self.NormalPdf())))], this);
        }
        return result;
    }

    Tensor GeluTanhDerivative()
    {
        var x2 = Mul(this);
        var t = x2.Mul(GeluCubic).Add(1).Mul(this).Mul(SqrtTwoOverPi).Tanh();
        // ½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3c·x²)
        var inner = x2.Mul(3 * GeluCubic).Add(1).Mul(SqrtTwoOverPi);
        return t.Add(1).Mul(0.5).Add(Mul(t.Mul(t).RSub(1)).Mul(inner).Mul(0.5));
    }

    /// <summary>x·σ(x), also called swish (torch.nn.functional.silu, nn.SiLU).</summary>
    public Tensor Silu()
    {
        var result = Elementwise.Unary<SiluFamily>(this, "Silu");
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            Autograd.Record(result, "SiluBackward", [this], g =>
            {
                // one fused pass unless this backward is itself recorded (double backward composes differentiable ops)
                if (!Autograd.ShouldRecord(g, self) && self.DType is DType.Float32 or DType.Float64 && g.DType == self.DType)
                    return [SiluBackwardFused(self, g)];
                var s = self.Sigmoid();
                return [g.Mul(s.Mul(self.Mul(s.RSub(1)).Add(1)))];   // σ(x)(1 + x(1 - σ(x)))
            }, this);
        }
        return result;
    }

    /// <summary>SiLU's input gradient g·σ(x)·(1 + x(1 − σ(x))) in one pass (Kernels' ActivationKernels.SiluBackward, chunked over the thread pool).</summary>
    static Tensor SiluBackwardFused(Tensor x, Tensor g)
    {
        var xd = AdjointOp.Dense(x); var gd = AdjointOp.Dense(g.shape.AsSpan().SequenceEqual(x.shape) ? g : g.Expand(x.shape));
        var gradInput = AllocUninit(x.DType, x.shape);
        if (x.DType == DType.Float32) ParallelChunks.SiluBackward<float>(xd.Span<float>(), gd.Span<float>(), gradInput.Span<float>());
        else ParallelChunks.SiluBackward<double>(xd.Span<double>(), gd.Span<double>(), gradInput.Span<double>());
        return gradInput;
    }

    /// <summary>
    /// log(1 + e^{βx})/β, reverting to x where βx &gt; threshold for numerical stability
    /// (torch.nn.functional.softplus, nn.Softplus).
    /// </summary>
    public Tensor Softplus(double beta = 1.0, double threshold = 20.0)
    {
        var result = MathKernels.Float<SoftplusFamily>(this, beta, threshold, "Softplus");
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            Autograd.Record(result, "SoftplusBackward", [this], g =>
            {
                var linear = MathKernels.Mask<ScaledAboveMask>(self, beta, threshold);
                return [g.Mul(self.Mul(beta).Sigmoid().Mul(linear.RSub(1)).Add(linear))];
            }, this);
        }
        return result;
    }

    /// <summary>
    /// Clamps to [minVal, maxVal] (torch.nn.functional.hardtanh, nn.Hardtanh). Unlike <see cref="Clamp"/>, the gradient is 0
    /// at the bounds themselves, as in PyTorch.
    /// </summary>
    public Tensor Hardtanh(double minVal = -1.0, double maxVal = 1.0)
    {
        if (minVal > maxVal) throw new ArgumentException($"Hardtanh: minVal ({minVal}) must not exceed maxVal ({maxVal})", nameof(minVal));
        var src = Elementwise.RequireFloat(this, "Hardtanh");
        var result = MathKernels.Numeric<ClampFamily>(src, minVal, maxVal, "Hardtanh");
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            Autograd.Record(result, "HardtanhBackward", [this], g => [g.Mul(MathKernels.Mask<OpenRangeMask>(self, minVal, maxVal))], this);
        }
        return result;
    }

    /// <summary>min(max(x, 0), 6) (torch.nn.functional.relu6, nn.ReLU6).</summary>
    public Tensor Relu6() => Hardtanh(0, 6);

    /// <summary>log σ(x), computed stably as -softplus(-x) (torch.nn.functional.logsigmoid, nn.LogSigmoid).</summary>
    public Tensor LogSigmoid() => Neg().Softplus().Neg();

    /// <summary>relu6(x + 3)/6 (torch.nn.functional.hardsigmoid, nn.Hardsigmoid).</summary>
    public Tensor Hardsigmoid() => Elementwise.RequireFloat(this, "Hardsigmoid").Add(3).Relu6().Div(6);

    /// <summary>x·relu6(x + 3)/6 (torch.nn.functional.hardswish, nn.Hardswish).</summary>
    public Tensor Hardswish() => Mul(Hardsigmoid());

    /// <summary>x·tanh(softplus(x)) (torch.nn.functional.mish, nn.Mish).</summary>
    public Tensor Mish() => Mul(Softplus().Tanh());
}
