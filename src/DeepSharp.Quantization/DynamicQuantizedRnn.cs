using System.Runtime.CompilerServices;
using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// The shared engine of <see cref="DynamicQuantizedLSTM"/> and <see cref="DynamicQuantizedGRU"/> (ATen's quantized_lstm /
/// quantized_gru with QuantizedCellParamsDynamic): per layer and direction, W_ih and W_hh are int8 (with their float
/// biases); as on PyTorch's CPU path, a whole layer input (T·B rows) is quantized with one set of activation parameters
/// for the input projection, and each step quantizes h_{t−1} (B rows) with its own parameters for the W_hh GEMM; the gate
/// arithmetic stays float32. Each step (both projections, dequantization, gates, state update) is one fused kernel
/// (<see cref="Int8Gemm.LstmStep(ReadOnlySpan{byte}, int, PackedInt8Weights, float, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Int8StepInput, Span{float}, Span{float}, int, bool, Int8GemmPath)"/>).
/// </summary>
public sealed class DynamicQuantizedRecurrent
{
    internal DynamicQuantizedRecurrent(bool lstm, int inputSize, int hiddenSize, int numLayers, bool bidirectional, bool batchFirst,
        QuantizedLinearWeights[] ih, QuantizedLinearWeights[] hh, bool reduceRange)
    {
        IsLstm = lstm; InputSize = inputSize; HiddenSize = hiddenSize; NumLayers = numLayers; NumDirections = bidirectional ? 2 : 1;
        BatchFirst = batchFirst; InputWeights = ih; HiddenWeights = hh; ReduceRange = reduceRange;
    }

    /// <summary>Quantizes a float LSTM/GRU's weights (quantize_dynamic's from_float): per-tensor symmetric qint8 by
    /// default (default_dynamic_qconfig's MinMaxObserver), per output row with <paramref name="perChannel"/>.</summary>
    internal static DynamicQuantizedRecurrent FromFloat<TS, TO>(RNNBase<TS, TO> rnn, bool lstm, bool perChannel, bool reduceRange)
    {
        ArgumentNullException.ThrowIfNull(rnn);
        if (rnn.ProjSize > 0) throw new ArgumentException($"Dynamic quantization: LSTM with proj_size {rnn.ProjSize} is not supported (PyTorch 1.13's dynamic LSTM has no projections)", nameof(rnn));
        var all = rnn.AllWeights;
        var ih = new QuantizedLinearWeights[all.Count];
        var hh = new QuantizedLinearWeights[all.Count];
        for (int i = 0; i < all.Count; i++)
        {
            var w = all[i];
            ih[i] = QuantizedLinearWeights.FromFloat(w[0], rnn.Bias ? w[2] : null, perChannel);
            hh[i] = QuantizedLinearWeights.FromFloat(w[1], rnn.Bias ? w[3] : null, perChannel);
        }
        return new DynamicQuantizedRecurrent(lstm, rnn.InputSize, rnn.HiddenSize, rnn.NumLayers, rnn.Bidirectional, rnn.BatchFirst, ih, hh, reduceRange);
    }

