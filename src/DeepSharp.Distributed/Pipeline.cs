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
    readonly Sequential whole;
    readonly int[] balance;

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
        whole = model;
        this.balance = balance;
        FirstLayer = balance.Take(this.group.Rank).Sum();
        Stage = new Sequential(Enumerable.Range(FirstLayer, balance[this.group.Rank]).Select(i => (model.Names[i], model[i])).ToArray());
    }

    /// <summary>
    /// A Sequential view of <paramref name="model"/>'s layers in order, sharing its modules (training the view trains the
    /// model): a Sequential's children, or another module's direct children, with nested Sequentials opened, e.g. an
    /// MLP's Flatten and each Linear and activation. Only right for models whose forward applies their children one after
    /// another (check the view's output against the model's before training on it).
    /// </summary>
    public static Sequential Chain(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        void Open(Module m, string prefix)
        {
            foreach (var (name, child) in m.NamedChildren())
            {
                string path = prefix + name;
                if (child is Sequential) Open(child, path + "_");
                else layers.Add((path, child as Module<Tensor, Tensor> ?? throw new ArgumentException(
                    $"Pipeline.Chain: layer {path} ({child.GetType().Name}) does not map a tensor to a tensor", nameof(model))));
            }
        }
        Open(model, "");
        if (layers.Count == 0) throw new ArgumentException($"Pipeline.Chain: {model.GetType().Name} has no layers", nameof(model));
        return new Sequential(layers.ToArray());
    }

    /// <summary>This rank's layers.</summary>
    public Sequential Stage { get; }

    /// <summary>The number of layers of each stage (rank).</summary>
    public IReadOnlyList<int> Balance => balance;

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
    public double Step(Tensor? input, Tensor? target, Func<Tensor, Tensor, Tensor> loss) => Run(input, target, loss, shareOutput: false).Loss;

    /// <summary>
    /// <see cref="Step"/>, and the last stage's output for the whole batch (detached, the micro-batches concatenated)
    /// sent to every rank, for metrics such as accuracy (the Trainer's <see cref="PipelineTrainer"/> uses it).
    /// </summary>
    public (double Loss, Tensor Output) StepWithOutput(Tensor? input, Tensor? target, Func<Tensor, Tensor, Tensor> loss)
    {
        var (value, output) = Run(input, target, loss, shareOutput: true);
        return (value, output!);
    }

    (double Loss, Tensor? Output) Run(Tensor? input, Tensor? target, Func<Tensor, Tensor, Tensor> loss, bool shareOutput)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (IsFirst) ArgumentNullException.ThrowIfNull(input);
        if (IsLast) ArgumentNullException.ThrowIfNull(target);
        int batch = BatchSize(input);
        var sizes = MicroBatches(batch);
        var inputs = IsFirst ? Split(input!, sizes) : null;
        if (IsLast && (target!.Rank == 0 || target.Shape[0] != batch))
            throw new ArgumentException($"Pipeline: target of shape ({string.Join(", ", target.Shape)}) must have the input's batch of {batch} examples", nameof(target));
        var targets = IsLast ? Split(target!, sizes) : null;
        int count = sizes.Length;
        var stageInputs = new Tensor[count];
        var stageOutputs = new Tensor[count];
        var predictions = IsLast && shareOutput ? new Tensor[count] : null;
        double total = 0;
        for (int m = 0; m < count; m++)   // forward of every micro-batch
        {
            stageInputs[m] = IsFirst ? inputs![m] : ReceiveTensor(group.Rank - 1, ActivationTag, requiresGrad: true);
            stageOutputs[m] = Stage.Call(stageInputs[m]);
            if (IsLast)
            {
                if (predictions != null) predictions[m] = stageOutputs[m].Detach();
                // the batch's mean loss: each micro-batch's mean weighted by its share of the batch
                stageOutputs[m] = loss(stageOutputs[m], targets![m]) * ((double)sizes[m] / batch);
                total += stageOutputs[m].Item();
            }
            else SendTensor(stageOutputs[m], group.Rank + 1, ActivationTag);
        }
        for (int m = count - 1; m >= 0; m--)   // backward, last micro-batch first
        {
            if (IsLast) stageOutputs[m].Backward();
            else stageOutputs[m].Backward(ReceiveTensor(group.Rank + 1, GradientTag, requiresGrad: false));
            if (!IsFirst)
                SendTensor(stageInputs[m].Grad ?? Tensor.ZerosLike(stageInputs[m]), group.Rank - 1, GradientTag);
        }
        var result = Tensor.FromArray([total]);
        group.Broadcast(result, group.WorldSize - 1);
        var output = shareOutput ? ShareFromLast(predictions == null ? null : Tensor.Cat(predictions, 0)) : null;
        return (result.ToArray<double>()[0], output);
    }

    /// <summary>Forward only, micro-batch by micro-batch (evaluation): the output on the last rank, null elsewhere.</summary>
    public Tensor? Forward(Tensor? input) => Forward(input, shareOutput: false);

    /// <summary>Forward only (evaluation), with the last stage's output sent to every rank.</summary>
    public Tensor ForwardAll(Tensor? input) => Forward(input, shareOutput: true)!;

    Tensor? Forward(Tensor? input, bool shareOutput)
    {
        if (IsFirst) ArgumentNullException.ThrowIfNull(input);
        using var _ = Autograd.NoGrad();
        var sizes = MicroBatches(BatchSize(input));
        var inputs = IsFirst ? Split(input!, sizes) : null;
        var outputs = new Tensor[sizes.Length];
        for (int m = 0; m < sizes.Length; m++)
        {
            outputs[m] = Stage.Call(IsFirst ? inputs![m] : ReceiveTensor(group.Rank - 1, ActivationTag, requiresGrad: false));
            if (!IsLast) SendTensor(outputs[m], group.Rank + 1, ActivationTag);
        }
        var whole = IsLast ? Tensor.Cat(outputs, 0) : null;
        return shareOutput ? ShareFromLast(whole) : whole;
    }

    /// <summary>
    /// Sends every stage's parameters and buffers from the rank that trained it to all ranks, so that the whole model
    /// each rank built (the Sequential given to the constructor) holds the trained weights everywhere, e.g. for saving.
    /// </summary>
    public void GatherModel()
    {
        using var _ = Autograd.NoGrad();
        for (int stage = 0, layer = 0; stage < balance.Length; layer += balance[stage], stage++)
            for (int i = layer; i < layer + balance[stage]; i++)
                foreach (var t in whole[i].Parameters().Concat(whole[i].Buffers()))
                {
                    if (!t.IsContiguous) throw new NotSupportedException($"Pipeline.GatherModel: layer {whole.Names[i]} has a non-contiguous tensor");
                    group.Broadcast(t, stage);
                }
    }

    // The batch size, announced by the first rank (the only one that has the input).
    int BatchSize(Tensor? input)
    {
        var size = Tensor.FromArray([IsFirst ? (input!.Rank == 0 ? 0L : input.Shape[0]) : 0L]);
        group.Broadcast(size, 0);
        long batch = size.ToArray<long>()[0];
        if (batch < 1) throw new ArgumentException($"Pipeline: the input{(IsFirst ? $" of shape ({string.Join(", ", input!.Shape)})" : " on rank 0")} must have a batch dimension of at least 1 example", nameof(input));
        return (int)batch;
    }

    // min(chunks, batch) micro-batches, sizes as even as possible (the first ones one larger)
    int[] MicroBatches(int batch)
    {
        int count = Math.Min(Chunks, batch);
        return Enumerable.Range(0, count).Select(m => batch / count + (m < batch % count ? 1 : 0)).ToArray();
    }

    static Tensor[] Split(Tensor batch, int[] sizes)
    {
        var parts = new Tensor[sizes.Length];
        for (int m = 0, start = 0; m < sizes.Length; start += sizes[m], m++) parts[m] = batch.Narrow(0, start, sizes[m]);
        return parts;
    }

    // The last rank's tensor on every rank: its header, then its data, broadcast.
    Tensor ShareFromLast(Tensor? tensor)
    {
        int last = group.WorldSize - 1;
        var header = Tensor.Zeros([HeaderLength], DType.Int64);
        if (IsLast) header = Header(tensor!);
        group.Broadcast(header, last);
        var h = header.ToArray<long>();
        var shared = IsLast ? tensor!.Contiguous() : Tensor.Zeros(Enumerable.Range(0, (int)h[1]).Select(d => (int)h[2 + d]).ToArray(), h[0] == 0 ? DType.Float32 : DType.Float64);
        group.Broadcast(shared, last);
        return shared;
    }

    // A tensor travels as a fixed-size int64 header (dtype, rank, shape) followed by its data.
    void SendTensor(Tensor tensor, int destination, int tag)
    {
        group.Send(Header(tensor), destination, tag);
        using (Autograd.NoGrad()) group.Send(tensor.Detach().Contiguous(), destination, tag);
    }

    static Tensor Header(Tensor tensor)
    {
        if (tensor.Rank > HeaderLength - 2) throw new NotSupportedException($"Pipeline: activations of rank {tensor.Rank} (more than {HeaderLength - 2} dims) are not supported");
        var header = new long[HeaderLength];
        header[0] = tensor.DType switch { DType.Float32 => 0, DType.Float64 => 1, _ => throw new NotSupportedException($"Pipeline: a stage output of dtype {tensor.DType} cannot be sent; float32 or float64 expected") };
        header[1] = tensor.Rank;
        for (int d = 0; d < tensor.Rank; d++) header[2 + d] = tensor.Shape[d];
        return Tensor.FromArray(header);
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
