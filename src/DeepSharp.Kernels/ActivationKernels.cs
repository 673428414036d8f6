using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// Fused activation gradients over contiguous spans: one pass where the composed backward (sigmoid, then four
/// elementwise ops, each a tensor) made six. The scalar tail computes the same expression as the vector body, and
/// <see cref="SiluBackwardReference{T}"/> is the plain formula the tests hold both against.
/// </summary>
public static class ActivationKernels
{
    /// <summary>
    /// SiLU's input gradient (torch.ops.aten.silu_backward): gradInput = g·σ(x)·(1 + x·(1 − σ(x))).
    /// <paramref name="gradInput"/> may not overlap the inputs; it is used as scratch for σ(x).
    /// </summary>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length;
        if (gradOutput.Length != n || gradInput.Length != n)
            throw new ArgumentException($"SiluBackward: x ({n}), gradOutput ({gradOutput.Length}) and gradInput ({gradInput.Length}) must have one length");
        TensorPrimitives.Sigmoid(x, gradInput);                            // σ(x), vectorised
        ref T xr = ref MemoryMarshal.GetReference(x), gr = ref MemoryMarshal.GetReference(gradOutput);
        ref T dr = ref MemoryMarshal.GetReference(gradInput);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var one = Vector<T>.One;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                var s = Vector.LoadUnsafe(ref dr, (nuint)i);
                var xv = Vector.LoadUnsafe(ref xr, (nuint)i);
                var gv = Vector.LoadUnsafe(ref gr, (nuint)i);
                (gv * (s * (one + xv * (one - s)))).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T s = gradInput[i];
            gradInput[i] = gradOutput[i] * (s * (T.One + x[i] * (T.One - s)));
        }
    }

    /// <summary>The definition <see cref="SiluBackward{T}"/> is tested against: σ from its formula, element by element.</summary>
    public static void SiluBackwardReference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
        {
            T s = T.One / (T.One + T.Exp(-x[i]));
            gradInput[i] = gradOutput[i] * (s * (T.One + x[i] * (T.One - s)));
        }
    }

    /// <summary>
    /// ReLU's input gradient from its output y (torch.ops.aten.threshold_backward): gradInput = g·m with m = 1 where
    /// 0 &lt; y &lt; +∞ and 0 elsewhere (NaN and +∞ included), a multiplication, so g·0 keeps its sign (−0 for negative g)
    /// and NaN in g stays NaN: the bits of multiplying g by a 0/1 mask tensor, in one pass instead of two.
    /// </summary>
    public static void ReluBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (gradOutput.Length != n || gradInput.Length != n)
            throw new ArgumentException($"ReluBackward: y ({n}), gradOutput ({gradOutput.Length}) and gradInput ({gradInput.Length}) must have one length");
        ref T yr = ref MemoryMarshal.GetReference(y), gr = ref MemoryMarshal.GetReference(gradOutput);
        ref T dr = ref MemoryMarshal.GetReference(gradInput);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var zero = Vector<T>.Zero; var infinity = new Vector<T>(T.PositiveInfinity); var one = Vector<T>.One;
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                var yv = Vector.LoadUnsafe(ref yr, (nuint)i);
                var mask = Vector.ConditionalSelect(Vector.BitwiseAnd(Vector.GreaterThan(yv, zero), Vector.LessThan(yv, infinity)), one, zero);
                (Vector.LoadUnsafe(ref gr, (nuint)i) * mask).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++) gradInput[i] = gradOutput[i] * (y[i] > T.Zero && y[i] < T.PositiveInfinity ? T.One : T.Zero);
    }

    /// <summary>The definition <see cref="ReluBackward{T}"/> is tested against, element by element.</summary>
    public static void ReluBackwardReference<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++)
        {
            T mask = y[i] > T.Zero && y[i] < T.PositiveInfinity ? T.One : T.Zero;
            gradInput[i] = gradOutput[i] * mask;
        }
    }
}
