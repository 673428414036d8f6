using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>The quadrature of <see cref="IntegratedGradients"/> along the path (Captum's <c>method</c>).</summary>
public enum IntegrationMethod
{
    /// <summary>Gauss–Legendre nodes and weights mapped to [0, 1] (Captum "gausslegendre", its default).</summary>
    GaussLegendre,
    /// <summary>Captum "riemann_trapezoid": alphas linspace(0, 1, n), steps 1/n with the two end steps halved.</summary>
    RiemannTrapezoid,
    /// <summary>Captum "riemann_left": alphas linspace(0, 1 - 1/n, n), steps 1/n.</summary>
    RiemannLeft,
    /// <summary>Captum "riemann_right": alphas linspace(1/n, 1, n), steps 1/n.</summary>
    RiemannRight,
    /// <summary>Captum "riemann_middle": alphas linspace(1/(2n), 1 - 1/(2n), n), steps 1/n.</summary>
    RiemannMiddle,
}

/// <summary>Attributions with their convergence delta (Captum's return_convergence_delta=True).</summary>
/// <param name="Attributions">Attributions of the input's shape.</param>
/// <param name="Delta">Per example (N): sum of the attributions − (f(input) − f(baseline)); near 0 when the integral converged.</param>
public sealed record AttributionWithDelta(Tensor Attributions, Tensor Delta);

/// <summary>
/// Integrated Gradients (captum.attr.IntegratedGradients; Sundararajan et al. 2017): (input − baseline) times the
/// path integral of the gradient along the straight line from the baseline to the input, by quadrature over
/// <c>n_steps</c> points. By completeness the attributions sum to f(input) − f(baseline); the convergence delta
/// reports how far the quadrature is from it.
/// </summary>
public sealed class IntegratedGradients : IInputAttribution
{
    readonly Func<Tensor, Tensor> forward;

    /// <summary>Integrated gradients of <paramref name="forward"/> (Captum IntegratedGradients(forward_func)).</summary>
    public IntegratedGradients(Func<Tensor, Tensor> forward) => this.forward = forward ?? throw new ArgumentNullException(nameof(forward));

    /// <summary>Integrated gradients of a model (Captum IntegratedGradients(model)).</summary>
    public IntegratedGradients(Module<Tensor, Tensor> model) : this(AttributionCore.ForwardOf(model)) { }

    /// <summary>
    /// Attributions and convergence delta (Captum IntegratedGradients.attribute(inputs, baselines=None, target,
    /// n_steps=50, method="gausslegendre", internal_batch_size=None, return_convergence_delta=True)).
    /// <paramref name="baselines"/>: null for zeros, or a tensor broadcastable to the input. <paramref name="internalBatchSize"/>
    /// bounds how many scaled inputs go through the model at once (all of them when null).
    /// </summary>
    public AttributionWithDelta AttributeWithDelta(Tensor input, AttributionTarget target, Tensor? baselines = null, int steps = 50,
        IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null)
    {
        const string op = "IntegratedGradients";
        AttributionCore.CheckInput(input, op);
        var x = input.Detach();
        var baseline = Baseline(x, baselines, op);
        var (alphas, weights) = Quadrature(steps, method);
        int n = x.Shape[0];
        int perChunk = Math.Max(1, (internalBatchSize ?? steps * n) / n);
        if (internalBatchSize is < 1) throw new ArgumentException($"{op}: internalBatchSize must be positive, got {internalBatchSize}", nameof(internalBatchSize));
        var difference = x - baseline;
        Tensor? total = null;
        for (int start = 0; start < steps; start += perChunk)
        {
            int count = Math.Min(perChunk, steps - start);
            var scaled = new Tensor[count];
            for (int k = 0; k < count; k++) scaled[k] = baseline + difference * alphas[start + k];
            var grads = AttributionCore.InputGradient(forward, Tensor.Cat(scaled, 0), Repeat(target, n, count), op);
            for (int k = 0; k < count; k++)
            {
                var weighted = grads.Narrow(0, k * n, n) * weights[start + k];
                total = total == null ? weighted : total + weighted;
            }
        }
        var attributions = difference * total!;
        var delta = attributions.Reshape(n, -1).Sum(1)
            - (AttributionCore.Scores(forward, x, target, op) - AttributionCore.Scores(forward, baseline, target, op));
        return new AttributionWithDelta(attributions, delta);
    }

    /// <summary>Attributions only (Captum IntegratedGradients.attribute with its defaults: zero baseline, 50 Gauss–Legendre steps).</summary>
    public Tensor Attribute(Tensor input, AttributionTarget target) => AttributeWithDelta(input, target).Attributions;

    static Tensor Baseline(Tensor x, Tensor? baselines, string op)
    {
        if (baselines == null) return Tensor.ZerosLike(x);
        try { return baselines.Detach().To(x.DType).Expand([.. x.Shape]).Contiguous(); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException($"{op}: baselines of shape ({string.Join(", ", baselines.Shape)}) do not broadcast to the input's ({string.Join(", ", x.Shape)})", nameof(baselines), e);
        }
    }

    /// <summary>The target of a batch of <paramref name="count"/> stacked copies of <paramref name="n"/> examples.</summary>
    static AttributionTarget Repeat(AttributionTarget target, int n, int count)
    {
        var t = new int[n * count];
        for (int i = 0; i < t.Length; i++) t[i] = target[i % n];
        return t;
    }

    /// <summary>The points in [0, 1] and their weights (Captum approximation_parameters(method)(n)).</summary>
    public static (double[] Alphas, double[] Weights) Quadrature(int steps, IntegrationMethod method)
    {
        if (method == IntegrationMethod.GaussLegendre)
        {
            if (steps < 1) throw new ArgumentException($"IntegratedGradients: steps (n_steps) must be at least 1, got {steps}", nameof(steps));
            var (nodes, w) = GaussLegendre(steps);
            return (nodes.Select(v => 0.5 * (1 + v)).ToArray(), w.Select(v => 0.5 * v).ToArray());
        }
        if (steps < 2) throw new ArgumentException($"IntegratedGradients: steps (n_steps) must be at least 2 for {method}, got {steps}", nameof(steps));
        var weights = Enumerable.Repeat(1.0 / steps, steps).ToArray();
        if (method == IntegrationMethod.RiemannTrapezoid) { weights[0] /= 2; weights[^1] /= 2; }
        var (from, to) = method switch
        {
            IntegrationMethod.RiemannTrapezoid => (0.0, 1.0),
            IntegrationMethod.RiemannLeft => (0.0, 1 - 1.0 / steps),
            IntegrationMethod.RiemannRight => (1.0 / steps, 1.0),
            IntegrationMethod.RiemannMiddle => (1.0 / (2 * steps), 1 - 1.0 / (2 * steps)),
            _ => throw new ArgumentException($"IntegratedGradients: unknown method {method}", nameof(method)),
        };
        var alphas = new double[steps];
        for (int i = 0; i < steps; i++) alphas[i] = from + (to - from) * i / (steps - 1);
        return (alphas, weights);
    }

    /// <summary>
    /// Gauss–Legendre nodes on [−1, 1] in ascending order and their weights (numpy.polynomial.legendre.leggauss): the
    /// roots of P_n by Newton's method from Chebyshev-like starting points, weights 2 / ((1 − x²) P_n'(x)²).
    /// </summary>
    public static (double[] Nodes, double[] Weights) GaussLegendre(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        for (int i = 0; i < n; i++)
        {
            double x = -Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)), derivative = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                (double p, derivative) = Legendre(n, x);
                double dx = p / derivative;
                x -= dx;
                if (Math.Abs(dx) < 1e-16) break;
            }
            (_, derivative) = Legendre(n, x);
            nodes[i] = x;
            weights[i] = 2 / ((1 - x * x) * derivative * derivative);
        }
        return (nodes, weights);
    }

    /// <summary>P_n(x) and P_n'(x) by Bonnet's recurrence (k+1) P_{k+1} = (2k+1) x P_k − k P_{k−1}.</summary>
    static (double Value, double Derivative) Legendre(int n, double x)
    {
        double previous = 1, current = x;
        if (n == 0) return (1, 0);
        for (int k = 1; k < n; k++)
        {
            double next = ((2 * k + 1) * x * current - k * previous) / (k + 1);
            previous = current;
            current = next;
        }
        return (current, n * (x * current - previous) / (x * x - 1));
    }
}
