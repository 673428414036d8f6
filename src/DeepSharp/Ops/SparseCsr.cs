using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

/// <summary>
/// A 2-D sparse matrix in compressed sparse row form: row i holds the entries crowIndices[i] .. crowIndices[i+1]-1
/// of colIndices / values (torch.sparse_csr_tensor). The structure is fixed; <see cref="Values"/> is an ordinary
/// float tensor that may require grad, so <see cref="MatMul"/> differentiates with respect to both the values and
/// the dense operand. Repeated (row, col) pairs add up, as in a coalesced COO matrix.
/// </summary>
public sealed class SparseCsrTensor
{
    readonly long[] crow, col;
    readonly StructureCache cache = new();

    /// <summary>What depends on the structure alone, shared by matrices built with <see cref="WithValues"/>.</summary>
    sealed class StructureCache
    {
        public SparseCsrTensor? TransposeStructure;
        public Tensor? TransposePermutation, RowOfEntry;
    }

    /// <summary>Number of rows (size(0)).</summary>
    public int Rows { get; }
    /// <summary>Number of columns (size(1)).</summary>
    public int Cols { get; }
    /// <summary>The stored entries' values, a 1-D tensor of length <see cref="Nnz"/> (torch.Tensor.values()).</summary>
    public Tensor Values { get; }
    /// <summary>Number of stored entries (torch.Tensor._nnz()).</summary>
    public int Nnz => col.Length;
    /// <summary>Row pointers, length Rows + 1 (torch.Tensor.crow_indices()).</summary>
    public ReadOnlySpan<long> CrowIndices => crow;
    /// <summary>Column of each stored entry (torch.Tensor.col_indices()).</summary>
    public ReadOnlySpan<long> ColIndices => col;

    /// <summary>Builds a CSR matrix from its three arrays, checking them (torch.sparse_csr_tensor(crow, col, values, size)).</summary>
    public SparseCsrTensor(long[] crowIndices, long[] colIndices, Tensor values, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(crowIndices); ArgumentNullException.ThrowIfNull(colIndices); ArgumentNullException.ThrowIfNull(values);
        if (rows < 0 || cols < 0) throw new ArgumentException($"SparseCsrTensor: size ({rows}, {cols}) must be non-negative");
        if (crowIndices.Length != rows + 1)
            throw new ArgumentException($"SparseCsrTensor: crowIndices has length {crowIndices.Length}, expected rows + 1 = {rows + 1}", nameof(crowIndices));
        if (values.Rank != 1 || values.Shape[0] != colIndices.Length)
            throw new ArgumentException($"SparseCsrTensor: values of shape {ShapeUtil.Format(values.shape)} must be 1-D with one entry per column index ({colIndices.Length})", nameof(values));
        if (!values.IsFloatingPoint) throw new ArgumentException($"SparseCsrTensor: values must be floating point, got {values.DType.TorchName()}", nameof(values));
        if (crowIndices[0] != 0 || crowIndices[rows] != colIndices.Length)
            throw new ArgumentException($"SparseCsrTensor: crowIndices must start at 0 and end at nnz = {colIndices.Length}, got {crowIndices[0]} .. {crowIndices[rows]}", nameof(crowIndices));
        for (int i = 0; i < rows; i++)
            if (crowIndices[i + 1] < crowIndices[i]) throw new ArgumentException($"SparseCsrTensor: crowIndices must be non-decreasing (position {i + 1})", nameof(crowIndices));
        for (int k = 0; k < colIndices.Length; k++)
            if ((ulong)colIndices[k] >= (ulong)cols)
                throw new ArgumentException($"SparseCsrTensor: column index {colIndices[k]} (entry {k}) is outside [0, {cols}) for size ({rows}, {cols})", nameof(colIndices));
        (crow, col, Values, Rows, Cols) = (crowIndices, colIndices, values, rows, cols);
    }

    SparseCsrTensor(SparseCsrTensor structure, Tensor values)
    {
        (crow, col, Values, Rows, Cols) = (structure.crow, structure.col, values, structure.Rows, structure.Cols);
        cache = structure.cache;
    }

    /// <summary>The size (Rows, Cols) (torch.Tensor.shape).</summary>
    public IReadOnlyList<int> Shape => [Rows, Cols];

    /// <summary>The values' dtype (torch.Tensor.dtype).</summary>
    public DType DType => Values.DType;

