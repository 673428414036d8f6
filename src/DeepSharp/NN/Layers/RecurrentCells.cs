namespace DeepSharp.NN;

/// <summary>
/// Base of the single-step cells <see cref="RNNCell"/>, <see cref="LSTMCell"/> and <see cref="GRUCell"/> (torch.nn.RNNCellBase).
/// Parameters weight_ih (G·H, input_size), weight_hh (G·H, H) and, with bias, bias_ih and bias_hh (G·H), initialised from
/// U(−1/√H, 1/√H) like PyTorch. Input is (B, input_size) or unbatched (input_size); states (B, H) or (H). The cells are
/// two-input modules (input, state or null for zeros): <c>h = cell.Call(x, h)</c>; <c>Call(input)</c> starts from zeros.
/// </summary>
/// <typeparam name="TState">The state argument: hx (RNNCell, GRUCell) or (h, c) (LSTMCell), null for zeros.</typeparam>
/// <typeparam name="TOutput">The next state.</typeparam>
public abstract class RNNCellBase<TState, TOutput> : Module<Tensor, TState, TOutput>
{
    private protected readonly RecurrentCell cell;

    /// <summary>Number of features of the input (input_size).</summary>
    public int InputSize { get; }
    /// <summary>Number of features of the hidden state (hidden_size).</summary>
    public int HiddenSize { get; }
    /// <summary>Whether the cell has biases (bias).</summary>
    public bool Bias { get; }
    /// <summary>Use the fused gate kernel (default) or the composed reference built from plain ops; both compute the same function.</summary>
    public bool UseFusedKernel { get; set; } = true;

    /// <summary>Input-to-hidden weights (G·H, input_size) (RNNCellBase.weight_ih).</summary>
    [TorchName("weight_ih")] public Tensor WeightIh { get; private set; }
    /// <summary>Hidden-to-hidden weights (G·H, H) (RNNCellBase.weight_hh).</summary>
    [TorchName("weight_hh")] public Tensor WeightHh { get; private set; }
    /// <summary>Input-to-hidden bias (G·H), or null without bias (RNNCellBase.bias_ih).</summary>
    [TorchName("bias_ih")] public Tensor? BiasIh { get; private set; }
    /// <summary>Hidden-to-hidden bias (G·H), or null without bias (RNNCellBase.bias_hh).</summary>
    [TorchName("bias_hh")] public Tensor? BiasHh { get; private set; }

    private protected RNNCellBase(RecurrentCell cell, int inputSize, int hiddenSize, bool bias, DType dtype)
    {
        string name = GetType().Name;
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), $"{name}: inputSize must be greater than zero, got {inputSize}");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), $"{name}: hiddenSize must be greater than zero, got {hiddenSize}");
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{name}: dtype must be float32 or float64, got {dtype.TorchName()}", nameof(dtype));
        this.cell = cell;
        InputSize = inputSize; HiddenSize = hiddenSize; Bias = bias;
        int gates = RecurrentOps.GateCount(cell) * hiddenSize;
        WeightIh = Parameter(Tensor.Empty([gates, inputSize], dtype));
        WeightHh = Parameter(Tensor.Empty([gates, hiddenSize], dtype));
        BiasIh = bias ? Parameter(Tensor.Empty([gates], dtype)) : null;
        BiasHh = bias ? Parameter(Tensor.Empty([gates], dtype)) : null;
        ResetParameters();
    }

    /// <summary>PyTorch's default initialisation (RNNCellBase.reset_parameters): every parameter from U(−1/√H, 1/√H).</summary>
    public void ResetParameters(Generator? generator = null)
    {
        double bound = 1 / Math.Sqrt(HiddenSize);
        foreach (var p in Parameters(recurse: false)) Init.Uniform(p, -bound, bound, generator);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{InputSize}, {HiddenSize}" + (Bias ? "" : ", bias=False");

    string Op => GetType().Name;

    /// <summary>Checks input and states; returns the batched (B, ·) forms and whether the input was batched.</summary>
    private protected (Tensor Input, Tensor H, Tensor? C, bool Batched) Prepare(Tensor input, Tensor? hx, Tensor? cx)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank is not (1 or 2))
            throw new ArgumentException($"{Op}: expected input to be 1-D (input_size) or 2-D (B, input_size), got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        if (input.shape[^1] != InputSize)
            throw new ArgumentException($"{Op}: input has inconsistent input_size: got {input.shape[^1]} expected {InputSize} (input shape {ShapeUtil.Format(input.shape)})", nameof(input));
        if (input.DType != WeightIh.DType)
            throw new ArgumentException($"{Op}: input must have the type {WeightIh.DType.TorchName()} (the parameters' dtype), got {input.DType.TorchName()}", nameof(input));
        bool batched = input.Rank == 2;
        int batch = batched ? input.shape[0] : 1;
        var x = batched ? input : input.Unsqueeze(0);
        Tensor? Check(Tensor? s, string arg)
        {
            if (s == null) return null;
            int[] expected = batched ? [batch, HiddenSize] : [HiddenSize];
            if (!s.shape.AsSpan().SequenceEqual(expected))
                throw new ArgumentException($"{Op}: {arg} must have shape {ShapeUtil.Format(expected)} for input of shape {ShapeUtil.Format(input.shape)}, got {ShapeUtil.Format(s.shape)}", arg);
            if (s.DType != input.DType)
                throw new ArgumentException($"{Op}: {arg} must have the type {input.DType.TorchName()}, got {s.DType.TorchName()}", arg);
            return batched ? s : s.Unsqueeze(0);
        }
        var h = Check(hx, "hx") ?? Tensor.Zeros([batch, HiddenSize], input.DType);
        var c = cell == RecurrentCell.Lstm ? Check(cx, "cx") ?? Tensor.Zeros([batch, HiddenSize], input.DType) : null;
        return (x, h, c, batched);
    }

    /// <summary>One step through the fused op (a one-step sequence) or the composed reference.</summary>
    private protected (Tensor H, Tensor? C) Step(Tensor x, Tensor h, Tensor? c)
    {
        if (!UseFusedKernel)
        {
            switch (cell)
            {
                case RecurrentCell.Lstm:
                    var (hl, cl) = RecurrentReference.LstmCell(x, h, c!, WeightIh, WeightHh, BiasIh, BiasHh);
                    return (hl, cl);
                case RecurrentCell.Gru: return (RecurrentReference.GruCell(x, h, WeightIh, WeightHh, BiasIh, BiasHh), null);
                default: return (RecurrentReference.RnnCell(x, h, WeightIh, WeightHh, BiasIh, BiasHh, cell == RecurrentCell.RnnRelu), null);
            }
        }
        var (_, hN, cN) = RecurrentOps.Layer(cell, x, [x.shape[0]], false, h, c, WeightIh, WeightHh, BiasIh, BiasHh);
        return (hN, cN);
    }
}

