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
}
