using System.Runtime.CompilerServices;

namespace DeepSharp;

/// <summary>
/// An n-dimensional array with optional gradient tracking (torch.Tensor). A tensor is a view
/// (shape, strides, offset) over a <see cref="Storage"/>; views share storage with their base.
/// </summary>
public sealed partial class Tensor
{
    internal readonly Storage storage;
    internal readonly int[] shape;
    internal readonly int[] strides;
    internal readonly int offset;
    bool requiresGrad;

    internal Tensor(Storage storage, int[] shape, int[] strides, int offset)
    {
        this.storage = storage; this.shape = shape; this.strides = strides; this.offset = offset;
    }

    internal Tensor(Storage storage, int[] shape) : this(storage, shape, ShapeUtil.SharedContiguousStrides(shape), 0) { }

    /// <summary>Wraps <paramref name="data"/> itself (no copy; the caller gives it up) as a contiguous float32 tensor: for
    /// kernels outside this assembly that fill a fresh array (DeepSharp.Quantization's int8 LSTM output).</summary>
    internal static Tensor Adopt(float[] data, int[] shape) => new(new Storage(data, DType.Float32), shape);

    /// <summary>Allocates a zero-filled contiguous tensor.</summary>
    internal static Tensor Alloc(DType dtype, int[] shape) => new(Storage.Allocate(dtype, ShapeUtil.Numel(shape)), shape);

    /// <summary>Allocates a contiguous tensor whose every element the caller will write.</summary>
    internal static Tensor AllocUninit(DType dtype, int[] shape) => new(Storage.AllocateUninitialized(dtype, ShapeUtil.Numel(shape)), shape);

    /// <summary>Element type (torch.Tensor.dtype).</summary>
    public DType DType => storage.DType;

    /// <summary>Sizes of each dimension (torch.Tensor.shape).</summary>
    public IReadOnlyList<int> Shape => shape;

    /// <summary>
    /// Element strides of each dimension (torch.Tensor.stride()). A read-only view: contiguous tensors of one shape share
    /// their strides array.
    /// </summary>
    public IReadOnlyList<int> Strides => System.Array.AsReadOnly(strides);

    /// <summary>Offset of the first element in the storage (torch.Tensor.storage_offset()).</summary>
    public int StorageOffset => offset;

    /// <summary>Number of dimensions (torch.Tensor.dim()).</summary>
    public int Rank => shape.Length;

    /// <summary>Number of dimensions (torch.Tensor.dim()); same as <see cref="Rank"/>.</summary>
    public int Dim => shape.Length;

    /// <summary>Total number of elements (torch.Tensor.numel()).</summary>
    public int NumEl => ShapeUtil.Numel(shape);

    /// <summary>Size of one dimension; negative dims count from the end (torch.Tensor.size(dim)).</summary>
    public int Size(int dim) => shape[ShapeUtil.NormalizeDim(dim, Rank, "Size")];

    /// <summary>True when elements are laid out densely in row-major order (torch.Tensor.is_contiguous()).</summary>
    public bool IsContiguous => ShapeUtil.IsContiguous(shape, strides);

    /// <summary>True for float32 and float64 tensors (torch.Tensor.is_floating_point()).</summary>
    public bool IsFloatingPoint => DType.IsFloatingPoint();

    /// <summary>In-place modification counter shared by all views of the storage (torch.Tensor._version).</summary>
    public int Version => storage.Version;

