using System.Buffers;
using System.Runtime.InteropServices;

namespace DeepSharp;

// Native access for transports (MPI): a pinned pointer to a contiguous tensor's first element.
public sealed partial class Tensor
{
    /// <summary>
    /// Pins this contiguous tensor's elements so native code can read them, or write them when
    /// <paramref name="forWriting"/> (then the tensor's version is bumped, as an in-place op would), until the returned
    /// handle is disposed (the pointer of torch.Tensor.data_ptr()). The pointer is to element 0 in row-major order,
    /// <see cref="NumEl"/> elements of <see cref="DType"/>.
    /// </summary>
    public unsafe MemoryHandle Pin(bool forWriting = false)
    {
        if (!IsContiguous) throw new ArgumentException($"Pin: the tensor of shape {ShapeUtil.Format(shape)} is not contiguous; call Contiguous() first");
        var array = (Array)storage.Data;
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        byte* first = (byte*)handle.AddrOfPinnedObject() + (long)offset * DType.ElementSize();
        if (forWriting) BumpVersion();
        return new MemoryHandle(first, handle);
    }
}
