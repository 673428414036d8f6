using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DeepSharp.Kernels;

namespace DeepSharp.Quantization;

/// <summary>Output parameters of a static quantized layer (torch.ao.nn.quantized modules' scale / zero_point).</summary>
public readonly record struct OutputQParams(float Scale, int ZeroPoint)
{
    /// <summary>From an observer's per-tensor result.</summary>
    public static OutputQParams From(QParams p) => new(p.Scale[0], (int)p.ZeroPoint[0]);
}

/// <summary>Helpers of the static quantized layers (the requantization itself is Int8Gemm.MultiplyRequantize's epilogue).</summary>
internal static class Requantize
{
    /// <summary>Quantized tensor of a float result with per-tensor quint8 parameters.</summary>
    public static QuantizedTensor Wrap(byte[] data, int[] shape, OutputQParams q) =>
        QuantizedTensor.FromRaw(data, shape, QuantDType.QUInt8, [q.Scale], [q.ZeroPoint]);

    public static void CheckActivation(QuantizedTensor x, string op, int rank)
    {
        if (x.DType != QuantDType.QUInt8 || x.Axis >= 0)
            throw new ArgumentException($"{op}: expected a per-tensor quint8 activation, got {x.DType} {(x.Axis >= 0 ? "per-channel" : "per-tensor")}", "input");
        if (rank > 0 && x.Shape.Count != rank)
            throw new ArgumentException($"{op}: expected a {rank}-D input, got shape ({string.Join(", ", x.Shape)})", "input");
    }
}

/// <summary>Byte layout transposes between NCHW and channels-last (NHWC), blocked so both sides stay in cache, one batch
/// image per <see cref="KernelThreadPool"/> task.</summary>
internal static class Layout
{
    /// <summary>(B, C, P) → (B, P, C).</summary>
    public static void ToChannelsLast(byte[] x, byte[] y, int b, int c, int plane) =>
        KernelThreadPool.ParallelFor(b, batch => Transpose(x, y, batch * c * plane, c, plane));

    /// <summary>(B, P, C) → (B, C, P).</summary>
    public static void ToChannelsFirst(byte[] x, byte[] y, int b, int c, int plane) =>
        KernelThreadPool.ParallelFor(b, batch => Transpose(x, y, batch * c * plane, plane, c));

    // y[offset + col·rows + row] = x[offset + row·cols + col] for a rows × cols block
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Transpose(byte[] x, byte[] y, int offset, int rows, int cols)
    {
        const int Block = 32;
        if ((long)offset + (long)rows * cols > Math.Min(x.Length, y.Length)) throw new ArgumentException("Layout: buffer too small");
        ref byte src = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(x), offset);
        ref byte dst = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(y), offset);
        for (int r0 = 0; r0 < rows; r0 += Block)
            for (int c0 = 0; c0 < cols; c0 += Block)
            {
                int re = Math.Min(rows, r0 + Block), ce = Math.Min(cols, c0 + Block);
                for (int col = c0; col < ce; col++)
                    for (int row = r0; row < re; row++) Unsafe.Add(ref dst, col * rows + row) = Unsafe.Add(ref src, row * cols + col);
            }
    }
}
