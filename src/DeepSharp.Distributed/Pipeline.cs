using DeepSharp.NN;

namespace DeepSharp.Distributed;

/// <summary>
/// GPipe-style pipeline parallelism (torch.distributed.pipelining's ScheduleGPipe; torchgpipe's GPipe(model, balance,
/// chunks)): a <see cref="Sequential"/> is cut into consecutive stages, stage r on rank r, and each batch is split into
/// <see cref="Chunks"/> micro-batches. <see cref="Step"/> runs the forward of every micro-batch through the stages,
/// passing activations with Send/Recv, then the backward of every micro-batch in reverse order, passing the gradients
/// of the activations back; each rank's parameters end with the gradient of the whole batch's mean loss (the micro-batch
/// losses are averaged), as if the model ran in one process. Then each rank steps an optimizer over <see cref="Stage"/>'s
/// parameters. Every rank builds the whole model (same seed) and keeps its stage. Layers that look across the batch
/// (BatchNorm) see micro-batches, as in GPipe.
/// </summary>
public sealed class Pipeline
{
    const int HeaderLength = 10;   // dtype code, rank, up to 8 dims
    const int ActivationTag = 1, GradientTag = 2;
    readonly ProcessGroup group;

    /// <summary>
    /// Takes this rank's stage of <paramref name="model"/> (Pipe(module, chunks)). <paramref name="balance"/> gives the
    /// number of layers of each stage (one entry per rank; default: as even as possible); <paramref name="chunks"/> the
    /// number of micro-batches per batch.
    /// </summary>
    public Pipeline(Sequential model, int chunks, int[]? balance = null, ProcessGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.group = group ?? ProcessGroup.World;
        int stages = this.group.WorldSize;
        if (chunks < 1) throw new ArgumentOutOfRangeException(nameof(chunks), $"Pipeline: chunks must be at least 1, got {chunks}");
        balance ??= Enumerable.Range(0, stages).Select(r => model.Count / stages + (r < model.Count % stages ? 1 : 0)).ToArray();
        if (balance.Length != stages || balance.Any(b => b < 1) || balance.Sum() != model.Count)
            throw new ArgumentException($"Pipeline: balance [{string.Join(", ", balance)}] must give each of the {stages} ranks at least one layer and sum to the model's {model.Count} layers", nameof(balance));
        Chunks = chunks;
        FirstLayer = balance.Take(this.group.Rank).Sum();
        Stage = new Sequential(Enumerable.Range(FirstLayer, balance[this.group.Rank]).Select(i => (model.Names[i], model[i])).ToArray());
    }

    /// <summary>This rank's layers.</summary>
    public Sequential Stage { get; }

    /// <summary>Index in the whole model of the stage's first layer.</summary>
    public int FirstLayer { get; }

    /// <summary>Micro-batches per batch (chunks).</summary>
    public int Chunks { get; }

    /// <summary>True on the rank that holds the first stage (and takes the input).</summary>
    public bool IsFirst => group.Rank == 0;

    /// <summary>True on the rank that holds the last stage (and takes the targets and computes the loss).</summary>
    public bool IsLast => group.Rank == group.WorldSize - 1;

