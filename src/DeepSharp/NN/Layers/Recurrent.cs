namespace DeepSharp.NN;

/// <summary>The non-linearity of an Elman <see cref="RNN"/> or <see cref="RNNCell"/> (nonlinearity='tanh' / 'relu').</summary>
public enum RNNNonlinearity
{
    /// <summary>h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) ('tanh', the default).</summary>
    Tanh,
    /// <summary>h' = relu(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) ('relu').</summary>
    ReLU,
}

/// <summary>
/// Base of the multi-layer recurrent layers <see cref="RNN"/>, <see cref="LSTM"/> and <see cref="GRU"/> (torch.nn.RNNBase).
/// Parameters are registered in PyTorch's order and under its names, per layer k and direction ("_reverse" for the
/// backward direction of a bidirectional layer): weight_ih_lk (G·H, input of layer k), weight_hh_lk (G·H, H), and with
/// bias bias_ih_lk and bias_hh_lk (G·H), where G is the number of gates (RNN 1, GRU 3 in order r, z, n, LSTM 4 in order
/// i, f, g, o). A PyTorch state dict therefore loads with strict checking.
/// <para>
/// An <see cref="LSTM"/> with projections (<see cref="ProjSize"/> P &gt; 0, proj_size) also has weight_hr_lk (P, H) after
/// the biases; its hidden state, h0/h_n and output features have width P instead of H (c0/c_n keep H), weight_hh_lk is
/// (4H, P) and the input of layer k &gt; 0 is D·P.
/// </para>
/// <para>
/// Input is (T, B, input_size), (B, T, input_size) with <see cref="BatchFirst"/>, unbatched (T, input_size), or a
/// <see cref="PackedSequence"/>. Output is (T, B, D·H) (D = 2 when bidirectional, the two directions' features
/// concatenated); the final states are (numLayers·D, B, H), index layer·D + direction.
/// </para>
/// <para>
/// The layers are two-input modules (input, initial state or null for zeros) returning the output and the final state,
/// as <c>torch.nn.LSTM</c>'s <c>lstm(x, (h0, c0))</c>: <c>var (output, (h, c)) = lstm.Call(x)</c>. <c>Call(input)</c> starts from zeros
/// and <c>Call(packed, state)</c> runs a <see cref="PackedSequence"/>; every call goes through the module's hooks.
/// </para>
/// <para>
/// By default each layer and direction runs as one fused op (<see cref="UseFusedKernel"/>): one GEMM for every step's input
/// projection, then per step one GEMM with W_hh and one fused gate kernel, and a backward through time of the same shape.
/// Setting it to false runs the same maths composed from plain tensor ops (slower; the reference the fused path is tested against).
/// </para>
/// </summary>
/// <typeparam name="TState">The initial state argument: h0 (RNN, GRU) or (h0, c0) (LSTM), null for zeros.</typeparam>
/// <typeparam name="TOutput">The result: the output and the final state.</typeparam>
public abstract class RNNBase<TState, TOutput> : Module<Tensor, TState, TOutput>
{
    private protected readonly RecurrentCell cell;
    readonly string[] weightNames;

