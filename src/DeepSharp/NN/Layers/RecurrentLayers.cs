namespace DeepSharp.NN;

/// <summary>
/// Multi-layer Elman RNN (torch.nn.RNN): h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh), or relu.
/// See <see cref="RNNBase{TState, TOutput}"/> for shapes, parameter names and packing.
/// </summary>
public class RNN : RNNBase<Tensor?, (Tensor Output, Tensor HN)>
{
    /// <summary>The non-linearity (nonlinearity).</summary>
    public RNNNonlinearity Nonlinearity { get; }

    /// <summary>
    /// Creates the layer and initialises it like PyTorch (torch.nn.RNN(input_size, hidden_size, num_layers, nonlinearity,
    /// bias, batch_first, dropout, bidirectional, dtype=)).
    /// </summary>
    public RNN(int inputSize, int hiddenSize, int numLayers = 1, RNNNonlinearity nonlinearity = RNNNonlinearity.Tanh, bool bias = true,
        bool batchFirst = false, double dropout = 0, bool bidirectional = false, DType dtype = DType.Float32)
        : base(nonlinearity == RNNNonlinearity.ReLU ? RecurrentCell.RnnRelu : RecurrentCell.RnnTanh, inputSize, hiddenSize, numLayers,
            bias, batchFirst, dropout, bidirectional, dtype)
        => Nonlinearity = nonlinearity;

    /// <summary>Runs the layer from zero initial states (torch.nn.RNN.forward(input), <c>rnn(x)</c>): <c>Call(input, null)</c>.</summary>
    public (Tensor Output, Tensor HN) Call(Tensor input) => Call(input, null);

    /// <summary>Runs the layer on a packed batch through the hooks (<c>rnn(packed, h_0)</c>); see <see cref="Forward(PackedSequence, Tensor?)"/>.</summary>
    public (PackedSequence Output, Tensor HN) Call(PackedSequence input, Tensor? h0 = null) =>
        Invoke(this, (input, h0), static (m, a) => m.Forward(a.input, a.h0));

    /// <summary>
    /// Runs the layer (torch.nn.RNN.forward(input, h_0)): input (T, B, input_size) (or batch-first / unbatched), h0
    /// (numLayers·D, B, H) or null for zeros. Returns the output (T, B, D·H) and h_n (numLayers·D, B, H).
    /// </summary>
    public override (Tensor Output, Tensor HN) Forward(Tensor input, Tensor? h0)
    {
        var (o, h, _) = ForwardTensor(input, h0, null);
        return (o, h);
    }

    /// <summary>Runs the layer on a packed batch (torch.nn.RNN.forward(PackedSequence, h_0)); h_n is each sequence's state at its last step.</summary>
    public (PackedSequence Output, Tensor HN) Forward(PackedSequence input, Tensor? h0 = null)
    {
        var (o, h, _) = ForwardPacked(input, h0, null);
        return (o, h);
    }
}

/// <summary>
/// Multi-layer long short-term memory (torch.nn.LSTM): gates i, f, g, o = σ, σ, tanh, σ of x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh,
/// c' = f·c + i·g, h' = o·tanh(c'), or with projections (proj_size P &gt; 0) h' = (o·tanh(c'))·W_hrᵀ of size P.
/// See <see cref="RNNBase{TState, TOutput}"/> for shapes, parameter names and packing.
/// </summary>
public class LSTM : RNNBase<(Tensor H, Tensor C)?, (Tensor Output, (Tensor H, Tensor C) State)>
{
    /// <summary>
    /// Creates the layer and initialises it like PyTorch (torch.nn.LSTM(input_size, hidden_size, num_layers, bias,
    /// batch_first, dropout, bidirectional, proj_size, dtype=)). <paramref name="projSize"/> (proj_size) must be 0 (no
    /// projection) or in [1, hiddenSize); it comes last here so positional <paramref name="dtype"/> arguments keep working.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">projSize is negative or not smaller than hiddenSize (or another size is invalid).</exception>
    public LSTM(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, DType dtype = DType.Float32, int projSize = 0)
        : base(RecurrentCell.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, projSize) { }