    /// <summary>True for an LSTM, false for a GRU.</summary>
    public bool IsLstm { get; }
    /// <summary>Input features.</summary>
    public int InputSize { get; }
    /// <summary>Hidden size H.</summary>
    public int HiddenSize { get; }
    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }
    /// <summary>1, or 2 when bidirectional.</summary>
    public int NumDirections { get; }
    /// <summary>Whether inputs and outputs are (B, T, ·).</summary>
    public bool BatchFirst { get; }
    /// <summary>Whether activations use [0, 127] (reduce_range, as PyTorch's dynamic RNN cells of version 2).</summary>
    public bool ReduceRange { get; }
    /// <summary>W_ih (with b_ih) per layer·direction, in PyTorch's order (l0, l0_reverse, l1, ...).</summary>
    public IReadOnlyList<QuantizedLinearWeights> InputWeights { get; }
    /// <summary>W_hh (with b_hh) per layer·direction.</summary>
    public IReadOnlyList<QuantizedLinearWeights> HiddenWeights { get; }

    int Gates => IsLstm ? 4 : 3;

    /// <summary>Runs the layers; returns output and h_n (and c_n for an LSTM) with PyTorch's shapes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal (Tensor Output, Tensor HN, Tensor? CN) Run(Tensor input, Tensor? h0, Tensor? c0, string who)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank is not (2 or 3) || input.Shape[^1] != InputSize)
            throw new ArgumentException($"{who}: input must be (T, B, {InputSize}), (B, T, {InputSize}) with batch_first, or unbatched (T, {InputSize}); got ({string.Join(", ", input.Shape)})", nameof(input));
        bool batched = input.Rank == 3;
        int T = batched ? input.Shape[BatchFirst ? 1 : 0] : input.Shape[0];
        int B = batched ? input.Shape[BatchFirst ? 0 : 1] : 1;
        int H = HiddenSize, D = NumDirections, G = Gates * H, L = NumLayers * D;
        var inputF = input.Contiguous().To(DType.Float32);
        float[] hState = StateArray(h0, "h0", batched, L, B, H, who), cState = IsLstm ? StateArray(c0, "c0", batched, L, B, H, who) : [];

        // scratch from the shared pools (a forward allocates only its outputs): the quantized layer input and hidden state,
        // rows padded to whole 4-byte quads (pad bytes zero) so the kernels read them in place
        int ldh = (H + 3) / 4 * 4, ldxMax = (Math.Max(InputSize, D * H) + 3) / 4 * 4;
        var xq = System.Buffers.ArrayPool<byte>.Shared.Rent(T * B * ldxMax);
        var hq = System.Buffers.ArrayPool<byte>.Shared.Rent(B * ldh);
        hq.AsSpan(0, B * ldh).Clear();
        int qmax = ReduceRange ? 127 : 255;
        // the fused step splits its batch rows across the kernel pool only when a step is large enough to pay for a dispatch
        bool parallelStep = (long)B * H * G >= ParallelStepWork;
        float[]? layerInput = null;   // null: the first layer reads the input tensor in place
        int inSize = InputSize;
        try
        {
            for (int layer = 0; layer < NumLayers; layer++)
            {
                var output = GC.AllocateUninitializedArray<float>(T * B * D * H);   // every (t, b, direction) row is written below
                // the last layer of a batch-first call writes (B, T, D·H) directly; other layers keep (T, B, D·H)
                bool timeMajor = !(batched && BatchFirst && layer == NumLayers - 1);
                int rows = T * B, n = rows * inSize, ldx = (inSize + 3) / 4 * 4;
                // the whole layer input is quantized with one set of parameters (as ATen's quantized_lstm does for the
                // input projection); each step then projects its B rows inside the fused kernel
                // (the first layer of a batch-first call reads row (t, b) from input row b·T + t: no transposed copy)
                ReadOnlySpan<float> source = layerInput ?? inputF.AsReadOnlySpan<float>();
                bool swap = layerInput == null && batched && BatchFirst;
                var (xs, xz) = ChooseParams(source[..n], qmax);
                if (ldx == inSize && !swap) DynamicQParams.QuantizeU8(source[..n], xs, xz, xq);
                else
                {
                    if (ldx != inSize) xq.AsSpan(0, rows * ldx).Clear();
                    for (int r = 0; r < rows; r++)
                    {
                        int from = swap ? r % B * T + r / B : r;
                        DynamicQParams.QuantizeU8(source.Slice(from * inSize, inSize), xs, xz, xq.AsSpan(r * ldx, inSize));
                    }
                }
                for (int dir = 0; dir < D; dir++)
                {
                    int index = layer * D + dir;
                    var h = hState.AsSpan(index * B * H, B * H);
                    var c = IsLstm ? cState.AsSpan(index * B * H, B * H) : default;
                    var whh = HiddenWeights[index]; var wih = InputWeights[index];
                    if (IsLstm && B > 0)
                    {
                        // the step quantizes h_{t−1} itself, row group by row group, reading it where the previous step
                        // wrote it (the state for the first step), writes h_t straight into the output and returns its
                        // range, from which the next step's per-tensor parameters are chosen
                        int ld = timeMajor ? D * H : T * D * H;
                        var (hs, hz) = ChooseParams(h, qmax);
                        ReadOnlySpan<float> prev = h;
                        int ldPrev = H;
                        for (int step = 0; step < T; step++)
                        {
                            int t = dir == 0 ? step : T - 1 - step;
                            var stepInput = new Int8StepInput(xq.AsSpan(t * B * ldx, B * ldx), ldx, wih.Packed, xs, xz, wih.Scales, wih.Bias);
                            var hOut = output.AsSpan((timeMajor ? t * B : t) * D * H + dir * H, (B - 1) * ld + H);
                            var (min, max) = Int8Gemm.LstmStepFromFloat(prev, ldPrev, hs, hz, whh.Packed, whh.Scales, whh.Bias, stepInput, c, hOut, ld, B, parallelStep);
                            if (step < T - 1) (hs, hz) = DynamicQParams.Choose(min, max, 0, qmax);
                            prev = hOut; ldPrev = ld;
                        }
                        if (T > 0) for (int b = 0; b < B; b++) prev.Slice(b * ldPrev, H).CopyTo(h.Slice(b * H, H));
                        continue;
                    }
                    for (int step = 0; step < T; step++)
                    {
                        int t = dir == 0 ? step : T - 1 - step;
                        // h_{t−1} quantized per tensor (all B rows share one scale, as ATen's quantized cells do)
                        var (hs, hz) = ChooseParams(h, qmax);
                        if (ldh == H) DynamicQParams.QuantizeU8(h, hs, hz, hq);
                        else for (int b = 0; b < B; b++) DynamicQParams.QuantizeU8(h.Slice(b * H, H), hs, hz, hq.AsSpan(b * ldh, H));
                        var stepInput = new Int8StepInput(xq.AsSpan(t * B * ldx, B * ldx), ldx, wih.Packed, xs, xz, wih.Scales, wih.Bias);
                        // the fused step: int8 GEMMs x_t·W_ihᵀ and h_q·W_hhᵀ, dequantize + biases, gates, c/h in place
                        if (IsLstm) Int8Gemm.LstmStep(hq, ldh, whh.Packed, hs, hz, whh.Scales, whh.Bias, stepInput, h, c, B, parallelStep);
                        else Int8Gemm.GruStep(hq, ldh, whh.Packed, hs, hz, whh.Scales, whh.Bias, stepInput, h, B, parallelStep);
                        for (int b = 0; b < B; b++) h.Slice(b * H, H).CopyTo(output.AsSpan((timeMajor ? t * B + b : b * T + t) * D * H + dir * H, H));
                    }
                }
                layerInput = output;
                inSize = D * H;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(xq); System.Buffers.ArrayPool<byte>.Shared.Return(hq);
        }
        var o = layerInput!;
        var outShape = batched ? (BatchFirst ? new[] { B, T, D * H } : new[] { T, B, D * H }) : new[] { T, D * H };
        var stateShape = batched ? new[] { L, B, H } : new[] { L, H };
        // the arrays are this call's own: the tensors take them without a copy
        return (Tensor.Adopt(o, outShape), Tensor.Adopt(hState, stateShape), IsLstm ? Tensor.Adopt(cState, stateShape) : null);
    }

    /// <summary>Batch·H·gates·H multiply-adds from which a recurrent step is split across the kernel pool: 2²⁴ (e.g. batch 64,
    /// H = 256, 4 gates). Below it a step runs on the calling thread: at batch 64, H = 128 (4.2 M, a step of about 0.1 ms
    /// in 16 row groups) the split across the 2-core development machine's pool measured no faster at best and 25–45 %
    /// slower in the median than one thread (benchmarks/Int8Timing lstm, three runs, docs/compression.md); it was 128³,
    /// the float LSTM's threshold, before.</summary>
    internal static long ParallelStepWork = 1L << 24;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static (float Scale, int ZeroPoint) ChooseParams(ReadOnlySpan<float> values, int qmax)
    {
        var (min, max) = Int8Quantize.MinMax(values);
        return DynamicQParams.Choose(min, max, 0, qmax);
    }

    static float[] StateArray(Tensor? state, string name, bool batched, int layers, int batch, int hidden, string who)
    {
        if (state is null) return new float[layers * batch * hidden];
        bool ok = batched ? state.Rank == 3 && state.Shape[0] == layers && state.Shape[1] == batch && state.Shape[2] == hidden
                          : state.Rank == 2 && state.Shape[0] == layers && state.Shape[1] == hidden;
        if (!ok)
            throw new ArgumentException($"{who}: {name} must be ({layers}, {(batched ? batch + ", " : "")}{hidden}), got ({string.Join(", ", state.Shape)})", name);
        return state.Contiguous().To(DType.Float32).ToArray<float>();
    }
}

