using System.Buffers;
using DeepSharp.Distributed.Mpi;

namespace DeepSharp.Distributed;

// The operations: each checks its tensors (clear ArgumentException), pins them, starts the MPI nonblocking call
// (MPI_I*), and returns the Work; the plain forms wait. Averages are a sum divided by the world size on completion.
public sealed partial class ProcessGroup
{
    static readonly unsafe void* InPlace = (void*)-1;   // MPI_IN_PLACE

    /// <summary>Reduces <paramref name="tensor"/> across all ranks in place, every rank getting the result (torch.distributed.all_reduce).</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => AllReduceAsync(tensor, op).Wait();

    /// <summary>Starts <see cref="AllReduce"/> (all_reduce(..., async_op=True)).</summary>
    public unsafe Work AllReduceAsync(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        int type = CheckTensor(tensor, nameof(tensor), "AllReduce");
        int mpiOp = CheckOp(op, tensor, "AllReduce");
        var pin = tensor.Pin(forWriting: true);
        void* data = pin.Pointer;
        int count = tensor.NumEl;
        return Work.Start(this, "AllReduce", [pin], r => MpiNative.MPI_Iallreduce(InPlace, data, count, type, mpiOp, MpiNative.CommWorld, r),
            op == ReduceOp.Average ? () => Divide(data, count, tensor.DType) : null);
    }

    /// <summary>Copies <paramref name="tensor"/> from rank <paramref name="source"/> to every rank, in place (torch.distributed.broadcast).</summary>
    public void Broadcast(Tensor tensor, int source = 0) => BroadcastAsync(tensor, source).Wait();

    /// <summary>Starts <see cref="Broadcast"/> (broadcast(..., async_op=True)).</summary>
    public unsafe Work BroadcastAsync(Tensor tensor, int source = 0)
    {
        int type = CheckTensor(tensor, nameof(tensor), "Broadcast");
        CheckRank(source, nameof(source), "Broadcast");
        var pin = tensor.Pin(forWriting: true);
        void* data = pin.Pointer;
        int count = tensor.NumEl;
        return Work.Start(this, "Broadcast", [pin], r => MpiNative.MPI_Ibcast(data, count, type, source, MpiNative.CommWorld, r));
    }

    /// <summary>
    /// Gathers every rank's <paramref name="input"/> into <paramref name="output"/>, rank i's values at block i
    /// (torch.distributed.all_gather_into_tensor): output has <see cref="WorldSize"/> × input's elements.
    /// </summary>
    public void AllGather(Tensor output, Tensor input) => AllGatherAsync(output, input).Wait();

    /// <summary>Gathers every rank's <paramref name="input"/> and returns one tensor per rank (torch.distributed.all_gather).</summary>
    public Tensor[] AllGather(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int[] shape = [WorldSize, .. input.Shape];
        var output = Tensor.Zeros(shape, input.DType);
        AllGather(output, input.Contiguous());
        return Enumerable.Range(0, WorldSize).Select(i => output.Select(0, i)).ToArray();
    }

    /// <summary>Starts <see cref="AllGather(Tensor, Tensor)"/> (all_gather_into_tensor(..., async_op=True)).</summary>
    public unsafe Work AllGatherAsync(Tensor output, Tensor input)
    {
        int type = CheckTensor(input, nameof(input), "AllGather");
        CheckTensor(output, nameof(output), "AllGather");
        CheckBlocks(output, input, nameof(output), "AllGather");
        var inPin = input.Pin();
        var outPin = output.Pin(forWriting: true);
        void* send = inPin.Pointer, recv = outPin.Pointer;
        int count = input.NumEl;
        return Work.Start(this, "AllGather", [inPin, outPin], r => MpiNative.MPI_Iallgather(send, count, type, recv, count, type, MpiNative.CommWorld, r));
    }

    /// <summary>
    /// Reduces <paramref name="input"/> across ranks and leaves block <see cref="Rank"/> of the result in
    /// <paramref name="output"/> (torch.distributed.reduce_scatter_tensor): input has <see cref="WorldSize"/> × output's elements.
    /// </summary>
    public void ReduceScatter(Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum) => ReduceScatterAsync(output, input, op).Wait();

    /// <summary>Starts <see cref="ReduceScatter"/> (reduce_scatter_tensor(..., async_op=True)).</summary>
    public unsafe Work ReduceScatterAsync(Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        int type = CheckTensor(input, nameof(input), "ReduceScatter");
        CheckTensor(output, nameof(output), "ReduceScatter");
        CheckBlocks(input, output, nameof(input), "ReduceScatter");
        int mpiOp = CheckOp(op, input, "ReduceScatter");
        var inPin = input.Pin();
        var outPin = output.Pin(forWriting: true);
        void* send = inPin.Pointer, recv = outPin.Pointer;
        int count = output.NumEl;
        return Work.Start(this, "ReduceScatter", [inPin, outPin], r => MpiNative.MPI_Ireduce_scatter_block(send, recv, count, type, mpiOp, MpiNative.CommWorld, r),
            op == ReduceOp.Average ? () => Divide(recv, count, output.DType) : null);
    }

