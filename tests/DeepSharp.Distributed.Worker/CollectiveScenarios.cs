namespace DeepSharp.Distributed.Worker;

/// <summary>Every ProcessGroup operation on float32, float64 and int64, checked against values each rank can compute alone.</summary>
static class CollectiveScenarios
{
    public static void Run(ProcessGroup g, string[] args)
    {
        int n = g.WorldSize, r = g.Rank;
        double rankSum = n * (n - 1) / 2.0;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
        {
            var t = Tensor.FromArray(new double[] { r, 1, r * 10 }, [3], dtype);
            g.AllReduce(t, ReduceOp.Sum);
            Check.Close([rankSum, n, rankSum * 10], t.ToArray<double>(), 0, $"AllReduce sum {dtype}");

            var m = Tensor.FromArray(new double[] { r, -r }, [2], dtype);
            g.AllReduce(m, ReduceOp.Max);
            Check.Close([n - 1, 0], m.ToArray<double>(), 0, $"AllReduce max {dtype}");

            var b = Tensor.FromArray(new double[] { r + 5, r + 6 }, [2], dtype);
            g.Broadcast(b, source: n - 1);
            Check.Close([n + 4, n + 5], b.ToArray<double>(), 0, $"Broadcast {dtype}");

            var gathered = g.AllGather(Tensor.FromArray(new double[] { r, r * r }, [2], dtype));
            for (int i = 0; i < n; i++) Check.Close([i, i * i], gathered[i].ToArray<double>(), 0, $"AllGather {dtype} block {i}");

            var input = Tensor.FromArray(Enumerable.Range(0, 2 * n).Select(i => (double)(i + r)).ToArray(), [2 * n], dtype);
            var output = Tensor.Zeros([2], dtype);
            g.ReduceScatter(output, input);
            Check.Close([2 * r * n + rankSum, (2 * r + 1) * n + rankSum], output.ToArray<double>(), 0, $"ReduceScatter {dtype}");
        }
        var avg = Tensor.FromArray(new float[] { r, 2 });
        g.AllReduce(avg, ReduceOp.Average);
        Check.Close([rankSum / n, 2], avg.ToArray<double>(), 1e-6, "AllReduce average");
        Check.Throws<ArgumentException>(() => g.AllReduce(Tensor.FromArray(new long[] { 1 }), ReduceOp.Average), "Average of int64");
        Check.Throws<ArgumentException>(() => g.AllReduce(Tensor.Zeros(2, 3).T), "non-contiguous");
        Check.Throws<ArgumentException>(() => g.AllReduce(Tensor.Zeros([2], DType.Int32)), "int32");
        Check.Throws<ArgumentException>(() => g.AllGather(Tensor.Zeros(3), Tensor.Zeros(2)), "AllGather sizes");
        PointToPoint(g);
        AsyncOverlap(g);
        g.Barrier();
    }

    // A ring: each rank sends its rank to the next and receives from the previous.
    static void PointToPoint(ProcessGroup g)
    {
        int n = g.WorldSize, r = g.Rank;
        var send = Tensor.FromArray(new double[] { r, r + 0.5 });
        var received = Tensor.Zeros([2], DType.Float64);
        var recvWork = g.RecvAsync(received, (r + n - 1) % n, tag: 7);
        var sendWork = g.SendAsync(send, (r + 1) % n, tag: 7);
        Work.WaitAll([sendWork, recvWork]);
        int from = (r + n - 1) % n;
        Check.Close([from, from + 0.5], received.ToArray<double>(), 0, "Send/Recv ring");
    }

    // Several collectives in flight at once, completed out of order.
    static void AsyncOverlap(ProcessGroup g)
    {
        var tensors = Enumerable.Range(0, 4).Select(i => Tensor.Full([1000], i + g.Rank)).ToArray();
        var works = tensors.Select(t => g.AllReduceAsync(t)).ToArray();
        for (int i = works.Length - 1; i >= 0; i--) works[i].Wait();
        int n = g.WorldSize;
        for (int i = 0; i < tensors.Length; i++)
            Check.Close([i * n + n * (n - 1) / 2.0], [tensors[i].ToArray<double>()[999]], 1e-6, $"async AllReduce {i}");
        Check.Equal(true, works.All(w => w.IsCompleted()), "IsCompleted after Wait");
    }
}
