using System.Globalization;
using System.Text;

namespace DeepSharp;

// ToString in PyTorch's style: tensor([[ 0.1000, -2.0000], ...], requires_grad=True)
public sealed partial class Tensor
{
    const int SummarizeThreshold = 1000, EdgeItems = 3;

    /// <summary>Formats the tensor like PyTorch's repr: values (summarised when large), then dtype/grad notes.</summary>
    public override string ToString()
    {
        var t = Detach().Contiguous();
        var values = t.ToArray<double>();
        bool summarize = values.Length > SummarizeThreshold;
        var formatter = new ValueFormatter(DType, values, summarize ? SampleEdges(t, values) : values);
        var sb = new StringBuilder("tensor(");
        if (Rank == 0) sb.Append(formatter.Format(values[0]).Trim());
        else if (values.Length == 0) sb.Append("[]");
        else AppendDim(sb, values, 0, 0, ShapeUtil.ContiguousStrides(shape), summarize, formatter, 7);
        if (values.Length == 0 && Rank > 1) sb.Append(", size=").Append(ShapeUtil.Format(shape));
        if (DType != DType.Float32 && DType != DType.Int64 && DType != DType.Bool) sb.Append(", dtype=").Append(DType.TorchName());
        if (GradFn != null) sb.Append(", grad_fn=<").Append(GradFn.Name).Append("0>");
        else if (requiresGrad) sb.Append(", requires_grad=True");
        sb.Append(')');
        return sb.ToString();
    }

    double[] SampleEdges(Tensor t, double[] values)
    {
        // values that will be shown: enough to size the column; use all edges along each dim
        var shown = new List<double>();
        void Walk(int dim, int offset, int[] cstrides)
        {
            if (dim == Rank) { shown.Add(values[offset]); return; }
            int n = shape[dim];
            for (int i = 0; i < n; i++)
            {
                if (n > 2 * EdgeItems && i == EdgeItems) i = n - EdgeItems;
                Walk(dim + 1, offset + i * cstrides[dim], cstrides);
            }
        }
        Walk(0, 0, ShapeUtil.ContiguousStrides(shape));
        return shown.ToArray();
    }

    void AppendDim(StringBuilder sb, double[] values, int dim, int off, int[] cstrides, bool summarize, ValueFormatter f, int indent)
    {
        sb.Append('[');
        int n = shape[dim];
        for (int i = 0; i < n; i++)
        {
            if (summarize && n > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append(dim == Rank - 1 ? "..., " : "...,\n" + new string(' ', indent + dim + 1) + (Rank - dim > 2 ? "\n" + new string(' ', indent + dim + 1) : ""));
                i = n - EdgeItems;
            }
            if (dim == Rank - 1) sb.Append(f.Format(values[off + i * cstrides[dim]]));
            else AppendDim(sb, values, dim + 1, off + i * cstrides[dim], cstrides, summarize, f, indent);
            if (i < n - 1)
            {
                if (dim == Rank - 1) sb.Append(", ");
                else sb.Append(',').Append('\n', Rank - dim - 1).Append(' ', indent + dim + 1);
            }
        }
        sb.Append(']');
    }

    sealed class ValueFormatter
    {
        readonly DType dtype; readonly bool integral, scientific; readonly int width;
        public ValueFormatter(DType dtype, double[] all, double[] shown)
        {
            this.dtype = dtype;
            var finite = shown.Where(double.IsFinite).ToArray();
            integral = !dtype.IsFloatingPoint() || finite.All(v => v == Math.Floor(v));
            if (dtype.IsFloatingPoint() && finite.Length > 0)
            {
                double maxAbs = finite.Max(Math.Abs), minAbs = finite.Where(v => v != 0).Select(Math.Abs).DefaultIfEmpty(0).Min();
                scientific = integral ? maxAbs > 1e8 : (maxAbs / Math.Max(minAbs, double.Epsilon) > 1000 || maxAbs > 1e8 || (minAbs != 0 && minAbs < 1e-4));
            }
            width = shown.Length == 0 ? 1 : shown.Max(v => Raw(v).Length);
        }

        string Raw(double v)
        {
            if (dtype == DType.Bool) return v != 0 ? "True" : "False";
            if (double.IsNaN(v)) return "nan";
            if (double.IsPositiveInfinity(v)) return "inf";
            if (double.IsNegativeInfinity(v)) return "-inf";
            if (!dtype.IsFloatingPoint()) return ((long)v).ToString(CultureInfo.InvariantCulture);
            if (scientific) return v.ToString("0.0000e+00", CultureInfo.InvariantCulture);
            if (integral) return v.ToString("0", CultureInfo.InvariantCulture) + ".";
            return v.ToString("0.0000", CultureInfo.InvariantCulture);
        }

        public string Format(double v) => Raw(v).PadLeft(width);
    }
}