    /// <summary>Runs the layer from zero initial states (torch.nn.LSTM.forward(input), <c>lstm(x)</c>): <c>Call(input, null)</c>.</summary>
    public (Tensor Output, (Tensor H, Tensor C) State) Call(Tensor input) => Call(input, null);

    /// <summary>Runs the layer on a packed batch through the hooks (<c>lstm(packed, (h_0, c_0))</c>); see <see cref="Forward(PackedSequence, ValueTuple{Tensor, Tensor}?)"/>.</summary>
    public (PackedSequence Output, (Tensor H, Tensor C) State) Call(PackedSequence input, (Tensor H, Tensor C)? state = null) =>
        Invoke(this, (input, state), static (m, a) => m.Forward(a.input, a.state));

    /// <summary>
    /// Runs the layer (torch.nn.LSTM.forward(input, (h_0, c_0))): input (T, B, input_size) (or batch-first / unbatched),
    /// state (h0, c0) each (numLayers·D, B, H), or null for zeros. Returns the output (T, B, D·H) and (h_n, c_n). With
    /// projections h0/h_n are (numLayers·D, B, P) and the output (T, B, D·P).
    /// </summary>
    public override (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (o, h, c) = ForwardTensor(input, state?.H, state?.C);
        return (o, (h, c!));
    }

    /// <summary>Runs the layer on a packed batch (torch.nn.LSTM.forward(PackedSequence, (h_0, c_0))); (h_n, c_n) hold each sequence's state at its last step.</summary>
    public (PackedSequence Output, (Tensor H, Tensor C) State) Forward(PackedSequence input, (Tensor H, Tensor C)? state = null)
    {
        var (o, h, c) = ForwardPacked(input, state?.H, state?.C);
        return (o, (h, c!));
    }
}

/// <summary>
/// Multi-layer gated recurrent unit (torch.nn.GRU): r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n),
/// h' = (1 − z)·n + z·h, where x_* = x·W_i*ᵀ + b_i* and h_* = h·W_h*ᵀ + b_h* (b_hn inside the r product, as in PyTorch).
/// See <see cref="RNNBase{TState, TOutput}"/> for shapes, parameter names and packing.
/// </summary>
public class GRU : RNNBase<Tensor?, (Tensor Output, Tensor HN)>
{
    /// <summary>
    /// Creates the layer and initialises it like PyTorch (torch.nn.GRU(input_size, hidden_size, num_layers, bias,
    /// batch_first, dropout, bidirectional, dtype=)).
    /// </summary>
    public GRU(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, DType dtype = DType.Float32)
        : base(RecurrentCell.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype) { }

    /// <summary>Runs the layer from zero initial states (torch.nn.GRU.forward(input), <c>gru(x)</c>): <c>Call(input, null)</c>.</summary>
    public (Tensor Output, Tensor HN) Call(Tensor input) => Call(input, null);

    /// <summary>Runs the layer on a packed batch through the hooks (<c>gru(packed, h_0)</c>); see <see cref="Forward(PackedSequence, Tensor?)"/>.</summary>
    public (PackedSequence Output, Tensor HN) Call(PackedSequence input, Tensor? h0 = null) =>
        Invoke(this, (input, h0), static (m, a) => m.Forward(a.input, a.h0));

    /// <summary>
    /// Runs the layer (torch.nn.GRU.forward(input, h_0)): input (T, B, input_size) (or batch-first / unbatched), h0
    /// (numLayers·D, B, H) or null for zeros. Returns the output (T, B, D·H) and h_n (numLayers·D, B, H).
    /// </summary>
    public override (Tensor Output, Tensor HN) Forward(Tensor input, Tensor? h0)
    {
        var (o, h, _) = ForwardTensor(input, h0, null);
        return (o, h);
    }

    /// <summary>Runs the layer on a packed batch (torch.nn.GRU.forward(PackedSequence, h_0)); h_n is each sequence's state at its last step.</summary>
    public (PackedSequence Output, Tensor HN) Forward(PackedSequence input, Tensor? h0 = null)
    {
        var (o, h, _) = ForwardPacked(input, h0, null);
        return (o, h);
    }
}
