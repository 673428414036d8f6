namespace DeepSharp.Compression.Pruning;

/// <summary>Flat-array helpers for masks: a tensor seen as (outer, channels along dim, inner).</summary>
internal static class MaskMath
{
    public static (int Outer, int Size, int Inner) Split(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[dim], inner);
    }

    /// <summary>Indices of the <paramref name="k"/> smallest values (ties: the lower index first).</summary>
    public static int[] Smallest(double[] values, int k)
    {
        var order = Enumerable.Range(0, values.Length).ToArray();
        Array.Sort(order, (a, b) => { int c = values[a].CompareTo(values[b]); return c != 0 ? c : a.CompareTo(b); });
        return order[..k];
    }

    /// <summary>Indices of the <paramref name="k"/> largest values (ties: the lower index first).</summary>
    public static int[] Largest(double[] values, int k)
    {
        var order = Enumerable.Range(0, values.Length).ToArray();
        Array.Sort(order, (a, b) => { int c = values[b].CompareTo(values[a]); return c != 0 ? c : a.CompareTo(b); });
        return order[..k];
    }

    /// <summary>The Ln norm of every channel along <paramref name="dim"/> (torch.norm(t, p=n, dim=other dims)).</summary>
    public static double[] ChannelNorms(double[] t, int[] shape, int dim, double n)
    {
        var (outer, size, inner) = Split(shape, dim);
        var acc = new double[size];
        if (double.IsNegativeInfinity(n)) Array.Fill(acc, double.PositiveInfinity);
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < size; c++)
                for (int i = 0; i < inner; i++)
                {
                    double a = Math.Abs(t[(o * size + c) * inner + i]);
                    acc[c] = double.IsPositiveInfinity(n) ? Math.Max(acc[c], a)
                        : double.IsNegativeInfinity(n) ? Math.Min(acc[c], a)
                        : n == 0 ? acc[c] + (a != 0 ? 1 : 0)
                        : n == 1 ? acc[c] + a
                        : n == 2 ? acc[c] + a * a
                        : acc[c] + Math.Pow(a, n);
                }
        if (!double.IsInfinity(n) && n != 0 && n != 1)
            for (int c = 0; c < size; c++) acc[c] = n == 2 ? Math.Sqrt(acc[c]) : Math.Pow(acc[c], 1 / n);
        return acc;
    }

    /// <summary>Channels along <paramref name="dim"/> whose mask has a non-zero entry.</summary>
    public static int[] LiveChannels(double[] mask, int[] shape, int dim)
    {
        var (outer, size, inner) = Split(shape, dim);
        var live = new bool[size];
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < size; c++)
                for (int i = 0; i < inner; i++)
                    if (mask[(o * size + c) * inner + i] != 0) live[c] = true;
        return Enumerable.Range(0, size).Where(c => live[c]).ToArray();
    }

    /// <summary>The sub-array of the given channels along <paramref name="dim"/> (t[..., channels, ...]).</summary>
    public static double[] GatherChannels(double[] t, int[] shape, int dim, int[] channels)
    {
        var (outer, size, inner) = Split(shape, dim);
        var result = new double[outer * channels.Length * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < channels.Length; j++)
                Array.Copy(t, (o * size + channels[j]) * inner, result, (o * channels.Length + j) * inner, inner);
        return result;
    }

    /// <summary>Writes <paramref name="part"/> back into the given channels of <paramref name="target"/>.</summary>
    public static void ScatterChannels(double[] target, int[] shape, int dim, int[] channels, double[] part)
    {
        var (outer, size, inner) = Split(shape, dim);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < channels.Length; j++)
                Array.Copy(part, (o * channels.Length + j) * inner, target, (o * size + channels[j]) * inner, inner);
    }

    public static double[] Values(Tensor t) => t.Detach().ToArray<double>();

    public static Tensor ToTensor(double[] mask, int[] shape, DType dtype) =>
        Tensor.FromArray(mask, shape).To(dtype);
}