/// <summary>
/// LSTM with int8 weights and activations quantized per call (torch.ao.nn.quantized.dynamic.LSTM, what
/// <c>quantize_dynamic(model, {nn.LSTM})</c> builds): same call shape as <see cref="LSTM"/>, inference only (no autograd,
/// no dropout, no packed sequences, no projections). See <see cref="DynamicQuantizedRecurrent"/>.
/// </summary>
public sealed class DynamicQuantizedLSTM : Module<Tensor, (Tensor H, Tensor C)?, (Tensor Output, (Tensor H, Tensor C) State)>
{
    internal DynamicQuantizedLSTM(DynamicQuantizedRecurrent core) => Core = core;

    /// <summary>Quantizes a float LSTM (per-tensor symmetric int8 weights as default_dynamic_qconfig, or per output row).</summary>
    public static DynamicQuantizedLSTM FromFloat(LSTM lstm, bool perChannel = false, bool reduceRange = true) =>
        new(DynamicQuantizedRecurrent.FromFloat(lstm, true, perChannel, reduceRange));

    /// <summary>The quantized weights and sizes.</summary>
    public DynamicQuantizedRecurrent Core { get; }

    /// <summary>Runs from zero states.</summary>
    public (Tensor Output, (Tensor H, Tensor C) State) Call(Tensor input) => Call(input, null);

