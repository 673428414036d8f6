using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Distributed;

/// <summary>
/// ZeRO stage 1 (torch.distributed.optim.ZeroRedundancyOptimizer): shards an optimizer's state across the ranks. Each
/// parameter gets one owner rank (greedy by size, largest first, to the rank holding the fewest elements so far, as in
/// PyTorch); in <see cref="Optimizer"/>'s <c>Step()</c> a rank updates only the parameters it owns, so it keeps Adam's
/// moments for about 1/N of the elements, and then the parameters are broadcast from their owners (one flat bucket per
/// owner and dtype), so all replicas hold the
/// same updated weights. Use it with <see cref="DistributedDataParallel"/> (gradients already averaged everywhere):
/// <code>var zero = new ZeroRedundancyOptimizer(new Adam(ddp.Parameters(), lr: 1e-3));
/// new Trainer(ddp, zero.Optimizer, F.CrossEntropy).Fit(...);</code>
/// The optimizer is used unchanged (schedulers, clipping, the Trainer); the sharding lives in its step hooks.
/// Its <c>StateDict()</c> holds this rank's shard only: <see cref="ConsolidateStateDict"/> (on every rank) gathers the
/// whole state, and <see cref="LoadStateDict"/> takes a whole state and keeps this rank's shard, so a state saved on N
/// ranks (or by a plain optimizer) loads on any number of ranks.
/// </summary>
public sealed class ZeroRedundancyOptimizer : IDisposable
{
    const int HeaderLength = 256;
    readonly Tensor[] parameters;
    readonly int[] owners;
    readonly HookHandle preHook, postHook;
    readonly List<(Tensor Parameter, Tensor Grad)> hidden = [];
    // one flat buffer per (owner, dtype): the owner packs its updated parameters into it, then one broadcast per buffer
    readonly List<(int Owner, int[] Members, int[] Offsets, Tensor Flat)> buckets = [];

