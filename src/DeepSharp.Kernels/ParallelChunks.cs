using System.Numerics;

namespace DeepSharp.Kernels;

/// <summary>Body of a <see cref="ParallelChunks.For{TBody}(int, ref TBody)"/> loop: processes elements [start, start + length).</summary>
public interface IChunkBody
{
    /// <summary>Processes the elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>).</summary>
    void Invoke(int start, int length);
}

/// <summary>
/// Splits a long elementwise pass into fixed chunks of <see cref="ChunkLength"/> elements and runs them on the
/// <see cref="KernelThreadPool"/>; a pass shorter than <see cref="MinParallelLength"/>, or a pool of one thread,
/// runs as one serial call. Only for kernels whose every output element is a function of the same-index inputs
/// (no reduction across elements), so the result is bitwise the same however the pass is split.
/// PyTorch equivalent: <c>at::parallel_for</c> with a grain size, as its TensorIterator loops use.
/// </summary>
public static class ParallelChunks
{
    /// <summary>Elements per chunk (a multiple of every SIMD width; the last chunk also takes the remainder).</summary>
    public const int ChunkLength = 16384;

    /// <summary>Passes shorter than this run serially: a fork/join would cost more than it saves.</summary>
    public const int MinParallelLength = 2 * ChunkLength;

    /// <summary>Runs <c>body.Invoke(start, length)</c> over [0, <paramref name="length"/>) in chunks, in parallel when long enough.</summary>
    public static void For<TBody>(int length, ref TBody body) where TBody : struct, IChunkBody
    {
        if (length <= 0) return;
        if (length < MinParallelLength || KernelThreadPool.ThreadCount == 1) { body.Invoke(0, length); return; }
        var chunks = new Chunks<TBody>(body, length);
        KernelThreadPool.ParallelFor(length / ChunkLength, ref chunks);
    }

    /// <summary>
    /// Runs <c>body.Invoke(start, length)</c> over [0, <paramref name="count"/>) in equal shares (at most four per pool
    /// thread, lengths differing by at most one) on the <see cref="KernelThreadPool"/>; one serial call when there is a
    /// single share or thread. For loops over whole items (rows, planes, output elements) whose every result is a
    /// function of its own item, so the split changes no bit; the caller decides whether the work is large enough.
    /// </summary>
    public static void Shares<TBody>(int count, ref TBody body) where TBody : struct, IChunkBody
    {
        if (count <= 0) return;
        int parts = Math.Min(count, 4 * KernelThreadPool.ThreadCount);
        if (parts < 2) { body.Invoke(0, count); return; }
        var split = new EqualShares<TBody>(body, count, parts);
        KernelThreadPool.ParallelFor(parts, ref split);
    }

    readonly struct EqualShares<TBody>(TBody body, int count, int parts) : IParallelBody where TBody : struct, IChunkBody
    {
        readonly TBody body = body;
        public void Invoke(int index)
        {
            int first = (int)((long)count * index / parts), end = (int)((long)count * (index + 1) / parts);
            body.Invoke(first, end - first);
        }
    }

    // The last chunk takes the remainder too, so no chunk is shorter than ChunkLength: a short chunk could take a
    // kernel's scalar fallback where the whole pass took its vector path.
    readonly struct Chunks<TBody>(TBody body, int length) : IParallelBody where TBody : struct, IChunkBody
    {
        readonly TBody body = body;
        public void Invoke(int index)
        {
            int start = index * ChunkLength;
            body.Invoke(start, index == length / ChunkLength - 1 ? length - start : ChunkLength);
        }
    }

    /// <summary>
    /// <see cref="ActivationKernels.SiluBackward{T}"/> split into chunks over the kernel thread pool
    /// (torch.ops.aten.silu_backward); bitwise equal to the serial kernel.
    /// </summary>
    public static unsafe void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length;
        if (gradOutput.Length != n || gradInput.Length != n)
            throw new ArgumentException($"SiluBackward: x ({n}), gradOutput ({gradOutput.Length}) and gradInput ({gradInput.Length}) must have one length");
        fixed (T* xp = x, gp = gradOutput, dp = gradInput)
        {
            var body = new SiluBackwardBody<T>(xp, gp, dp);
            For(n, ref body);
        }
    }

    readonly unsafe struct SiluBackwardBody<T>(T* x, T* gradOutput, T* gradInput) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Invoke(int start, int length)
            => ActivationKernels.SiluBackward<T>(new ReadOnlySpan<T>(x + start, length), new ReadOnlySpan<T>(gradOutput + start, length),
                new Span<T>(gradInput + start, length));
    }

    /// <summary>
    /// <see cref="ActivationKernels.ReluBackward{T}"/> split into chunks over the kernel thread pool
    /// (torch.ops.aten.threshold_backward); bitwise equal to the serial kernel.
    /// </summary>
    public static unsafe void ReluBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (gradOutput.Length != n || gradInput.Length != n)
            throw new ArgumentException($"ReluBackward: y ({n}), gradOutput ({gradOutput.Length}) and gradInput ({gradInput.Length}) must have one length");
        fixed (T* yp = y, gp = gradOutput, dp = gradInput)
        {
            var body = new ReluBackwardBody<T>(yp, gp, dp);
            For(n, ref body);
        }
    }

    readonly unsafe struct ReluBackwardBody<T>(T* y, T* gradOutput, T* gradInput) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Invoke(int start, int length)
            => ActivationKernels.ReluBackward<T>(new ReadOnlySpan<T>(y + start, length), new ReadOnlySpan<T>(gradOutput + start, length),
                new Span<T>(gradInput + start, length));
    }
}
