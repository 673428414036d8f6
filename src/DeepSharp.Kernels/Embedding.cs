using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp.Kernels;

/// <summary>Row gather and scatter-add for embedding lookups (torch.nn.functional.embedding and its backward).</summary>
public static class Embedding
{
    /// <summary>
    /// Returns the position of the first index outside [0, <paramref name="vocabulary"/>), or -1 when all are valid.
    /// </summary>
    public static int FindInvalid(ReadOnlySpan<long> indices, int vocabulary)
    {
        for (int i = 0; i < indices.Length; i++) if ((ulong)indices[i] >= (ulong)vocabulary) return i;
        return -1;
    }

    /// <summary>output row i = weight row indices[i]; rows have <paramref name="dim"/> elements. Indices must be valid.</summary>
    public static void Gather<T>(ReadOnlySpan<long> indices, ReadOnlySpan<T> weight, int dim, Span<T> output) where T : unmanaged
    {
        for (int i = 0; i < indices.Length; i++)
            weight.Slice((int)indices[i] * dim, dim).CopyTo(output.Slice(i * dim, dim));
    }

    /// <summary>
    /// gradWeight row indices[i] += gradOutput row i, skipping rows whose index is <paramref name="paddingIndex"/> (pass -1 for none).
    /// <paramref name="gradWeight"/> is accumulated into, not cleared.
    /// </summary>
    public static void ScatterAdd<T>(ReadOnlySpan<long> indices, ReadOnlySpan<T> gradOutput, int dim, long paddingIndex, Span<T> gradWeight)
        where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < indices.Length; i++)
        {
            if (indices[i] == paddingIndex) continue;
            var row = gradWeight.Slice((int)indices[i] * dim, dim);
            TensorPrimitives.Add(row, gradOutput.Slice(i * dim, dim), row);
        }
    }
}