    /// <summary>
    /// The same sparsity structure with other values, for example the values after dropout
    /// (torch.sparse_csr_tensor(a.crow_indices(), a.col_indices(), values, a.shape)); the structure and its transpose
    /// are shared, not copied.
    /// </summary>
    public SparseCsrTensor WithValues(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Rank != 1 || values.Shape[0] != Nnz)
            throw new ArgumentException($"SparseCsrTensor.WithValues: values of shape {ShapeUtil.Format(values.shape)} must be 1-D with nnz = {Nnz} entries", nameof(values));
        if (!values.IsFloatingPoint) throw new ArgumentException($"SparseCsrTensor.WithValues: values must be floating point, got {values.DType.TorchName()}", nameof(values));
        return new SparseCsrTensor(this, values);
    }

    /// <summary>
    /// The nonzero entries of a dense 2-D matrix as CSR, row by row (torch.Tensor.to_sparse_csr()); the values are
    /// gathered with a recorded index_select, so gradients reach <paramref name="dense"/> at the stored entries.
    /// </summary>
    public static SparseCsrTensor FromDense(Tensor dense)
    {
        ArgumentNullException.ThrowIfNull(dense);
        if (dense.Rank != 2) throw new ArgumentException($"SparseCsrTensor.FromDense: expected a 2-D matrix, got shape {ShapeUtil.Format(dense.shape)}", nameof(dense));
        if (!dense.IsFloatingPoint) throw new ArgumentException($"SparseCsrTensor.FromDense: expected floating point, got {dense.DType.TorchName()}", nameof(dense));
        int rows = dense.Shape[0], cols = dense.Shape[1];
        var flat = dense.Contiguous().Reshape(-1);
        var data = flat.To(DType.Float64).ToArray<double>();
        var crow = new long[rows + 1]; var colIndex = new List<long>(); var position = new List<long>();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
                if (data[(long)i * cols + j] != 0) { colIndex.Add(j); position.Add((long)i * cols + j); }
            crow[i + 1] = colIndex.Count;
        }
        var values = flat.IndexSelect(0, Tensor.FromArray(position.ToArray(), position.Count));
        return new SparseCsrTensor(crow, colIndex.ToArray(), values, rows, cols);
    }

    /// <summary>
    /// Builds a CSR matrix from coordinates (row[k], col[k]) with values[k], in any order; entries are sorted by row
    /// stably, and values are permuted with a recorded index_select so gradients reach the given tensor
    /// (torch.sparse_coo_tensor(...).to_sparse_csr()).
    /// </summary>
    public static SparseCsrTensor FromCoo(Tensor rowIndex, Tensor colIndex, Tensor values, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(rowIndex); ArgumentNullException.ThrowIfNull(colIndex); ArgumentNullException.ThrowIfNull(values);
        if (rowIndex.Rank != 1 || colIndex.Rank != 1 || values.Rank != 1 || rowIndex.NumEl != colIndex.NumEl || values.NumEl != rowIndex.NumEl)
            throw new ArgumentException($"SparseCsrTensor.FromCoo: row {ShapeUtil.Format(rowIndex.shape)}, col {ShapeUtil.Format(colIndex.shape)} and values {ShapeUtil.Format(values.shape)} must be 1-D of one length");
        var r = IndexUtil.Values(rowIndex, "SparseCsrTensor.FromCoo", "rowIndex", out int rs).AsSpan(rs, rowIndex.NumEl).ToArray();
        var c = IndexUtil.Values(colIndex, "SparseCsrTensor.FromCoo", "colIndex", out int cs).AsSpan(cs, colIndex.NumEl).ToArray();
        for (int k = 0; k < r.Length; k++)
            if ((ulong)r[k] >= (ulong)rows)
                throw new ArgumentException($"SparseCsrTensor.FromCoo: row index {r[k]} (entry {k}) is outside [0, {rows}) for size ({rows}, {cols})", nameof(rowIndex));
        var (crow, order) = CountingSort(r, rows);
        var sortedCols = new long[c.Length];
        for (int k = 0; k < order.Length; k++) sortedCols[k] = c[order[k]];
        var perm = Tensor.FromArray(order, order.Length);
        return new SparseCsrTensor(crow, sortedCols, values.IndexSelect(0, perm), rows, cols);
    }

    /// <summary>Row pointers and the stable order that sorts <paramref name="keys"/> (values in [0, n)).</summary>
    static (long[] Crow, long[] Order) CountingSort(long[] keys, int n)
    {
        var crow = new long[n + 1];
        foreach (var k in keys) crow[k + 1]++;
        for (int i = 0; i < n; i++) crow[i + 1] += crow[i];
        var next = (long[])crow.Clone();
        var order = new long[keys.Length];
        for (int k = 0; k < keys.Length; k++) order[next[keys[k]]++] = k;
        return (crow, order);
    }

    /// <summary>The transpose as a CSR matrix; its values are this matrix's, permuted by a recorded index_select (torch.Tensor.t()).</summary>
    public SparseCsrTensor Transpose()
    {
        if (cache.TransposeStructure == null)
        {
            var (tcrow, order) = CountingSort(col, Cols);
            var rows = RowOfEntry();
            var tcol = new long[order.Length];
            for (int k = 0; k < order.Length; k++) tcol[k] = rows[order[k]];
            cache.TransposePermutation = Tensor.FromArray(order, order.Length);
            cache.TransposeStructure = new SparseCsrTensor(tcrow, tcol, Tensor.Zeros([order.Length], Values.DType), Cols, Rows);
        }
        return cache.TransposeStructure.WithValues(Values.IndexSelect(0, cache.TransposePermutation!));
    }

    long[] RowOfEntry()
    {
        var rows = new long[Nnz];
        for (int i = 0; i < Rows; i++)
            for (long k = crow[i]; k < crow[i + 1]; k++) rows[k] = i;
        return rows;
    }

    /// <summary>The row of each stored entry as an int64 tensor (torch._convert_indices_from_csr_to_coo(...)[0]).</summary>
    public Tensor RowIndices() => cache.RowOfEntry ??= Tensor.FromArray(RowOfEntry(), Nnz);

    /// <summary>The column of each stored entry as an int64 tensor (torch.Tensor.col_indices()).</summary>
    public Tensor ColIndicesTensor() => Tensor.FromArray((long[])col.Clone(), Nnz);

    /// <summary>The dense matrix, repeated entries added (torch.Tensor.to_dense()); differentiable in the values.</summary>
    public Tensor ToDense()
    {
        var flat = RowIndices().Mul((long)Cols).Add(ColIndicesTensor());
        return Tensor.Zeros([Rows * Cols], Values.DType).IndexAdd(0, flat, Values).Reshape(Rows, Cols);
    }

    /// <summary>
    /// This sparse matrix times a dense (Cols, F) matrix: a (Rows, F) dense result (torch.sparse.mm / torch.mm with a
    /// CSR first operand). Gradients: the dense operand gets Aᵀ·g (a CSR product again), each value gets
    /// ⟨g[row], dense[col]⟩.
    /// </summary>
    public Tensor MatMul(Tensor dense)
    {
        ArgumentNullException.ThrowIfNull(dense);
        if (dense.Rank != 2 || dense.Shape[0] != Cols)
            throw new ArgumentException($"SparseCsrTensor.MatMul: sparse ({Rows}, {Cols}) and dense {ShapeUtil.Format(dense.shape)} do not align (the dense operand must be 2-D with {Cols} rows)", nameof(dense));
        if (dense.DType != Values.DType)
            throw new ArgumentException($"SparseCsrTensor.MatMul: dense has dtype {dense.DType.TorchName()} but the values are {Values.DType.TorchName()}", nameof(dense));
        int f = dense.Shape[1];
        var x = dense.Contiguous();
        var v = Values.Contiguous();
        var result = Tensor.Zeros([Rows, f], dense.DType);
        if (dense.DType == DType.Float32) Kernel(x.Array<float>(), x.offset, v.Array<float>(), v.offset, result.Array<float>(), f);
        else Kernel(x.Array<double>(), x.offset, v.Array<double>(), v.offset, result.Array<double>(), f);
        if (Autograd.ShouldRecord(Values, dense))
        {
            var values = Values;
            Autograd.Record(result, "SparseCsrMatMulBackward", [values, dense], g =>
                [values.RequiresGrad ? g.IndexSelect(0, RowIndices()).Mul(dense.IndexSelect(0, ColIndicesTensor())).Sum(1) : null,
                 dense.RequiresGrad ? Transpose().MatMul(g) : null], values, dense);
        }
        return result;
    }

    void Kernel<T>(T[] x, int xStart, T[] v, int vStart, T[] dst, int f) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < Rows; i++)
        {
            var row = new Span<T>(dst, i * f, f);
            for (long k = crow[i]; k < crow[i + 1]; k++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(x, xStart + (int)col[k] * f, f), v[vStart + k], row, row);
        }
    }
}