    /// <summary>Number of features of the input (input_size).</summary>
    public int InputSize { get; }
    /// <summary>Number of features of the hidden state (hidden_size); with projections, of the LSTM cell state.</summary>
    public int HiddenSize { get; }
    /// <summary>
    /// LSTM only: size of the projected hidden state h = W_hr·(o·tanh c), or 0 for no projection (proj_size). When
    /// positive, h0/h_n are (numLayers·D, B, P) and the output has D·P features.
    /// </summary>
    public int ProjSize { get; }
    /// <summary>Width of h and of each direction's output: <see cref="ProjSize"/> when positive, else <see cref="HiddenSize"/>.</summary>
    public int OutputHiddenSize => ProjSize > 0 ? ProjSize : HiddenSize;
    /// <summary>Number of stacked layers (num_layers).</summary>
    public int NumLayers { get; }
    /// <summary>Whether the layers have bias_ih/bias_hh (bias).</summary>
    public bool Bias { get; }
    /// <summary>Whether input and output are (B, T, *) instead of (T, B, *) (batch_first); states stay (layers·D, B, H).</summary>
    public bool BatchFirst { get; }
    /// <summary>Dropout probability applied to the outputs of every layer but the last during training (dropout).</summary>
    public double Dropout { get; }
    /// <summary>Whether each layer also runs backwards in time (bidirectional).</summary>
    public bool Bidirectional { get; }
    /// <summary>Number of directions D: 2 when bidirectional, else 1.</summary>
    public int NumDirections => Bidirectional ? 2 : 1;
    /// <summary>
    /// Use the fused recurrent kernel (default) or the composed reference built from plain ops. Both compute the same
    /// function; the fused one is much faster. (No PyTorch equivalent; compare torch.backends.cudnn.enabled.)
    /// </summary>
    public bool UseFusedKernel { get; set; } = true;
    /// <summary>Optional generator for the dropout masks between layers (null: the global one).</summary>
    public Generator? Generator { get; set; }

