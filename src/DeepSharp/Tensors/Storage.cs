using System.Collections.Concurrent;

namespace DeepSharp;

/// <summary>
/// The flat array behind one or more tensors (torch.UntypedStorage). Views share a storage; the version
/// counter is bumped by every in-place write so autograd can detect a saved tensor that was modified.
/// Arrays come from <see cref="ArrayCache"/> when one of the right size was given back by a <see cref="TensorScope"/>.
/// </summary>
internal sealed class Storage
{
    Array? data;
    public readonly DType DType;
    public int Version;

    public Storage(Array data, DType dtype) { this.data = data; DType = dtype; }

    public Array Data => data ?? throw new ObjectDisposedException("Tensor",
        "This tensor's memory was released when the TensorScope it was created in ended; call scope.Keep(tensor) " +
        "or Detach().Clone() it outside the scope to keep its values.");

    public int Length => Data.Length;

    /// <summary>Gives the array back to the cache; any later access throws ObjectDisposedException.</summary>
    internal void Release()
    {
        var d = data;
        data = null;
        if (d != null) ArrayCache.Return(DType, d);
    }

    internal bool IsReleased => data == null;

    public static Storage Allocate(DType dtype, int length)
    {
        var s = new Storage(ArrayCache.Rent(dtype, length, clear: true), dtype);
        TensorScope.Track(s);
        return s;
    }

    /// <summary>Allocates without zeroing where possible; the caller writes every element.</summary>
    public static Storage AllocateUninitialized(DType dtype, int length)
    {
        var s = new Storage(ArrayCache.Rent(dtype, length, clear: false), dtype);
        TensorScope.Track(s);
        return s;
    }
}

/// <summary>
/// Arrays given back by ended <see cref="TensorScope"/>s, bucketed by element type and exact length, so a training step
/// that allocates the same shapes every time reuses the previous step's memory instead of the managed heap.
/// </summary>
internal static class ArrayCache
{
    static readonly ConcurrentDictionary<(DType, int), ConcurrentBag<Array>> buckets = new();
    static long cachedBytes;
    /// <summary>Upper bound on memory held by the cache; beyond it, released arrays go to the GC.</summary>
    public static long CapacityBytes = 2L << 30;
    /// <summary>
    /// Arrays shorter than this are left to the GC. Every length is reused, down to one element: logits, biases' gradients
    /// and per-row statistics of a small batch (a (64, 10) float32 tensor is 2.5 KiB), and the scalars a step makes (the
    /// loss, backward's seed of ones, a reduction), so a steady-state step allocates none of them.
    /// </summary>
    internal const int MinCachedLength = 1;
    internal static bool DisableReuse = Environment.GetEnvironmentVariable("DEEPSHARP_NO_ARRAY_CACHE") == "1";

    static ArrayCache() => MemoryTrace.StartFromEnvironment();

    /// <summary>Bytes held by the cache now.</summary>
    internal static long CachedBytes => Interlocked.Read(ref cachedBytes);

    public static Array Rent(DType dtype, int length, bool clear)
    {
        if (!DisableReuse && length >= MinCachedLength && buckets.TryGetValue((dtype, length), out var bag) && bag.TryTake(out var array))
        {
            Interlocked.Add(ref cachedBytes, -(long)length * dtype.ElementSize());
            if (clear) System.Array.Clear(array);
            return array;
        }
        try { return Allocate(dtype, length, clear); }
        catch (OutOfMemoryException e)
        {
            throw new OutOfMemoryException($"DeepSharp: not enough memory for a {dtype.TorchName()} tensor of {length} elements " +
                $"({(long)length * dtype.ElementSize() / (1024.0 * 1024.0):F0} MiB)", e);
        }
    }

    static Array Allocate(DType dtype, int length, bool clear)
    {
        return (dtype, clear) switch
        {
            (DType.Float32, true) => new float[length],
            (DType.Float32, false) => GC.AllocateUninitializedArray<float>(length),
            (DType.Float64, true) => new double[length],
            (DType.Float64, false) => GC.AllocateUninitializedArray<double>(length),
            (DType.Int64, true) => new long[length],
            (DType.Int64, false) => GC.AllocateUninitializedArray<long>(length),
            (DType.Int32, true) => new int[length],
            (DType.Int32, false) => GC.AllocateUninitializedArray<int>(length),
            (DType.Bool, _) => new bool[length],
            (DType.Float16, true) => new Half[length],
            (DType.Float16, false) => GC.AllocateUninitializedArray<Half>(length),
            (DType.BFloat16, true) => new BFloat16[length],
            (DType.BFloat16, false) => GC.AllocateUninitializedArray<BFloat16>(length),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    public static void Return(DType dtype, Array array)
    {
        int length = array.Length;
        if (length < MinCachedLength) return; // empty arrays: nothing to reuse
        long bytes = (long)length * dtype.ElementSize();
        if (Interlocked.Add(ref cachedBytes, bytes) > CapacityBytes) { Interlocked.Add(ref cachedBytes, -bytes); return; }
        buckets.GetOrAdd((dtype, length), _ => new ConcurrentBag<Array>()).Add(array);
    }

    /// <summary>Drops every cached array (for tests and memory pressure).</summary>
    public static void Clear() { buckets.Clear(); Interlocked.Exchange(ref cachedBytes, 0); }
}
