namespace DeepSharp.Tests;

/// <summary>Sum over any subset of dims (the in-place strided reduction of contiguous tensors) against a plain loop.</summary>
public class SumDimsTests
{
    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 })]
    [InlineData(new[] { 7, 1, 3, 17 })]   // size-1 dims are skipped when runs merge
    [InlineData(new[] { 1, 1 })]
    public void EverySubsetOfDimsMatchesALoop(int[] shape)
    {
        DeepSharp.Random.Seed(3);
        var x = Tensor.Randn(shape, DType.Float64);
        var values = x.ToArray<double>();
        int rank = shape.Length;
        for (int mask = 0; mask < 1 << rank; mask++)
        {
            var dims = Enumerable.Range(0, rank).Where(d => (mask >> d & 1) == 1).ToArray();
            if (dims.Length == 0) continue;
            var keptShape = shape.Select((n, d) => (mask >> d & 1) == 1 ? 1 : n).ToArray();
            var expected = new double[keptShape.Aggregate(1, (a, b) => a * b)];
            var index = new int[rank];
            for (int flat = 0; flat < values.Length; flat++)
            {
                int rem = flat;
                for (int d = rank - 1; d >= 0; d--) { index[d] = rem % shape[d]; rem /= shape[d]; }
                int o = 0;
                for (int d = 0; d < rank; d++) o = o * keptShape[d] + ((mask >> d & 1) == 1 ? 0 : index[d]);
                expected[o] += values[flat];
            }
            TestUtil.AssertClose(expected, x.Sum(dims, keepDim: true).Reshape(keptShape.Length == 0 ? [] : keptShape), 1e-12, 1e-12, $"dims {string.Join(",", dims)}");
            // a non-contiguous view takes the permute-and-copy path and must agree
            var t = x.Transpose(0, rank - 1).Contiguous().Transpose(0, rank - 1);
            TestUtil.AssertClose(expected, t.Sum(dims, keepDim: true), 1e-12, 1e-12, $"strided dims {string.Join(",", dims)}");
            // float32 and int64 share the kernel
            TestUtil.AssertClose(expected, x.To(DType.Float32).Sum(dims, keepDim: true), 1e-5, 1e-5, $"float dims {string.Join(",", dims)}");
        }
    }
}