    /// <summary>Waits until every rank has reached the barrier (torch.distributed.barrier).</summary>
    public void Barrier() => BarrierAsync().Wait();

    /// <summary>Starts <see cref="Barrier"/> (barrier(async_op=True)).</summary>
    public unsafe Work BarrierAsync() => Work.Start(this, "Barrier", [], r => MpiNative.MPI_Ibarrier(MpiNative.CommWorld, r));

    /// <summary>Sends <paramref name="tensor"/> to rank <paramref name="destination"/> (torch.distributed.send).</summary>
    public void Send(Tensor tensor, int destination, int tag = 0) => SendAsync(tensor, destination, tag).Wait();

    /// <summary>Starts <see cref="Send"/> (torch.distributed.isend).</summary>
    public unsafe Work SendAsync(Tensor tensor, int destination, int tag = 0)
    {
        int type = CheckTensor(tensor, nameof(tensor), "Send");
        CheckRank(destination, nameof(destination), "Send");
        var pin = tensor.Pin();
        void* data = pin.Pointer;
        int count = tensor.NumEl;
        return Work.Start(this, $"Send to rank {destination}", [pin], r => MpiNative.MPI_Isend(data, count, type, destination, tag, MpiNative.CommWorld, r));
    }

    /// <summary>Receives into <paramref name="tensor"/> from rank <paramref name="source"/>, or any rank when null (torch.distributed.recv).</summary>
    public void Recv(Tensor tensor, int? source = null, int tag = 0) => RecvAsync(tensor, source, tag).Wait();

    /// <summary>Starts <see cref="Recv"/> (torch.distributed.irecv).</summary>
    public unsafe Work RecvAsync(Tensor tensor, int? source = null, int tag = 0)
    {
        int type = CheckTensor(tensor, nameof(tensor), "Recv");
        if (source is { } s) CheckRank(s, nameof(source), "Recv");
        var pin = tensor.Pin(forWriting: true);
        void* data = pin.Pointer;
        int count = tensor.NumEl, from = source ?? MpiNative.AnySource;
        return Work.Start(this, $"Recv from rank {source?.ToString() ?? "any"}", [pin], r => MpiNative.MPI_Irecv(data, count, type, from, tag, MpiNative.CommWorld, r));
    }

    static int CheckTensor(Tensor tensor, string argument, string op)
    {
        ArgumentNullException.ThrowIfNull(tensor, argument);
        if (!tensor.IsContiguous)
            throw new ArgumentException($"{op}: {argument} of shape {Format(tensor)} is not contiguous; call Contiguous() first", argument);
        return tensor.DType switch
        {
            DType.Float32 => MpiNative.Float,
            DType.Float64 => MpiNative.Double,
            DType.Int64 => MpiNative.Int64,
            _ => throw new ArgumentException($"{op}: {argument} has dtype {tensor.DType}; float32, float64 and int64 are supported", argument),
        };
    }

    static int CheckOp(ReduceOp op, Tensor tensor, string name) => op switch
    {
        ReduceOp.Sum => MpiNative.OpSum,
        ReduceOp.Average when tensor.DType == DType.Int64 => throw new ArgumentException($"{name}: ReduceOp.Average needs a floating-point tensor, got int64", nameof(op)),
        ReduceOp.Average => MpiNative.OpSum,
        ReduceOp.Max => MpiNative.OpMax,
        ReduceOp.Min => MpiNative.OpMin,
        _ => throw new ArgumentOutOfRangeException(nameof(op), $"{name}: unknown ReduceOp {op}"),
    };

    void CheckRank(int rank, string argument, string op)
    {
        if (rank < 0 || rank >= WorldSize)
            throw new ArgumentOutOfRangeException(argument, $"{op}: rank {rank} is outside 0..{WorldSize - 1}");
    }

    void CheckBlocks(Tensor whole, Tensor block, string argument, string op)
    {
        if (whole.DType != block.DType)
            throw new ArgumentException($"{op}: dtypes differ ({whole.DType} vs {block.DType})", argument);
        if ((long)whole.NumEl != (long)block.NumEl * WorldSize)
            throw new ArgumentException($"{op}: {argument} of shape {Format(whole)} must hold {WorldSize} × {block.NumEl} elements (world size × the shape {Format(block)})", argument);
    }

    unsafe void Divide(void* data, int count, DType dtype)
    {
        if (dtype == DType.Float32) { var s = new Span<float>(data, count); for (int i = 0; i < s.Length; i++) s[i] /= WorldSize; }
        else { var s = new Span<double>(data, count); for (int i = 0; i < s.Length; i++) s[i] /= WorldSize; }
    }

    static string Format(Tensor t) => "(" + string.Join(", ", t.Shape) + ")";
}
