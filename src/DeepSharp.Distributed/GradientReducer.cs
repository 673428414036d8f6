using DeepSharp.NN;

namespace DeepSharp.Distributed;

/// <summary>
/// DistributedDataParallel's reducer (torch's C++ Reducer): parameters grouped into buckets of at most a given number of
/// bytes, in reverse registration order (gradients tend to become ready back to front) and one dtype per bucket. A
/// post-accumulate gradient hook copies each gradient into its bucket's flat buffer as soon as backward has finished
/// it; a full bucket is all-reduced (average) asynchronously right away, in bucket order on every rank so the ranks'
/// collectives match. A callback queued at the end of backward launches what is left (parameters that got no gradient
/// contribute zeros), waits for every bucket and copies the averages back into the parameters' Grad.
/// </summary>
internal sealed class GradientReducer : IDisposable
{
    sealed class Bucket(Tensor flat, Tensor[] parameters, int[] offsets)
    {
        public readonly Tensor Flat = flat;
        public readonly Tensor[] Parameters = parameters;
        public readonly int[] Offsets = offsets;
        public int Ready;
        public Work? Work;
    }

    readonly ProcessGroup group;
    readonly Bucket[] buckets;
    readonly Dictionary<Tensor, (Bucket Bucket, int Index)> slots = new(ReferenceEqualityComparer.Instance);
    readonly bool[][] readyFlags;
    readonly List<HookHandle> hooks = [];
    int nextLaunch;
    bool passActive;

    public GradientReducer(ProcessGroup group, IReadOnlyList<Tensor> parameters, long bucketCapBytes, long firstBucketCapBytes)
    {
        this.group = group;
        buckets = Assign(parameters, bucketCapBytes, firstBucketCapBytes);
        readyFlags = buckets.Select(b => new bool[b.Parameters.Length]).ToArray();
        for (int b = 0; b < buckets.Length; b++)
            for (int i = 0; i < buckets[b].Parameters.Length; i++)
            {
                var p = buckets[b].Parameters[i];
                slots[p] = (buckets[b], i);
                hooks.Add(p.RegisterPostAccumulateGradHook(OnGradReady));
            }
    }

    /// <summary>When true (inside NoSync), gradients only accumulate locally.</summary>
    public bool Suspended { get; set; }

    /// <summary>The bucket sizes in elements, in launch order (for tests and docs).</summary>
    public IReadOnlyList<int> BucketSizes => buckets.Select(b => b.Flat.NumEl).ToArray();

    /// <summary>The parameters of each bucket, in launch order.</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> BucketParameters => buckets.Select(b => (IReadOnlyList<Tensor>)b.Parameters).ToArray();

    static Bucket[] Assign(IReadOnlyList<Tensor> parameters, long capBytes, long firstCapBytes)
    {
        var result = new List<Bucket>();
        var open = new Dictionary<DType, (List<Tensor> Members, long Bytes)>();
        void Close(DType dtype)
        {
            var (members, _) = open[dtype];
            open.Remove(dtype);
            var offsets = new int[members.Count];
            int total = 0;
            for (int i = 0; i < members.Count; i++) { offsets[i] = total; total += members[i].NumEl; }
            result.Add(new Bucket(Tensor.Zeros([total], dtype), members.ToArray(), offsets));
        }
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var p = parameters[i];
            if (!open.TryGetValue(p.DType, out var current)) current = ([], 0);
            current.Members.Add(p);
            current.Bytes += (long)p.NumEl * p.DType.ElementSize();
            open[p.DType] = current;
            if (current.Bytes >= (result.Count == 0 ? firstCapBytes : capBytes)) Close(p.DType);
        }
        foreach (var dtype in open.Keys.ToArray()) Close(dtype);
        return result.ToArray();
    }

    void OnGradReady(Tensor parameter)
    {
        if (Suspended) return;
        if (!passActive) { passActive = true; Autograd.QueueCallback(Finish); }
        var (bucket, index) = slots[parameter];
        int b = Array.IndexOf(buckets, bucket);
        if (readyFlags[b][index]) return;
        CopyIn(bucket, index, parameter.Grad);
        readyFlags[b][index] = true;
        bucket.Ready++;
        LaunchReady(all: false);
        foreach (var other in buckets) other.Work?.IsCompleted();   // drives MPI's progress while backward goes on
    }

    void LaunchReady(bool all)
    {
        while (nextLaunch < buckets.Length)
        {
            var bucket = buckets[nextLaunch];
            if (!all && bucket.Ready < bucket.Parameters.Length) return;
            bucket.Work = group.AllReduceAsync(bucket.Flat, ReduceOp.Average);
            nextLaunch++;
        }
    }

    /// <summary>End of backward: launch the rest, wait for all, write the averages back.</summary>
    void Finish()
    {
        try
        {
            for (int b = 0; b < buckets.Length; b++)
                for (int i = 0; i < buckets[b].Parameters.Length; i++)
                    if (!readyFlags[b][i]) CopyIn(buckets[b], i, buckets[b].Parameters[i].Grad);   // unused here: its Grad or zeros
            LaunchReady(all: true);
            foreach (var bucket in buckets) bucket.Work!.Wait();
            foreach (var bucket in buckets) CopyOut(bucket);
        }
        finally { Reset(); }
    }

    /// <summary>Forgets a pass that did not finish (an exception in backward), so the next one starts clean.</summary>
    public void Reset()
    {
        passActive = false;
        nextLaunch = 0;
        foreach (var flags in readyFlags) Array.Clear(flags);
        foreach (var bucket in buckets) { bucket.Ready = 0; bucket.Work = null; }
    }

    static unsafe void CopyIn(Bucket bucket, int index, Tensor? grad)
    {
        if (grad != null) { FlatBuffer.Pack(bucket.Flat, bucket.Offsets[index], grad); return; }
        var p = bucket.Parameters[index];
        using var pin = bucket.Flat.Pin(forWriting: true);
        int bytes = p.DType.ElementSize();
        new Span<byte>((byte*)pin.Pointer + (long)bucket.Offsets[index] * bytes, p.NumEl * bytes).Clear();
    }

    static unsafe void CopyOut(Bucket bucket)
    {
        using var pin = bucket.Flat.Pin();
        for (int i = 0; i < bucket.Parameters.Length; i++)
        {
            var p = bucket.Parameters[i];
            int bytes = p.DType.ElementSize(), count = p.NumEl;
            var source = new ReadOnlySpan<byte>((byte*)pin.Pointer + (long)bucket.Offsets[i] * bytes, count * bytes);
            if (p.Grad == null)
            {
                if (source.IndexOfAnyExcept((byte)0) < 0) continue;   // no rank used it: leave Grad unset
                p.Grad = TensorScope.Suspend(() => Tensor.Zeros(p.Shape.ToArray(), p.DType));   // outlives the step's scope
            }
            else if (!p.Grad.IsContiguous) p.Grad = TensorScope.Suspend(p.Grad.Contiguous);
            using var target = p.Grad.Pin(forWriting: true);
            source.CopyTo(new Span<byte>(target.Pointer, count * bytes));
        }
    }

    public void Dispose() { foreach (var h in hooks) h.Dispose(); hooks.Clear(); }
}
