using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// Fused optimizer updates over one parameter's contiguous storage: each walks the parameter, its gradient and
/// its state buffers once, with Vector&lt;T&gt; lanes and a scalar tail that computes exactly the same expressions
/// (so the tail is the reference the vector body is tested against). No allocation. Formulas follow PyTorch 1.13's
/// torch/optim/*.py (_single_tensor_* functions), term by term.
/// </summary>
public static class OptimKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<T> Load(ReadOnlySpan<T> s, int i) => Vector.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(Vector<T> v, Span<T> s, int i) => v.StoreUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i);

    static int VectorEnd(int n) => Vector.IsHardwareAccelerated ? n - n % Vector<T>.Count : 0;

    /// <summary>torch.optim.SGD: d = g (+ wd·p); buf = first ? d : momentum·buf + (1 − dampening)·d; d = nesterov ? d + momentum·buf : buf; p −= lr·d.</summary>
    public static void Sgd(Span<T> param, ReadOnlySpan<T> grad, Span<T> buf, bool firstStep, T lr, T weightDecay,
        T momentum, T oneMinusDampening, bool nesterov, bool maximize)
    {
        bool hasWd = weightDecay != T.Zero, hasMomentum = momentum != T.Zero;
        T negLr = -lr;
        int n = param.Length, end = VectorEnd(n), i = 0;
        if (end > 0)
        {
            Vector<T> vNegLr = new(negLr), vWd = new(weightDecay), vMom = new(momentum), vDamp = new(oneMinusDampening);
            for (; i < end; i += Vector<T>.Count)
            {
                var p = Load(param, i);
                var g = Load(grad, i);
                if (maximize) g = -g;
                if (hasWd) g += vWd * p;
                if (hasMomentum)
                {
                    var b = firstStep ? g : Load(buf, i) * vMom + vDamp * g;
                    Store(b, buf, i);
                    g = nesterov ? g + vMom * b : b;
                }
                Store(p + vNegLr * g, param, i);
            }
        }
        for (; i < n; i++)
        {
            T p = param[i], g = grad[i];
            if (maximize) g = -g;
            if (hasWd) g += weightDecay * p;
            if (hasMomentum)
            {
                T b = firstStep ? g : buf[i] * momentum + oneMinusDampening * g;
                buf[i] = b;
                g = nesterov ? g + momentum * b : b;
            }
            param[i] = p + negLr * g;
        }
    }

    /// <summary>
    /// torch.optim.Adam / AdamW: (AdamW: p ·= 1 − lr·wd; Adam: g += wd·p); m = β1·m + (1 − β1)·g;
    /// v = β2·v + (1 − β2)·g²; (amsgrad: vmax = max(vmax, v), use vmax); p += −stepSize · m / (√v / √bc2 + eps).
    /// </summary>
    public static void Adam(Span<T> param, ReadOnlySpan<T> grad, Span<T> expAvg, Span<T> expAvgSq, Span<T> maxExpAvgSq,
        T beta1, T beta2, T weightDecay, T decoupledDecay, T eps, T negStepSize, T biasCorrection2Sqrt,
        bool decoupled, bool amsgrad, bool maximize)
    {
        bool hasWd = !decoupled && weightDecay != T.Zero;
        T oneMinusB1 = T.One - beta1, oneMinusB2 = T.One - beta2;
        int n = param.Length, end = VectorEnd(n), i = 0;
        if (end > 0)
        {
            Vector<T> vB1 = new(beta1), vB2 = new(beta2), v1B1 = new(oneMinusB1), v1B2 = new(oneMinusB2), vWd = new(weightDecay),
                vDecay = new(decoupledDecay), vEps = new(eps), vStep = new(negStepSize), vBc2 = new(biasCorrection2Sqrt);
            for (; i < end; i += Vector<T>.Count)
            {
                var p = Load(param, i);
                var g = Load(grad, i);
                if (maximize) g = -g;
                if (decoupled) p *= vDecay;
                else if (hasWd) g += vWd * p;
                var m = Load(expAvg, i) * vB1 + v1B1 * g;
                var v = Load(expAvgSq, i) * vB2 + v1B2 * g * g;
                Store(m, expAvg, i);
                Store(v, expAvgSq, i);
                if (amsgrad) { v = Vector.Max(Load(maxExpAvgSq, i), v); Store(v, maxExpAvgSq, i); }
                var denom = Vector.SquareRoot(v) / vBc2 + vEps;
                Store(p + vStep * (m / denom), param, i);
            }
        }
        for (; i < n; i++)
        {
            T p = param[i], g = grad[i];
            if (maximize) g = -g;
            if (decoupled) p *= decoupledDecay;
            else if (hasWd) g += weightDecay * p;
            T m = expAvg[i] * beta1 + oneMinusB1 * g;
            T v = expAvgSq[i] * beta2 + oneMinusB2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            if (amsgrad) { v = T.Max(maxExpAvgSq[i], v); maxExpAvgSq[i] = v; }
            T denom = T.Sqrt(v) / biasCorrection2Sqrt + eps;
            param[i] = p + negStepSize * (m / denom);
        }
    }

    /// <summary>torch.optim.Adagrad: g += wd·p; sum += g²; p += −clr · g / (√sum + eps).</summary>
    public static void Adagrad(Span<T> param, ReadOnlySpan<T> grad, Span<T> sum, T weightDecay, T eps, T negClr, bool maximize)
    {
        bool hasWd = weightDecay != T.Zero;
        int n = param.Length, end = VectorEnd(n), i = 0;
        if (end > 0)
        {
            Vector<T> vWd = new(weightDecay), vEps = new(eps), vClr = new(negClr);
            for (; i < end; i += Vector<T>.Count)
            {
                var p = Load(param, i);
                var g = Load(grad, i);
                if (maximize) g = -g;
                if (hasWd) g += vWd * p;
                var s = Load(sum, i) + g * g;
                Store(s, sum, i);
                Store(p + vClr * (g / (Vector.SquareRoot(s) + vEps)), param, i);
            }
        }
        for (; i < n; i++)
        {
            T p = param[i], g = grad[i];
            if (maximize) g = -g;
            if (hasWd) g += weightDecay * p;
            T s = sum[i] + g * g;
            sum[i] = s;
            param[i] = p + negClr * (g / (T.Sqrt(s) + eps));
        }
    }

    /// <summary>
    /// torch.optim.RMSprop: g += wd·p; sq = α·sq + (1 − α)·g²; centered: ga = α·ga + (1 − α)·g, avg = √(sq − ga²), else
    /// avg = √sq; avg += eps; momentum: buf = momentum·buf + g/avg, p −= lr·buf; else p −= lr·g/avg.
    /// </summary>
    public static void RmsProp(Span<T> param, ReadOnlySpan<T> grad, Span<T> squareAvg, Span<T> gradAvg, Span<T> momentumBuffer,
        T alpha, T eps, T weightDecay, T momentum, T negLr, bool centered, bool maximize)
    {
        bool hasWd = weightDecay != T.Zero, hasMomentum = momentum > T.Zero;
        T oneMinusAlpha = T.One - alpha;
        int n = param.Length, end = VectorEnd(n), i = 0;
        if (end > 0)
        {
            Vector<T> vAlpha = new(alpha), v1A = new(oneMinusAlpha), vEps = new(eps), vWd = new(weightDecay), vMom = new(momentum), vLr = new(negLr);
            for (; i < end; i += Vector<T>.Count)
            {
                var p = Load(param, i);
                var g = Load(grad, i);
                if (maximize) g = -g;
                if (hasWd) g += vWd * p;
                var sq = Load(squareAvg, i) * vAlpha + v1A * g * g;
                Store(sq, squareAvg, i);
                Vector<T> avg;
                if (centered)
                {
                    var ga = Load(gradAvg, i) * vAlpha + v1A * g;
                    Store(ga, gradAvg, i);
                    avg = Vector.SquareRoot(sq - ga * ga);
                }
                else avg = Vector.SquareRoot(sq);
                avg += vEps;
                if (hasMomentum)
                {
                    var b = Load(momentumBuffer, i) * vMom + g / avg;
                    Store(b, momentumBuffer, i);
                    Store(p + vLr * b, param, i);
                }
                else Store(p + vLr * (g / avg), param, i);
            }
        }
        for (; i < n; i++)
        {
            T p = param[i], g = grad[i];
            if (maximize) g = -g;
            if (hasWd) g += weightDecay * p;
            T sq = squareAvg[i] * alpha + oneMinusAlpha * g * g;
            squareAvg[i] = sq;
            T avg;
            if (centered)
            {
                T ga = gradAvg[i] * alpha + oneMinusAlpha * g;
                gradAvg[i] = ga;
                avg = T.Sqrt(sq - ga * ga);
            }
            else avg = T.Sqrt(sq);
            avg += eps;
            if (hasMomentum)
            {
                T b = momentumBuffer[i] * momentum + g / avg;
                momentumBuffer[i] = b;
                param[i] = p + negLr * b;
            }
            else param[i] = p + negLr * (g / avg);
        }
    }

    /// <summary>
    /// torch.optim.Adadelta: g += wd·p; sq = ρ·sq + (1 − ρ)·g²; delta = √(acc + eps) / √(sq + eps) · g;
    /// acc = ρ·acc + (1 − ρ)·delta²; p −= lr·delta.
    /// </summary>
    public static void Adadelta(Span<T> param, ReadOnlySpan<T> grad, Span<T> squareAvg, Span<T> accDelta,
        T rho, T eps, T weightDecay, T negLr, bool maximize)
    {
        bool hasWd = weightDecay != T.Zero;
        T oneMinusRho = T.One - rho;
        int n = param.Length, end = VectorEnd(n), i = 0;
        if (end > 0)
        {
            Vector<T> vRho = new(rho), v1R = new(oneMinusRho), vEps = new(eps), vWd = new(weightDecay), vLr = new(negLr);
            for (; i < end; i += Vector<T>.Count)
            {
                var p = Load(param, i);
                var g = Load(grad, i);
                if (maximize) g = -g;
                if (hasWd) g += vWd * p;
                var sq = Load(squareAvg, i) * vRho + v1R * g * g;
                Store(sq, squareAvg, i);
                var acc = Load(accDelta, i);
                var delta = Vector.SquareRoot(acc + vEps) / Vector.SquareRoot(sq + vEps) * g;
                Store(acc * vRho + v1R * delta * delta, accDelta, i);
                Store(p + vLr * delta, param, i);
            }
        }
        for (; i < n; i++)
        {
            T p = param[i], g = grad[i];
            if (maximize) g = -g;
            if (hasWd) g += weightDecay * p;
            T sq = squareAvg[i] * rho + oneMinusRho * g * g;
            squareAvg[i] = sq;
            T acc = accDelta[i];
            T delta = T.Sqrt(acc + eps) / T.Sqrt(sq + eps) * g;
            accDelta[i] = acc * rho + oneMinusRho * delta * delta;
            param[i] = p + negLr * delta;
        }
    }
}