    /// <summary>
    /// Whether autograd records operations on this tensor (torch.Tensor.requires_grad). Only leaf
    /// floating-point tensors may have it set by hand.
    /// </summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set
        {
            if (value && !IsFloatingPoint)
                throw new InvalidOperationException($"RequiresGrad: only floating point tensors can require gradients (this one is {DType.TorchName()})");
            if (!value && GradFn != null)
                throw new InvalidOperationException("RequiresGrad: cannot turn off gradient tracking on a non-leaf tensor; use Detach()");
            requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (torch.Tensor.requires_grad_()).</summary>
    public Tensor RequiresGrad_(bool value = true) { RequiresGrad = value; return this; }

    /// <summary>The accumulated gradient after <see cref="Backward"/> (torch.Tensor.grad).</summary>
    public Tensor? Grad
    {
        get => (link as LeafExtras)?.Grad;
        set { if (value != null || link is LeafExtras) Extras.Grad = value; }
    }

    /// <summary>
    /// What few tensors carry (a gradient, post-accumulate hooks: leaves, mostly parameters, and non-leaves that retain
    /// their gradient), kept out of the tensor so that the result of every op, of which a training step makes many, is
    /// 56 bytes instead of 72: the grad_fn and these share one field, and a tensor with extras keeps its grad_fn here.
    /// </summary>
    sealed class LeafExtras
    {
        public Tensor? Grad;
        public List<Action<Tensor>>? PostAccumulateGradHooks;
        public Node? GradFn;
    }

    /// <summary>The tensor's grad_fn (a <see cref="Node"/>), or its <see cref="LeafExtras"/> (which then holds the grad_fn), or null: one field for the two.</summary>
    object? link;

    LeafExtras Extras
    {
        get
        {
            while (true)
            {
                var current = link;
                if (current is LeafExtras e) return e;
                var made = new LeafExtras { GradFn = (Node?)current };
                if (Interlocked.CompareExchange(ref link, made, current) == current) return made;
            }
        }
    }

    /// <summary>The node that produced this tensor, or null for a leaf (torch.Tensor.grad_fn).</summary>
    public Node? GradFn
    {
        get => link as Node ?? (link as LeafExtras)?.GradFn;
        internal set
        {
            if (link is LeafExtras e) e.GradFn = value;
            else link = value;
        }
    }

    /// <summary>True for tensors not produced by a recorded op (torch.Tensor.is_leaf).</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>True when this tensor shares its storage with a base tensor (torch.Tensor._is_view()).</summary>
    public bool IsView { get; private init; }

    internal bool RetainsGrad;

    /// <summary>Keeps <see cref="Grad"/> for this non-leaf tensor after backward (torch.Tensor.retain_grad()).</summary>
    public void RetainGrad()
    {
        if (!requiresGrad) throw new InvalidOperationException("RetainGrad: cannot retain the gradient of a tensor that does not require grad");
        if (GradFn != null) { RetainsGrad = true; GradFn.RetainedOutput = this; }
    }

    internal Tensor MakeView(int[] newShape, int[] newStrides, int newOffset) =>
        new(storage, newShape, newStrides, newOffset) { IsView = true };

    /// <summary>The raw array behind this tensor; callers use <see cref="offset"/> and <see cref="strides"/>.</summary>
    internal T[] Array<T>([CallerMemberName] string op = "") =>
        storage.Data as T[] ?? throw (DType.IsReducedPrecision() ? ReducedFloat.Unsupported(op, DType)
            : new InvalidCastException($"internal: {op} read a {DType.TorchName()} tensor as {typeof(T).Name}"));

    /// <summary>Span over a contiguous tensor's elements. Throws if not contiguous.</summary>
    internal Span<T> Span<T>([CallerMemberName] string op = "")
    {
        if (!IsContiguous) throw new InvalidOperationException("internal: Span() on a non-contiguous tensor");
        return new Span<T>(Array<T>(op), offset, NumEl);
    }

    /// <summary>
    /// Zero-copy read-only view of a contiguous tensor's elements in row-major order (like torch.Tensor.numpy() without
    /// the write access). Throws if the tensor is not contiguous or <typeparamref name="T"/> is not its element type.
    /// </summary>
    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged
    {
        CheckDType<T>("AsReadOnlySpan");
        if (!IsContiguous) throw new InvalidOperationException($"AsReadOnlySpan: the tensor of shape {ShapeUtil.Format(shape)} is not contiguous; call Contiguous() first");
        return new ReadOnlySpan<T>((T[])storage.Data, offset, NumEl);
    }

    internal void CheckDType<T>(string op)
    {
        var expected = DTypeExtensions.FromClr<T>();
        if (DType != expected) throw new ArgumentException($"{op}: expected a tensor of dtype {expected.TorchName()}, got {DType.TorchName()}");
    }

    /// <summary>Returns the single value of a one-element tensor as a double (torch.Tensor.item()).</summary>
    public double Item()
    {
        if (NumEl != 1) throw new InvalidOperationException($"Item: only a one-element tensor can be converted to a scalar, this one has shape {ShapeUtil.Format(shape)}");
        return DType switch
        {
            DType.Float32 => Array<float>()[offset],
            DType.Float64 => Array<double>()[offset],
            DType.Int64 => Array<long>()[offset],
            DType.Int32 => Array<int>()[offset],
            DType.Bool => Array<bool>()[offset] ? 1 : 0,
            DType.Float16 => (double)Array<Half>()[offset],
            DType.BFloat16 => (double)Array<BFloat16>()[offset],
            _ => throw new InvalidOperationException(),
        };
    }

    /// <summary>Returns the single value of a one-element tensor as <typeparamref name="T"/> (torch.Tensor.item()).</summary>
    public T Item<T>() where T : unmanaged
    {
        if (NumEl != 1) throw new InvalidOperationException($"Item: only a one-element tensor can be converted to a scalar, this one has shape {ShapeUtil.Format(shape)}");
        if (DTypeExtensions.FromClr<T>() == DType) return Array<T>()[offset];
        return To(DTypeExtensions.FromClr<T>()).Array<T>()[0];
    }

    /// <summary>Copies the elements, in row-major order, to a new 1-D array (torch.Tensor.tolist() flattened).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var t = DTypeExtensions.FromClr<T>() == DType ? this : To(DTypeExtensions.FromClr<T>());
        var c = t.Contiguous();
        return c.Span<T>().ToArray();
    }

    /// <summary>Reads one element by its full index as a double (x[i, j, ...].item()), without allocating.</summary>
    public double At(params int[] index)
    {
        {
            if (index.Length != Rank) throw new ArgumentException($"At: {index.Length} indices given for a tensor of rank {Rank}");
            int pos = offset;
            for (int i = 0; i < index.Length; i++)
            {
                int ix = index[i] < 0 ? index[i] + shape[i] : index[i];
                if ((uint)ix >= (uint)shape[i]) throw new IndexOutOfRangeException($"At: index {index[i]} is out of range for dimension {i} of size {shape[i]}");
                pos += ix * strides[i];
            }
            return DType switch
            {
                DType.Float32 => Array<float>()[pos], DType.Float64 => Array<double>()[pos],
                DType.Int64 => Array<long>()[pos], DType.Int32 => Array<int>()[pos],
                DType.Bool => Array<bool>()[pos] ? 1 : 0, DType.Float16 => (double)Array<Half>()[pos],
                DType.BFloat16 => (double)Array<BFloat16>()[pos], _ => throw new InvalidOperationException(),
            };
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void BumpVersion() => storage.Version++;
}