    /// <summary>
    /// Shards <paramref name="optimizer"/> over <paramref name="group"/> (default <see cref="ProcessGroup.World"/>)
    /// (ZeroRedundancyOptimizer(params, optimizer_class, process_group)). Every rank must pass an optimizer over the same
    /// parameters in the same order; it must not have stepped yet (its state would not be sharded).
    /// </summary>
    public ZeroRedundancyOptimizer(Optimizer optimizer, ProcessGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.State.Count > 0)
            throw new ArgumentException($"ZeroRedundancyOptimizer: the {optimizer.GetType().Name} already holds state for {optimizer.State.Count} parameters; shard it before its first step (or use LoadStateDict afterwards)", nameof(optimizer));
        Optimizer = optimizer;
        Group = group ?? ProcessGroup.World;
        parameters = optimizer.Parameters().ToArray();
        owners = Partition(parameters, Group.WorldSize);
        if (Group.WorldSize > 1)
            foreach (var bucket in Enumerable.Range(0, parameters.Length).GroupBy(i => (owners[i], parameters[i].DType)))
            {
                var members = bucket.ToArray();
                var offsets = new int[members.Length];
                for (int m = 1; m < members.Length; m++) offsets[m] = offsets[m - 1] + parameters[members[m - 1]].NumEl;
                buckets.Add((bucket.Key.Item1, members, offsets, Tensor.Zeros([members.Sum(i => parameters[i].NumEl)], bucket.Key.Item2)));
            }
        preHook = optimizer.RegisterStepPreHook(_ => HideForeignGradients());
        postHook = optimizer.RegisterStepPostHook(_ => { RestoreGradients(); BroadcastFromOwners(); });
    }

    /// <summary>The sharded optimizer: give it to the Trainer or call its Step() as usual.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The ranks the state is sharded over.</summary>
    public ProcessGroup Group { get; }

    /// <summary>The rank that updates <paramref name="parameter"/> and keeps its state.</summary>
    public int OwnerOf(Tensor parameter)
    {
        int index = Array.FindIndex(parameters, p => ReferenceEquals(p, parameter));
        if (index < 0) throw new ArgumentException("ZeroRedundancyOptimizer.OwnerOf: the tensor is not one of the optimizer's parameters", nameof(parameter));
        return owners[index];
    }

    /// <summary>The parameters this rank updates (its shard).</summary>
    public IReadOnlyList<Tensor> LocalParameters => parameters.Where((_, i) => owners[i] == Group.Rank).ToArray();

    /// <summary>Bytes of optimizer state (moments, momentum buffers) this rank holds.</summary>
    public long LocalStateBytes => StateBytes(Optimizer);

    /// <summary>Bytes of state buffers held by <paramref name="optimizer"/> (for comparing a plain optimizer with a sharded one).</summary>
    public static long StateBytes(Optimizer optimizer) =>
        optimizer.State.Values.SelectMany(s => s.Buffers.Values).Sum(b => (long)b.NumEl * b.DType.ElementSize());

    /// <summary>
    /// Owner of each parameter: largest first, each to the rank with the fewest elements so far (lowest rank on a tie),
    /// the rule of PyTorch's ZeroRedundancyOptimizer; the same on every rank since it depends on shapes only.
    /// </summary>
    static int[] Partition(Tensor[] parameters, int ranks)
    {
        var owners = new int[parameters.Length];
        var load = new long[ranks];
        var order = Enumerable.Range(0, parameters.Length).OrderByDescending(i => parameters[i].NumEl).ThenBy(i => i);
        foreach (int i in order)
        {
            int rank = Array.IndexOf(load, load.Min());
            owners[i] = rank;
            load[rank] += parameters[i].NumEl;
        }
        return owners;
    }

    // Before the update: the parameters of other ranks lose their gradient for the duration of the step, so the optimizer
    // skips them and never creates their state; the post hook gives the gradients back.
    void HideForeignGradients()
    {
        hidden.Clear();
        for (int i = 0; i < parameters.Length; i++)
            if (owners[i] != Group.Rank && parameters[i].Grad is { } grad) { hidden.Add((parameters[i], grad)); parameters[i].Grad = null; }
    }

    void RestoreGradients()
    {
        foreach (var (parameter, grad) in hidden) parameter.Grad = grad;
        hidden.Clear();
    }

    // One broadcast per (owner, dtype) bucket rather than one per parameter (PyTorch's parameters_as_bucket_view
    // packs them likewise): the owner copies its parameters into the bucket, the other ranks copy them out.
    void BroadcastFromOwners()
    {
        if (Group.WorldSize == 1) return;
        var works = new Work[buckets.Count];
        for (int b = 0; b < buckets.Count; b++)
        {
            var (owner, members, offsets, flat) = buckets[b];
            if (owner == Group.Rank)
                for (int m = 0; m < members.Length; m++) FlatBuffer.Pack(flat, offsets[m], parameters[members[m]]);
            works[b] = Group.BroadcastAsync(flat, owner);
        }
        Work.WaitAll(works);
        foreach (var (owner, members, offsets, flat) in buckets)
        {
            if (owner == Group.Rank) continue;
            for (int m = 0; m < members.Length; m++)
            {
                var p = parameters[members[m]];
                if (!p.IsContiguous) throw new InvalidOperationException($"ZeroRedundancyOptimizer: parameter {members[m]} of shape ({string.Join(", ", p.Shape)}) is not contiguous");
                FlatBuffer.Unpack(flat, offsets[m], p);
            }
        }
    }

    /// <summary>
    /// The whole optimizer state, every rank's shard put together, in the layout of a plain optimizer's StateDict (so a
    /// plain optimizer or a ZeroRedundancyOptimizer on any number of ranks can load it) (consolidate_state_dict +
    /// state_dict). Collective: every rank must call it; every rank gets the whole state.
    /// </summary>
    public OptimizerState ConsolidateStateDict()
    {
        var local = Optimizer.StateDict();
        var whole = new OptimizerState();
        foreach (var (key, value) in local.Scalars)
            if (key.StartsWith("param_groups.", StringComparison.Ordinal)) whole.Scalars[key] = value;
        for (int i = 0; i < parameters.Length; i++)
        {
            bool mine = owners[i] == Group.Rank;
            string[] names = mine ? local.Tensors.Keys.Where(k => k.StartsWith($"state.{i}.", StringComparison.Ordinal)).Select(k => k[$"state.{i}.".Length..]).Order(StringComparer.Ordinal).ToArray() : [];
            var header = Tensor.FromArray(mine ? WriteHeader(local.Scalars.TryGetValue($"state.{i}.step", out double step) ? (long)step : -1, names) : new long[HeaderLength]);
            Group.Broadcast(header, owners[i]);
            var (savedStep, savedNames) = ReadHeader(header.ToArray<long>());
            if (savedStep >= 0) whole.Scalars[$"state.{i}.step"] = savedStep;
            foreach (var name in savedNames)
            {
                var p = parameters[i];
                var buffer = mine ? CheckBuffer(local.Tensors[$"state.{i}.{name}"], p, i, name).Contiguous().Clone() : Tensor.Zeros(p.Shape.ToArray(), p.DType);
                Group.Broadcast(buffer, owners[i]);
                whole.Tensors[$"state.{i}.{name}"] = buffer;
            }
        }
        return whole;
    }

    static Tensor CheckBuffer(Tensor buffer, Tensor parameter, int index, string name)
    {
        if (!buffer.Shape.SequenceEqual(parameter.Shape))
            throw new NotSupportedException($"ZeroRedundancyOptimizer.ConsolidateStateDict: state '{name}' of parameter {index} has shape ({string.Join(", ", buffer.Shape)}), not its parameter's ({string.Join(", ", parameter.Shape)})");
        return buffer.DType == parameter.DType ? buffer : buffer.To(parameter.DType);
    }

    static long[] WriteHeader(long step, string[] names)
    {
        var values = new long[HeaderLength];
        int at = 0;
        values[at++] = step;
        values[at++] = names.Length;
        foreach (var name in names)
        {
            if (at + 1 + name.Length > HeaderLength) throw new NotSupportedException($"ZeroRedundancyOptimizer.ConsolidateStateDict: the state names ({string.Join(", ", names)}) are too long");
            values[at++] = name.Length;
            foreach (char c in name) values[at++] = c;
        }
        return values;
    }

    static (long Step, string[] Names) ReadHeader(long[] values)
    {
        int at = 2;
        var names = new string[values[1]];
        for (int n = 0; n < names.Length; n++)
        {
            int length = (int)values[at++];
            names[n] = new string(Enumerable.Range(0, length).Select(k => (char)values[at + k]).ToArray());
            at += length;
        }
        return (values[0], names);
    }

    /// <summary>
    /// Loads a whole optimizer state (from <see cref="ConsolidateStateDict"/>, on any number of ranks, or from a plain
    /// optimizer's StateDict) and keeps this rank's shard (ZeroRedundancyOptimizer.load_state_dict).
    /// </summary>
    public void LoadStateDict(OptimizerState stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        bool Keep(string key)
        {
            if (!key.StartsWith("state.", StringComparison.Ordinal)) return true;
            var parts = key.Split('.', 3);
            return !int.TryParse(parts[1], out int index) || index >= owners.Length || owners[index] == Group.Rank;
        }
        Optimizer.LoadStateDict(new OptimizerState
        {
            Scalars = stateDict.Scalars.Where(kv => Keep(kv.Key)).ToDictionary(),
            Tensors = stateDict.Tensors.Where(kv => Keep(kv.Key)).ToDictionary(),
        });
    }

    /// <summary>
    /// Runs <paramref name="action"/> while the optimizer holds the whole state on every rank, then keeps this rank's shard
    /// again: for code that reads the optimizer's StateDict(), such as the Trainer's SaveCheckpoint on rank 0.
    /// Collective (see <see cref="ConsolidateStateDict"/>).
    /// </summary>
    public void WithWholeState(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var whole = ConsolidateStateDict();
        Optimizer.LoadStateDict(whole);
        try { action(); }
        finally { LoadStateDict(whole); }
    }

    /// <summary>Removes the step hooks: the optimizer updates every parameter again (its state stays sharded).</summary>
    public void Dispose() { preHook.Dispose(); postHook.Dispose(); }
}
