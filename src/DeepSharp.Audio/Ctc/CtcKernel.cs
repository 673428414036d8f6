namespace DeepSharp.Audio;

/// <summary>The per-sample CTC forward-backward recursion in log space (PyTorch's ctc_loss CPU kernel, same gradient).</summary>
internal static class CtcKernel
{
    static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        return Math.Max(a, b) + double.LogP1(Math.Exp(-Math.Abs(a - b)));
    }

    /// <summary>Returns the sample's negative log-likelihood and writes its gradient rows into <paramref name="grad"/> ((T, N, C) layout).</summary>
    public static double Sample(double[] lp, double[] grad, int b, int n, int classes, int length, int[] target, int blank, bool zeroInfinity)
    {
        int s = 2 * target.Length + 1;
        int Label(int i) => i % 2 == 0 ? blank : target[i / 2];
        double Lp(int t, int c) => lp[(t * n + b) * classes + c];
        var alpha = new double[Math.Max(length, 1) * s];
        var beta = new double[Math.Max(length, 1) * s];
        Array.Fill(alpha, double.NegativeInfinity); Array.Fill(beta, double.NegativeInfinity);
        bool Skip(int i) => i >= 2 && i % 2 == 1 && Label(i) != Label(i - 2);
        double nll;
        if (length == 0) nll = target.Length == 0 ? 0 : double.PositiveInfinity;
        else
        {
            alpha[0] = Lp(0, blank);
            if (s > 1) alpha[1] = Lp(0, target[0]);
            for (int t = 1; t < length; t++)
                for (int i = 0; i < s; i++)
                {
                    double a = alpha[(t - 1) * s + i];
                    if (i >= 1) a = LogAdd(a, alpha[(t - 1) * s + i - 1]);
                    if (Skip(i)) a = LogAdd(a, alpha[(t - 1) * s + i - 2]);
                    alpha[t * s + i] = double.IsNegativeInfinity(a) ? a : a + Lp(t, Label(i));
                }
            int last = (length - 1) * s;
            nll = -LogAdd(alpha[last + s - 1], s > 1 ? alpha[last + s - 2] : double.NegativeInfinity);
        }
        bool infinite = double.IsPositiveInfinity(nll);
        if (infinite && zeroInfinity) return 0;   // loss and gradient 0
        if (length == 0) return nll;
        // beta: suffix log-probabilities including the emission at t
        int lastRow = (length - 1) * s;
        beta[lastRow + s - 1] = Lp(length - 1, blank);
        if (s > 1) beta[lastRow + s - 2] = Lp(length - 1, target[^1]);
        for (int t = length - 2; t >= 0; t--)
            for (int i = 0; i < s; i++)
            {
                double v = beta[(t + 1) * s + i];
                if (i + 1 < s) v = LogAdd(v, beta[(t + 1) * s + i + 1]);
                if (i + 2 < s && Skip(i + 2)) v = LogAdd(v, beta[(t + 1) * s + i + 2]);
                beta[t * s + i] = double.IsNegativeInfinity(v) ? v : v + Lp(t, Label(i));
            }
        var logPosterior = new double[classes];
        for (int t = 0; t < length; t++)
        {
            Array.Fill(logPosterior, double.NegativeInfinity);
            for (int i = 0; i < s; i++) logPosterior[Label(i)] = LogAdd(logPosterior[Label(i)], alpha[t * s + i] + beta[t * s + i]);
            for (int c = 0; c < classes; c++)
            {
                double l = Lp(t, c);
                // PyTorch: exp(lp) − exp(log(αβ) + nll − lp); with an infinite nll this gives NaN as PyTorch does
                grad[(t * n + b) * classes + c] = Math.Exp(l) - Math.Exp(logPosterior[c] + nll - l);
            }
        }
        return nll;
    }
}
