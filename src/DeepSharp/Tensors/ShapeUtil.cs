namespace DeepSharp;

/// <summary>Shape and stride arithmetic shared by every op.</summary>
internal static class ShapeUtil
{
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n > Array.MaxLength)
            throw new ArgumentException($"Shape {Format(shape)} has {n} elements, more than the {Array.MaxLength} (about 2^31) a tensor can hold");
        return (int)n;
    }

    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        ContiguousStrides(shape, strides);
        return strides;
    }

    /// <summary>Row-major strides of <paramref name="shape"/> written into <paramref name="strides"/> (same length).</summary>
    public static void ContiguousStrides(ReadOnlySpan<int> shape, Span<int> strides)
    {
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { strides[i] = s; s *= Math.Max(shape[i], 1); }
    }

    /// <summary>
    /// Row-major strides of <paramref name="shape"/> as an array shared by every tensor with those strides on this thread
    /// (computed on the stack, then taken from the table of <see cref="Interned(ReadOnlySpan{int})"/>), so that creating a
    /// contiguous tensor does not allocate a strides array each time. The array must never be written: tensors keep it as
    /// their strides, and <see cref="Tensor.Strides"/> hands out a read-only wrapper. Use
    /// <see cref="ContiguousStrides(ReadOnlySpan{int})"/> for an array the caller owns.
    /// </summary>
    public static int[] SharedContiguousStrides(int[] shape)
    {
        Span<int> strides = shape.Length <= 16 ? stackalloc int[shape.Length] : new int[shape.Length];
        ContiguousStrides(shape, strides);
        return Interned(strides);
    }

    /// <summary>
    /// A shape array equal to <paramref name="shape"/>, shared by every caller on this thread that asks for the same sizes (a
    /// small per-thread table), so that an op whose result shape it computes (a linear layer's (m, out), a reduction's (n,))
    /// does not allocate a new array each call. Like every tensor's shape array, it must never be written.
    /// </summary>
    public static int[] Interned(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 0) return [];
        var table = shapeTable ??= new Dictionary<int[], int[]>(ShapeComparer.Instance);
        var lookup = table.GetAlternateLookup<ReadOnlySpan<int>>();
        if (lookup.TryGetValue(shape, out var shared)) return shared;
        if (table.Count >= 1024) table.Clear();                       // a bound for programs that use many shapes
        shared = shape.ToArray();
        table[shared] = shared;
        return shared;
    }

    /// <summary>The shape <c>(d0)</c>, shared (see <see cref="Interned(ReadOnlySpan{int})"/>).</summary>
    public static int[] Interned(int d0) => Interned([d0]);

    /// <summary>The shape <c>(d0, d1)</c>, shared (see <see cref="Interned(ReadOnlySpan{int})"/>).</summary>
    public static int[] Interned(int d0, int d1) => Interned([d0, d1]);

    [ThreadStatic] static Dictionary<int[], int[]>? shapeTable;

    /// <summary>Compares shapes by their sizes; also looks an array up by a span of sizes.</summary>
    sealed class ShapeComparer : IEqualityComparer<int[]>, IAlternateEqualityComparer<ReadOnlySpan<int>, int[]>
    {
        public static readonly ShapeComparer Instance = new();
        public bool Equals(int[]? a, int[]? b) => a.AsSpan().SequenceEqual(b);
        public int GetHashCode(int[] shape) => GetHashCode((ReadOnlySpan<int>)shape);
        public bool Equals(ReadOnlySpan<int> a, int[] b) => a.SequenceEqual(b);
        public int GetHashCode(ReadOnlySpan<int> shape)
        {
            var hash = new HashCode();
            foreach (var d in shape) hash.Add(d);
            return hash.ToHashCode();
        }
        public int[] Create(ReadOnlySpan<int> shape) => shape.ToArray();
    }

    public static bool IsContiguous(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        if (shape.Contains(0)) return true;   // an empty tensor is contiguous whatever its strides (as in PyTorch)
        int expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    public static string Format(ReadOnlySpan<int> shape) =>
        shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape.ToArray()) + ")";

    public static int NormalizeDim(int dim, int rank, string op, string argName = "dim")
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(argName, $"{op}: dimension {dim} is out of range for a tensor of rank {rank} (expected in [{-r}, {r - 1}])");
        return dim < 0 ? dim + r : dim;
    }

    /// <summary>
    /// The broadcast shape of two tensors' shapes: one of the two arrays themselves when the other broadcasts into it (the
    /// usual case: same shapes, a bias row, a per-channel scale), so no array is made; otherwise a new array.
    /// </summary>
    public static int[] Broadcast(int[] a, int[] b, string op)
    {
        if (a.AsSpan().SequenceEqual(b)) return a;
        int n = Math.Max(a.Length, b.Length);
        Span<int> result = n <= 16 ? stackalloc int[n] : new int[n];
        BroadcastInto(a, b, result, op);
        return result.SequenceEqual(a) ? a : result.SequenceEqual(b) ? b : result.ToArray();
    }

    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/> as a new array.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        var result = new int[Math.Max(a.Length, b.Length)];
        BroadcastInto(a, b, result, op);
        return result;
    }

    static void BroadcastInto(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> result, string op)
    {
        int n = result.Length;
        for (int i = 0; i < n; i++)
        {
            int da = i - (n - a.Length) >= 0 ? a[i - (n - a.Length)] : 1;
            int db = i - (n - b.Length) >= 0 ? b[i - (n - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db})");
            result[i] = da == 1 ? db : da;
        }
    }

    /// <summary>Strides that read a tensor of <paramref name="shape"/>/<paramref name="strides"/> as if expanded to <paramref name="target"/> (0 on broadcast dims).</summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, ReadOnlySpan<int> target)
    {
        var result = new int[target.Length];
        BroadcastStrides(shape, strides, target, result);
        return result;
    }

    /// <summary>The strides of a (shape, strides) view broadcast to <paramref name="target"/>, written into <paramref name="result"/> (target's length).</summary>
    public static void BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, ReadOnlySpan<int> target, Span<int> result)
    {
        int off = target.Length - shape.Length;
        result[..off].Clear();
        for (int i = 0; i < shape.Length; i++)
            result[i + off] = shape[i] == 1 && target[i + off] != 1 ? 0 : strides[i];
    }

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>A copy of a shape for a new tensor; the empty shape of a 0-d tensor is the one shared empty array.</summary>
    public static int[] Copy(int[] shape) => shape.Length == 0 ? [] : (int[])shape.Clone();
}