/// <summary>An Elman RNN cell (torch.nn.RNNCell): h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), or relu.</summary>
public class RNNCell : RNNCellBase<Tensor?, Tensor>
{
    /// <summary>The non-linearity (nonlinearity).</summary>
    public RNNNonlinearity Nonlinearity { get; }

    /// <summary>Creates the cell (torch.nn.RNNCell(input_size, hidden_size, bias, nonlinearity, dtype=)).</summary>
    public RNNCell(int inputSize, int hiddenSize, bool bias = true, RNNNonlinearity nonlinearity = RNNNonlinearity.Tanh, DType dtype = DType.Float32)
        : base(nonlinearity == RNNNonlinearity.ReLU ? RecurrentCell.RnnRelu : RecurrentCell.RnnTanh, inputSize, hiddenSize, bias, dtype)
        => Nonlinearity = nonlinearity;

    /// <summary>One step from a zero state (torch.nn.RNNCell.forward(input), <c>cell(x)</c>): <c>Call(input, null)</c>.</summary>
    public Tensor Call(Tensor input) => Call(input, null);

    /// <summary>One step (torch.nn.RNNCell.forward(input, hx)): input (B, input_size) or (input_size), hx (B, H) or (H), null for zeros. Returns h'.</summary>
    public override Tensor Forward(Tensor input, Tensor? hx)
    {
        var (x, h, _, batched) = Prepare(input, hx, null);
        var (hNext, _) = Step(x, h, null);
        return batched ? hNext : hNext.Squeeze(0);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => base.ExtraRepr() + (Nonlinearity == RNNNonlinearity.ReLU ? ", nonlinearity=relu" : "");
}

/// <summary>A long short-term memory cell (torch.nn.LSTMCell): gates i, f, g, o; c' = f·c + i·g, h' = o·tanh(c').</summary>
public class LSTMCell : RNNCellBase<(Tensor H, Tensor C)?, (Tensor H, Tensor C)>
{
    /// <summary>Creates the cell (torch.nn.LSTMCell(input_size, hidden_size, bias, dtype=)).</summary>
    public LSTMCell(int inputSize, int hiddenSize, bool bias = true, DType dtype = DType.Float32)
        : base(RecurrentCell.Lstm, inputSize, hiddenSize, bias, dtype) { }

    /// <summary>One step from zero states (torch.nn.LSTMCell.forward(input), <c>cell(x)</c>): <c>Call(input, null)</c>, returning (h', c').</summary>
    public (Tensor H, Tensor C) Call(Tensor input) => Call(input, null);

    /// <summary>One step (torch.nn.LSTMCell.forward(input, (h_0, c_0))): input (B, input_size) or (input_size), states (B, H) or (H), null for zeros. Returns (h', c').</summary>
    public override (Tensor H, Tensor C) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (x, h, c, batched) = Prepare(input, state?.H, state?.C);
        var (hNext, cNext) = Step(x, h, c);
        return batched ? (hNext, cNext!) : (hNext.Squeeze(0), cNext!.Squeeze(0));
    }
}

/// <summary>A gated recurrent unit cell (torch.nn.GRUCell): r, z, n gates; h' = (1 − z)·n + z·h with n = tanh(x_n + r·(W_hn·h + b_hn)).</summary>
public class GRUCell : RNNCellBase<Tensor?, Tensor>
{
    /// <summary>Creates the cell (torch.nn.GRUCell(input_size, hidden_size, bias, dtype=)).</summary>
    public GRUCell(int inputSize, int hiddenSize, bool bias = true, DType dtype = DType.Float32)
        : base(RecurrentCell.Gru, inputSize, hiddenSize, bias, dtype) { }

    /// <summary>One step from a zero state (torch.nn.GRUCell.forward(input), <c>cell(x)</c>): <c>Call(input, null)</c>.</summary>
    public Tensor Call(Tensor input) => Call(input, null);

    /// <summary>One step (torch.nn.GRUCell.forward(input, hx)): input (B, input_size) or (input_size), hx (B, H) or (H), null for zeros. Returns h'.</summary>
    public override Tensor Forward(Tensor input, Tensor? hx)
    {
        var (x, h, _, batched) = Prepare(input, hx, null);
        var (hNext, _) = Step(x, h, null);
        return batched ? hNext : hNext.Squeeze(0);
    }
}
