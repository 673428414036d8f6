namespace DeepSharp;

/// <summary>
/// The flat array behind one or more tensors (torch.UntypedStorage). Views share a storage; the version
/// counter is bumped by every in-place write so autograd can detect a saved tensor that was modified.
/// </summary>
internal sealed class Storage
{
    public readonly Array Data;
    public readonly DType DType;
    public int Version;

    public Storage(Array data, DType dtype) { Data = data; DType = dtype; }

    public int Length => Data.Length;

    public static Storage Allocate(DType dtype, int length) => dtype switch
    {
        DType.Float32 => new Storage(new float[length], dtype),
        DType.Float64 => new Storage(new double[length], dtype),
        DType.Int64 => new Storage(new long[length], dtype),
        DType.Int32 => new Storage(new int[length], dtype),
        DType.Bool => new Storage(new bool[length], dtype),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Allocates without zeroing where the runtime allows it; the caller writes every element.</summary>
    public static Storage AllocateUninitialized(DType dtype, int length) => dtype switch
    {
        DType.Float32 => new Storage(GC.AllocateUninitializedArray<float>(length), dtype),
        DType.Float64 => new Storage(GC.AllocateUninitializedArray<double>(length), dtype),
        DType.Int64 => new Storage(GC.AllocateUninitializedArray<long>(length), dtype),
        DType.Int32 => new Storage(GC.AllocateUninitializedArray<int>(length), dtype),
        DType.Bool => new Storage(GC.AllocateUninitializedArray<bool>(length), dtype),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