    /// <summary>
    /// Forward and backward of one batch over all stages (schedule.step(x, target=y)); call it on every rank.
    /// <paramref name="input"/> is needed on the first rank, <paramref name="target"/> on the last (others may pass null).
    /// Parameter gradients accumulate into each stage's Grad (zero them before, step the optimizer after). Returns the
    /// mean loss over the batch on every rank.
    /// </summary>
    public double Step(Tensor? input, Tensor? target, Func<Tensor, Tensor, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (IsFirst) ArgumentNullException.ThrowIfNull(input);
        if (IsLast) ArgumentNullException.ThrowIfNull(target);
        var inputs = IsFirst ? Split(input!, nameof(input)) : null;
        var targets = IsLast ? Split(target!, nameof(target)) : null;
        var stageInputs = new Tensor[Chunks];
        var stageOutputs = new Tensor[Chunks];
        double total = 0;
        for (int m = 0; m < Chunks; m++)   // forward of every micro-batch
        {
            stageInputs[m] = IsFirst ? inputs![m] : ReceiveTensor(group.Rank - 1, ActivationTag, requiresGrad: true);
            stageOutputs[m] = Stage.Call(stageInputs[m]);
            if (IsLast)
            {
                stageOutputs[m] = loss(stageOutputs[m], targets![m]) / Chunks;
                total += stageOutputs[m].Item();
            }
            else SendTensor(stageOutputs[m], group.Rank + 1, ActivationTag);
        }
        for (int m = Chunks - 1; m >= 0; m--)   // backward, last micro-batch first
        {
            if (IsLast) stageOutputs[m].Backward();
            else stageOutputs[m].Backward(ReceiveTensor(group.Rank + 1, GradientTag, requiresGrad: false));
            if (!IsFirst)
                SendTensor(stageInputs[m].Grad ?? Tensor.ZerosLike(stageInputs[m]), group.Rank - 1, GradientTag);
        }
        var result = Tensor.FromArray([total]);
        group.Broadcast(result, group.WorldSize - 1);
        return result.ToArray<double>()[0];
    }

    /// <summary>Forward only, micro-batch by micro-batch (evaluation): the output on the last rank, null elsewhere.</summary>
    public Tensor? Forward(Tensor? input)
    {
        if (IsFirst) ArgumentNullException.ThrowIfNull(input);
        using var _ = Autograd.NoGrad();
        var inputs = IsFirst ? Split(input!, nameof(input)) : null;
        var outputs = new Tensor[Chunks];
        for (int m = 0; m < Chunks; m++)
        {
            outputs[m] = Stage.Call(IsFirst ? inputs![m] : ReceiveTensor(group.Rank - 1, ActivationTag, requiresGrad: false));
            if (!IsLast) SendTensor(outputs[m], group.Rank + 1, ActivationTag);
        }
        return IsLast ? Tensor.Cat(outputs, 0) : null;
    }

    Tensor[] Split(Tensor batch, string argument)
    {
        if (batch.Rank == 0 || batch.Shape[0] % Chunks != 0)
            throw new ArgumentException($"Pipeline: {argument} of shape ({string.Join(", ", batch.Shape)}) must have a batch dimension divisible by the {Chunks} chunks", argument);
        int size = batch.Shape[0] / Chunks;
        return Enumerable.Range(0, Chunks).Select(m => batch.Narrow(0, m * size, size)).ToArray();
    }

    // A tensor travels as a fixed-size int64 header (dtype, rank, shape) followed by its data.
    void SendTensor(Tensor tensor, int destination, int tag)
    {
        if (tensor.Rank > HeaderLength - 2) throw new NotSupportedException($"Pipeline: activations of rank {tensor.Rank} (more than {HeaderLength - 2} dims) are not supported");
        var header = new long[HeaderLength];
        header[0] = tensor.DType switch { DType.Float32 => 0, DType.Float64 => 1, _ => throw new NotSupportedException($"Pipeline: a stage output of dtype {tensor.DType} cannot be sent; float32 or float64 expected") };
        header[1] = tensor.Rank;
        for (int d = 0; d < tensor.Rank; d++) header[2 + d] = tensor.Shape[d];
        group.Send(Tensor.FromArray(header), destination, tag);
        using (Autograd.NoGrad()) group.Send(tensor.Detach().Contiguous(), destination, tag);
    }

    Tensor ReceiveTensor(int source, int tag, bool requiresGrad)
    {
        var header = Tensor.Zeros([HeaderLength], DType.Int64);
        group.Recv(header, source, tag);
        var h = header.ToArray<long>();
        var shape = Enumerable.Range(0, (int)h[1]).Select(d => (int)h[2 + d]).ToArray();
        var tensor = Tensor.Zeros(shape, h[0] == 0 ? DType.Float32 : DType.Float64);
        group.Recv(tensor, source, tag);
        return requiresGrad ? tensor.RequiresGrad_() : tensor;
    }
}
