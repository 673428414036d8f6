namespace DeepSharp.Distributed;

/// <summary>
/// Copies between a flat 1-D bucket tensor and the tensors packed in it at element offsets (the bucket views of DDP's
/// gradient buckets and of ZeRO's parameter broadcasts), as raw bytes of pinned memory: no view tensors per copy.
/// </summary>
internal static class FlatBuffer
{
    /// <summary>Copies <paramref name="source"/> (made contiguous if needed) into <paramref name="flat"/> at element <paramref name="offset"/>.</summary>
    public static unsafe void Pack(Tensor flat, int offset, Tensor source)
    {
        int bytes = source.DType.ElementSize(), count = source.NumEl;
        using var target = flat.Pin(forWriting: true);
        using var pinned = source.Contiguous().Pin();
        new ReadOnlySpan<byte>(pinned.Pointer, count * bytes).CopyTo(new Span<byte>((byte*)target.Pointer + (long)offset * bytes, count * bytes));
    }

    /// <summary>Copies <paramref name="target"/>.NumEl elements of <paramref name="flat"/> from element <paramref name="offset"/> into the contiguous <paramref name="target"/>.</summary>
    public static unsafe void Unpack(Tensor flat, int offset, Tensor target)
    {
        int bytes = target.DType.ElementSize(), count = target.NumEl;
        using var source = flat.Pin();
        using var pinned = target.Pin(forWriting: true);
        new ReadOnlySpan<byte>((byte*)source.Pointer + (long)offset * bytes, count * bytes).CopyTo(new Span<byte>(pinned.Pointer, count * bytes));
    }
}
