using MathNet.Numerics.LinearAlgebra;

namespace DeepSharp.Generative.Metrics;

/// <summary>The mean and covariance of a set of feature vectors (a Gaussian fitted to them).</summary>
public sealed class FeatureStatistics
{
    /// <summary>Wraps a mean (D) and a D×D covariance.</summary>
    public FeatureStatistics(double[] mean, double[,] covariance, int count)
    {
        ArgumentNullException.ThrowIfNull(mean); ArgumentNullException.ThrowIfNull(covariance);
        if (covariance.GetLength(0) != mean.Length || covariance.GetLength(1) != mean.Length)
            throw new ArgumentException($"FeatureStatistics: a mean of {mean.Length} needs a {mean.Length}×{mean.Length} covariance, got {covariance.GetLength(0)}×{covariance.GetLength(1)}", nameof(covariance));
        Mean = mean; Covariance = covariance; Count = count;
    }

    /// <summary>The mean feature vector.</summary>
    public double[] Mean { get; }
    /// <summary>The unbiased covariance (divided by N − 1: numpy.cov(features, rowvar=False)).</summary>
    public double[,] Covariance { get; }
    /// <summary>How many feature vectors they summarise.</summary>
    public int Count { get; }
    /// <summary>Feature width D.</summary>
    public int Dimension => Mean.Length;

    /// <summary>Statistics of <paramref name="features"/> (N, D), N ≥ 2, computed in float64.</summary>
    public static FeatureStatistics FromFeatures(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 2 || features.Shape[0] < 2)
            throw new ArgumentException($"FeatureStatistics: features must be (N ≥ 2, D), got ({string.Join(", ", features.Shape)})", nameof(features));
        int n = features.Shape[0], d = features.Shape[1];
        var x = Matrix<double>.Build.DenseOfColumnMajor(d, n, features.Detach().To(DType.Float64).Contiguous().ToArray<double>()); // (D, N)
        var mean = x.RowSums() / n;
        var centered = x - Matrix<double>.Build.Dense(d, n, (i, _) => mean[i]);
        var covariance = centered * centered.Transpose() / (n - 1);
        return new FeatureStatistics(mean.ToArray(), covariance.ToArray(), n);
    }
}

/// <summary>
/// The Fréchet distance between two Gaussians (Dowson and Landau 1982), the distance behind FID (Heusel et al. 2017):
/// d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2·tr (Σ₁Σ₂)^½. The trace of the square root is taken on the symmetric form
/// tr (Σ₁^½ Σ₂ Σ₁^½)^½ (the same eigenvalues as Σ₁Σ₂, but a symmetric positive semi-definite matrix), so both square roots
/// are eigendecompositions of symmetric matrices (MathNet.Numerics' tridiagonal QL), exact up to rounding, with round-off
/// negative eigenvalues clipped to 0; no iterative Schur/Newton square root and no complex parts to discard
/// (pytorch-fid uses scipy.linalg.sqrtm).
/// </summary>
public static class FrechetDistance
{
    /// <summary>The squared Fréchet distance between the Gaussians of <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static double Compute(FeatureStatistics a, FeatureStatistics b)
    {
        ArgumentNullException.ThrowIfNull(a); ArgumentNullException.ThrowIfNull(b);
        if (a.Dimension != b.Dimension) throw new ArgumentException($"FrechetDistance: feature widths differ ({a.Dimension} vs {b.Dimension})", nameof(b));
        var s1 = Matrix<double>.Build.DenseOfArray(a.Covariance);
        var s2 = Matrix<double>.Build.DenseOfArray(b.Covariance);
        var diff = Vector<double>.Build.DenseOfArray(a.Mean) - Vector<double>.Build.DenseOfArray(b.Mean);
        var root1 = SymmetricSquareRoot(s1);
        var middle = root1 * s2 * root1;
        double traceOfRoot = SymmetricEigenvalues(middle).Sum(l => Math.Sqrt(Math.Max(l, 0)));
        return diff.DotProduct(diff) + s1.Trace() + s2.Trace() - 2 * traceOfRoot;
    }

    /// <summary>
    /// The principal square root of a symmetric positive semi-definite matrix: V·diag(√max(λ, 0))·Vᵀ from its
    /// eigendecomposition (scipy.linalg.sqrtm for such matrices). The input is symmetrised first, (S + Sᵀ)/2.
    /// </summary>
    public static double[,] SquareRoot(double[,] symmetric)
    {
        ArgumentNullException.ThrowIfNull(symmetric);
        if (symmetric.GetLength(0) != symmetric.GetLength(1))
            throw new ArgumentException($"FrechetDistance.SquareRoot: the matrix must be square, got {symmetric.GetLength(0)}×{symmetric.GetLength(1)}", nameof(symmetric));
        return SymmetricSquareRoot(Matrix<double>.Build.DenseOfArray(symmetric)).ToArray();
    }

    static Matrix<double> SymmetricSquareRoot(Matrix<double> s)
    {
        var evd = Symmetrize(s).Evd(Symmetricity.Symmetric);
        var roots = evd.EigenValues.Map(l => Math.Sqrt(Math.Max(l.Real, 0)));
        return evd.EigenVectors * Matrix<double>.Build.DiagonalOfDiagonalVector(roots) * evd.EigenVectors.Transpose();
    }

    static IEnumerable<double> SymmetricEigenvalues(Matrix<double> s) => Symmetrize(s).Evd(Symmetricity.Symmetric).EigenValues.Select(l => l.Real);

    static Matrix<double> Symmetrize(Matrix<double> s) => (s + s.Transpose()) * 0.5;
}