    /// <summary>input (T, B, I) (or batch-first / unbatched), state (h0, c0) each (layers·D, B, H) or null → output (T, B, D·H), (h_n, c_n).</summary>
    public override (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (o, h, c) = Core.Run(input, state?.H, state?.C, nameof(DynamicQuantizedLSTM));
        return (o, (h, c!));
    }
}

/// <summary>
/// GRU with int8 weights and activations quantized per call (torch.ao.nn.quantized.dynamic.GRU): same call shape as
/// <see cref="GRU"/>, inference only. See <see cref="DynamicQuantizedRecurrent"/>.
/// </summary>
public sealed class DynamicQuantizedGRU : Module<Tensor, Tensor?, (Tensor Output, Tensor HN)>
{
    internal DynamicQuantizedGRU(DynamicQuantizedRecurrent core) => Core = core;

    /// <summary>Quantizes a float GRU (per-tensor symmetric int8 weights as default_dynamic_qconfig, or per output row).</summary>
    public static DynamicQuantizedGRU FromFloat(GRU gru, bool perChannel = false, bool reduceRange = true) =>
        new(DynamicQuantizedRecurrent.FromFloat(gru, false, perChannel, reduceRange));

    /// <summary>The quantized weights and sizes.</summary>
    public DynamicQuantizedRecurrent Core { get; }

    /// <summary>Runs from a zero state.</summary>
    public (Tensor Output, Tensor HN) Call(Tensor input) => Call(input, null);

    /// <summary>input (T, B, I) (or batch-first / unbatched), h0 (layers·D, B, H) or null → output (T, B, D·H), h_n.</summary>
    public override (Tensor Output, Tensor HN) Forward(Tensor input, Tensor? h0)
    {
        var (o, h, _) = Core.Run(input, h0, null, nameof(DynamicQuantizedGRU));
        return (o, h);
    }
}