    private protected RNNBase(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst,
        double dropout, bool bidirectional, DType dtype, int projSize = 0)
    {
        string name = GetType().Name;
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), $"{name}: inputSize must be greater than zero, got {inputSize}");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), $"{name}: hiddenSize must be greater than zero, got {hiddenSize}");
        if (numLayers <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), $"{name}: numLayers must be greater than zero, got {numLayers}");
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentOutOfRangeException(nameof(dropout), $"{name}: dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got {dropout}");
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{name}: dtype must be float32 or float64, got {dtype.TorchName()}", nameof(dtype));
        if (projSize < 0)
            throw new ArgumentOutOfRangeException(nameof(projSize), $"{name}: projSize (proj_size) should be a positive integer or zero to disable projections, got {projSize}");
        if (projSize > 0 && projSize >= hiddenSize)
            throw new ArgumentOutOfRangeException(nameof(projSize), $"{name}: projSize (proj_size) has to be smaller than hiddenSize, got projSize={projSize} with hiddenSize={hiddenSize}");
        if (projSize > 0 && cell != RecurrentCell.Lstm)
            throw new ArgumentException($"{name}: projSize (proj_size) is only supported for LSTM, not RNN or GRU", nameof(projSize));
        this.cell = cell;
        InputSize = inputSize; HiddenSize = hiddenSize; NumLayers = numLayers; Bias = bias; BatchFirst = batchFirst;
        Dropout = dropout; Bidirectional = bidirectional; ProjSize = projSize;
        int gates = RecurrentOps.GateCount(cell) * hiddenSize, state = OutputHiddenSize;
        var names = new List<string>();
        for (int layer = 0; layer < numLayers; layer++)
            for (int dir = 0; dir < NumDirections; dir++)
            {
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                int layerInput = layer == 0 ? inputSize : state * NumDirections;
                Add($"weight_ih{suffix}", [gates, layerInput]);
                Add($"weight_hh{suffix}", [gates, state]);
                if (bias) { Add($"bias_ih{suffix}", [gates]); Add($"bias_hh{suffix}", [gates]); }
                if (projSize > 0) Add($"weight_hr{suffix}", [projSize, hiddenSize]);
            }
        weightNames = names.ToArray();
        ResetParameters();

        void Add(string paramName, int[] shape)
        {
            RegisterParameter(paramName, Parameter(Tensor.Empty(shape, dtype)));
            names.Add(paramName);
        }
    }

    /// <summary>The parameter names in PyTorch's order (RNNBase._flat_weights_names).</summary>
    public IReadOnlyList<string> FlatWeightsNames => weightNames;

    /// <summary>
    /// The parameters in <see cref="FlatWeightsNames"/> order (RNNBase._flat_weights). Built once and again only after a
    /// member of this module was registered, replaced or removed (<see cref="Module.MembersVersion"/>), so a forward does
    /// not rebuild it.
    /// </summary>
    public IReadOnlyList<Tensor> FlatWeights
    {
        get
        {
            if (flatWeights != null && flatWeightsVersion == MembersVersion) return flatWeights;
            var byName = new Dictionary<string, Tensor>();
            foreach (var (n, p) in NamedParameters(recurse: false)) byName[n] = p;
            var list = weightNames.Select(n => byName.TryGetValue(n, out var p) ? p
                : throw new InvalidOperationException($"{GetType().Name}: parameter \"{n}\" is missing")).ToArray();
            flatWeights = Array.AsReadOnly(list);
            flatWeightsVersion = MembersVersion;
            return flatWeights;
        }
    }

    System.Collections.ObjectModel.ReadOnlyCollection<Tensor>? flatWeights;
    int flatWeightsVersion = -1;

    /// <summary>The parameters grouped per layer and direction: [w_ih, w_hh(, b_ih, b_hh)(, w_hr)] (RNNBase.all_weights).</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> AllWeights
    {
        get
        {
            var flat = FlatWeights;
            int per = WeightsPerLayer;
            return Enumerable.Range(0, flat.Count / per).Select(i => (IReadOnlyList<Tensor>)flat.Skip(i * per).Take(per).ToArray()).ToArray();
        }
    }

    int WeightsPerLayer => (Bias ? 4 : 2) + (ProjSize > 0 ? 1 : 0);

    /// <summary>
    /// PyTorch's default initialisation (RNNBase.reset_parameters): every weight and bias (weight_hr included) from
    /// U(−1/√H, 1/√H) with H = hidden_size, drawn in parameter order.
    /// </summary>
    public void ResetParameters(Generator? generator = null)
    {
        double bound = 1 / Math.Sqrt(HiddenSize);
        foreach (var p in FlatWeights) Init.Uniform(p, -bound, bound, generator);
    }

    /// <inheritdoc/>
    public override string ExtraRepr()
    {
        var s = $"{InputSize}, {HiddenSize}";
        if (ProjSize != 0) s += $", proj_size={ProjSize}";
        if (NumLayers != 1) s += $", num_layers={NumLayers}";
        if (!Bias) s += ", bias=False";
        if (BatchFirst) s += ", batch_first=True";
        if (Dropout != 0) s += $", dropout={PyFloat(Dropout)}";
        if (Bidirectional) s += ", bidirectional=True";
        return s;
    }

    // ---- forward ---------------------------------------------------------------------------------------------

    string Op => GetType().Name;

    /// <summary>Forward on a padded/unbatched tensor: (output, h_n, c_n) with PyTorch's shapes and layout.</summary>
    private protected (Tensor Output, Tensor HN, Tensor? CN) ForwardTensor(Tensor input, Tensor? h0, Tensor? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank is not (2 or 3))
            throw new ArgumentException($"{Op}: expected input to be 2-D (T, input_size) unbatched or 3-D {(BatchFirst ? "(B, T, input_size)" : "(T, B, input_size)")}, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        bool batched = input.Rank == 3;
        CheckDType(input, nameof(input));
        CheckStateRank(h0, "h0", input, batched);
        CheckStateRank(c0, "c0", input, batched);
        if (!batched)
        {
            input = input.Unsqueeze(BatchFirst ? 0 : 1);
            h0 = h0?.Unsqueeze(1); c0 = c0?.Unsqueeze(1);
        }
        var timeMajor = BatchFirst ? input.Transpose(0, 1) : input;
        int steps = timeMajor.shape[0], batch = timeMajor.shape[1];
        if (timeMajor.shape[2] != InputSize)
            throw new ArgumentException($"{Op}: input.size(-1) must be equal to input_size. Expected {InputSize}, got {timeMajor.shape[2]} (input shape {ShapeUtil.Format(input.shape)})", nameof(input));
        if (steps == 0 || batch == 0)
            throw new ArgumentException($"{Op}: input has no {(steps == 0 ? "time steps" : "sequences")} (shape {ShapeUtil.Format(input.shape)})", nameof(input));
        var data = timeMajor.Reshape(steps * batch, InputSize);
        var batchSizes = UniformBatchSizes(steps, batch);
        var (outData, hN, cN) = Run(data, batchSizes, h0, c0, input.DType);
        var output = outData.View(steps, batch, NumDirections * OutputHiddenSize);
        if (BatchFirst) output = output.Transpose(0, 1);
        if (!batched) { output = output.Squeeze(BatchFirst ? 0 : 1); hN = hN.Squeeze(1); cN = cN?.Squeeze(1); }
        return (output, hN, cN);
    }

    /// <summary>Forward on a packed batch: output packed the same way, final states in the original batch order.</summary>
    private protected (PackedSequence Output, Tensor HN, Tensor? CN) ForwardPacked(PackedSequence input, Tensor? h0, Tensor? c0)
    {
        ArgumentNullException.ThrowIfNull(input);
        var data = input.Data;
        if (data.Rank != 2 || data.shape[1] != InputSize)
            throw new ArgumentException($"{Op}: packed input data must be (sum of lengths, input_size={InputSize}), got shape {ShapeUtil.Format(data.shape)}", nameof(input));
        CheckDType(data, nameof(input));
        foreach (var (state, arg) in new[] { (h0, "h0"), (c0, "c0") })
            if (state != null && state.Rank != 3)
                throw new ArgumentException($"{Op}: with packed input, {arg} must be 3-D (numLayers·D, B, H), got shape {ShapeUtil.Format(state.shape)}", arg);
        if (input.SortedIndices is { } sorted)
        {
            CheckState(h0, "h0", input.BatchSize); CheckState(c0, "c0", input.BatchSize);
            h0 = h0?.IndexSelect(1, sorted); c0 = c0?.IndexSelect(1, sorted);
        }
        var (outData, hN, cN) = Run(data, input.BatchSizesArray, h0, c0, data.DType);
        if (input.UnsortedIndices is { } unsorted) { hN = hN.IndexSelect(1, unsorted); cN = cN?.IndexSelect(1, unsorted); }
        return (input.WithData(outData), hN, cN);
    }

    void CheckStateRank(Tensor? state, string arg, Tensor input, bool batched)
    {
        if (state == null || state.Rank == (batched ? 3 : 2)) return;
        throw new ArgumentException(batched
            ? $"{Op}: for batched 3-D input of shape {ShapeUtil.Format(input.shape)}, {arg} should also be 3-D (numLayers·D, B, H), got shape {ShapeUtil.Format(state.shape)}"
            : $"{Op}: for unbatched 2-D input of shape {ShapeUtil.Format(input.shape)}, {arg} should also be 2-D (numLayers·D, H), got shape {ShapeUtil.Format(state.shape)}", arg);
    }

    int[]? uniformBatchSizes;

    /// <summary>
    /// [batch, …, batch] of length <paramref name="steps"/>: the batch sizes of a padded input, kept between calls with the
    /// same sizes (the kernels and the recorded backward only read it).
    /// </summary>
    int[] UniformBatchSizes(int steps, int batch)
    {
        var sizes = uniformBatchSizes;
        if (sizes != null && sizes.Length == steps && sizes[0] == batch) return sizes;
        sizes = new int[steps];
        Array.Fill(sizes, batch);
        uniformBatchSizes = sizes;
        return sizes;
    }

    void CheckDType(Tensor t, string arg)
    {
        var weight = FlatWeights[0];
        if (t.DType != weight.DType)
            throw new ArgumentException($"{Op}: input must have the type {weight.DType.TorchName()} (the parameters' dtype), got {t.DType.TorchName()} of shape {ShapeUtil.Format(t.shape)}", arg);
    }

    void CheckState(Tensor? state, string arg, int batch)
    {
        if (state == null) return;
        bool projected = ProjSize > 0 && arg == "h0";
        int[] expected = [NumLayers * NumDirections, batch, projected ? ProjSize : HiddenSize];
        if (!state.shape.AsSpan().SequenceEqual(expected))
        {
            string what = cell == RecurrentCell.Lstm ? $"hidden[{(arg == "h0" ? 0 : 1)}]" : "hidden";
            throw new ArgumentException($"{Op}: expected {what} size {ShapeUtil.Format(expected)}, got {ShapeUtil.Format(state.shape)} ({arg} is (numLayers·D, B, {(projected ? "proj_size" : "H")}))", arg);
        }
        var weight = FlatWeights[0];
        if (state.DType != weight.DType)
            throw new ArgumentException($"{Op}: {arg} must have the type {weight.DType.TorchName()}, got {state.DType.TorchName()}", arg);
    }

    /// <summary>
    /// The zero initial states of a call without h0/c0, kept between calls of the same batch size and dtype: the layer only
    /// reads them (nothing writes into an initial state, and they never reach the caller), so each call need not allocate
    /// and zero them again. Made outside any TensorScope, so a step's scope does not release them.
    /// </summary>
    Tensor? zeroH, zeroC;

    static Tensor ZeroState(ref Tensor? cached, int layers, int batch, int size, DType dtype)
    {
        if (cached is { } z && z.DType == dtype && z.shape[0] == layers && z.shape[1] == batch && z.shape[2] == size && z.Version == 0) return z;
        return cached = NewZeroState(layers, batch, size, dtype);
    }

    // a method of its own: a lambda capturing a parameter is allocated on entry to the method that declares it
    static Tensor NewZeroState(int layers, int batch, int size, DType dtype) => TensorScope.Suspend(() => Tensor.Zeros([layers, batch, size], dtype));

    /// <summary>All layers over packed rows (N, input_size) → (N, D·R), h_n (layers·D, B, R), c_n (layers·D, B, H); R = P or H.</summary>
    (Tensor Output, Tensor HN, Tensor? CN) Run(Tensor data, int[] batchSizes, Tensor? h0, Tensor? c0, DType dtype)
    {
        int batch = batchSizes[0], D = NumDirections;
        bool lstm = cell == RecurrentCell.Lstm;
        CheckState(h0, "h0", batch);
        if (lstm) CheckState(c0, "c0", batch);
        h0 ??= ZeroState(ref zeroH, NumLayers * D, batch, OutputHiddenSize, dtype);
        if (lstm) c0 ??= ZeroState(ref zeroC, NumLayers * D, batch, HiddenSize, dtype);
        var weights = FlatWeights;
        int per = WeightsPerLayer;
        var hN = new Tensor[NumLayers * D];
        var cN = lstm ? new Tensor[NumLayers * D] : null;
        var layerInput = data;
        var outputs = new Tensor[D];
        for (int layer = 0; layer < NumLayers; layer++)
        {
            for (int dir = 0; dir < D; dir++)
            {
                int idx = layer * D + dir, w = idx * per;
                var hInit = h0.Select(0, idx);
                var cInit = lstm ? c0!.Select(0, idx) : null;
                Tensor? bIh = Bias ? weights[w + 2] : null, bHh = Bias ? weights[w + 3] : null;
                Tensor? wHr = ProjSize > 0 ? weights[w + per - 1] : null;
                var (y, h, c) = UseFusedKernel
                    ? RecurrentOps.Layer(cell, layerInput, batchSizes, dir == 1, hInit, cInit, weights[w], weights[w + 1], bIh, bHh, wHr)
                    : RecurrentReference.Layer(cell, layerInput, batchSizes, dir == 1, hInit, cInit, weights[w], weights[w + 1], bIh, bHh, wHr);
                outputs[dir] = y; hN[idx] = h;
                if (cN != null) cN[idx] = c!;
            }
            layerInput = D == 1 ? outputs[0] : Tensor.Cat(outputs, 1);
            if (Dropout > 0 && IsTraining && layer < NumLayers - 1) layerInput = F.Dropout(layerInput, Dropout, true, Generator);
        }
        return (layerInput, Tensor.Stack(hN), cN == null ? null : Tensor.Stack(cN));
    }
}
