using System.Runtime.Intrinsics;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// The 8×8 inverse and forward DCT of JPEG (T.81 A.3.3), in single precision as two separable passes of eight 8-wide vector
/// multiply-adds: f(y, x) = Σᵤ Σᵥ C(u, y) C(v, x) F(u, v) with C(u, x) = c(u)/2 · cos((2x + 1)uπ/16), c(0) = 1/√2.
/// Float arithmetic keeps every output within rounding of the exact transform (the scalar double-precision
/// <see cref="InverseReference"/> is what the tests hold it against), so against libjpeg's integer "islow" IDCT the
/// samples differ by at most 1 where the exact value sits near a rounding boundary.
/// </summary>
internal static class JpegIdct
{
    /// <summary>Basis[u * 8 + x] = C(u, x).</summary>
    static readonly float[] Basis = BuildBasis();

    static float[] BuildBasis()
    {
        var b = new float[64];
        for (int u = 0; u < 8; u++)
            for (int x = 0; x < 8; x++)
                b[u * 8 + x] = (float)((u == 0 ? Math.Sqrt(0.5) : 1.0) / 2 * Math.Cos((2 * x + 1) * u * Math.PI / 16));
        return b;
    }

    /// <summary>
    /// Dequantizes <paramref name="coefficients"/> (64, natural row-major order) with <paramref name="quant"/>, inverse
    /// transforms them, adds 128 and writes the 8×8 samples, rounded and clamped to [0, 255], at <paramref name="output"/>
    /// with row stride <paramref name="stride"/>.
    /// </summary>
    public static void Inverse(ReadOnlySpan<short> coefficients, ReadOnlySpan<ushort> quant, Span<byte> output, int stride)
    {
        // a block with only a DC coefficient (the common case in smooth areas) is flat: F(0,0)/8 everywhere
        var acOr = Vector256.Create<short>(coefficients).WithElement(0, (short)0) | Vector256.Create<short>(coefficients[16..])
            | Vector256.Create<short>(coefficients[32..]) | Vector256.Create<short>(coefficients[48..]);
        if (acOr == Vector256<short>.Zero)
        {
            int flat = (int)Math.Clamp(MathF.Round(coefficients[0] * quant[0] / 8f + 128f, MidpointRounding.AwayFromZero), 0f, 255f);
            for (int y = 0; y < 8; y++) output.Slice(y * stride, 8).Fill((byte)flat);
            return;
        }
        Span<Vector256<float>> rows = stackalloc Vector256<float>[8];
        ReadOnlySpan<float> basis = Basis;
        // rows: G(u, ·) = Σᵥ F(u, v) C(v, ·)
        for (int u = 0; u < 8; u++)
        {
            var sum = Vector256<float>.Zero;
            for (int v = 0; v < 8; v++)
            {
                int c = coefficients[u * 8 + v];
                if (c != 0) sum += Vector256.Create((float)(c * quant[u * 8 + v])) * Vector256.Create(basis.Slice(v * 8, 8));
            }
            rows[u] = sum;
        }
        // columns: f(y, ·) = Σᵤ C(u, y) G(u, ·), then level shift, round, clamp, narrow to bytes
        var half = Vector256.Create(128.5f);
        var top = Vector256.Create(255.5f);
        for (int y = 0; y < 8; y++)
        {
            var sum = half;
            for (int u = 0; u < 8; u++) sum += rows[u] * Vector256.Create(basis[u * 8 + y]);
            var clamped = Vector256.Min(Vector256.Max(sum, Vector256<float>.Zero), top);
            var ints = Vector256.ConvertToInt32(clamped);   // truncation of a non-negative value: floor
            var row = output.Slice(y * stride, 8);
            for (int x = 0; x < 8; x++) row[x] = (byte)ints.GetElement(x);
        }
    }

    /// <summary>
    /// The forward DCT of 8×8 level-shifted samples (T.81 A.3.3): F(u, v) = Σ_y Σ_x C(u, y) C(v, x) s(y, x), into
    /// <paramref name="result"/> (64 floats, natural order), for the encoder.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> samples, Span<float> result)
    {
        ReadOnlySpan<float> basis = Basis;
        Span<Vector256<float>> rows = stackalloc Vector256<float>[8];
        // rows: H(y, ·) = Σ_x s(y, x) C(·, x), as a vector over v
        Span<float> transposed = stackalloc float[64];   // transposed[x * 8 + v] = C(v, x)
        for (int v = 0; v < 8; v++)
            for (int x = 0; x < 8; x++) transposed[x * 8 + v] = basis[v * 8 + x];
        for (int y = 0; y < 8; y++)
        {
            var sum = Vector256<float>.Zero;
            for (int x = 0; x < 8; x++) sum += Vector256.Create(samples[y * 8 + x]) * Vector256.Create(transposed.Slice(x * 8, 8));
            rows[y] = sum;
        }
        for (int u = 0; u < 8; u++)
        {
            var sum = Vector256<float>.Zero;
            for (int y = 0; y < 8; y++) sum += rows[y] * Vector256.Create(basis[u * 8 + y]);
            sum.CopyTo(result.Slice(u * 8, 8));
        }
    }

    /// <summary>The inverse DCT by its definition in double precision, rounded and clamped: the reference for the tests.</summary>
    public static void InverseReference(ReadOnlySpan<short> coefficients, ReadOnlySpan<ushort> quant, Span<byte> output, int stride)
    {
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
            {
                double s = 0;
                for (int u = 0; u < 8; u++)
                    for (int v = 0; v < 8; v++)
                    {
                        double cu = u == 0 ? Math.Sqrt(0.5) : 1, cv = v == 0 ? Math.Sqrt(0.5) : 1;
                        s += cu * cv / 4 * coefficients[u * 8 + v] * quant[u * 8 + v]
                             * Math.Cos((2 * y + 1) * u * Math.PI / 16) * Math.Cos((2 * x + 1) * v * Math.PI / 16);
                    }
                output[y * stride + x] = (byte)Math.Clamp(Math.Floor(s + 128.5), 0, 255);
            }
    }
}
