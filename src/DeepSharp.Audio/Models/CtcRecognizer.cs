using DeepSharp.NN;

namespace DeepSharp.Audio;

/// <summary>
/// A small CTC speech recogniser (DeepSpeech 2's shape at toy size): two 1-D convolutions over time with stride 2 each
/// (conv-BN-ReLU, 40 ms per output frame), a bidirectional LSTM, and a linear layer to the classes (blank = 0) with
/// log-softmax. Input (B, n_mels, frames) normalised log-mel → output (T', B, classes) log-probabilities, ready for
/// <see cref="Ctc.Loss"/> and <see cref="CtcDecoding"/>.
/// </summary>
public sealed class CtcRecognizer : Module<Tensor, Tensor>
{
    readonly Conv1d conv1, conv2;
    readonly BatchNorm1d bn1, bn2;
    readonly LSTM lstm;
    readonly Linear fc;

    /// <summary>Creates the model: <paramref name="hidden"/> conv channels and LSTM units per direction, <paramref name="layers"/> LSTM layers.</summary>
    public CtcRecognizer(int nMels = 40, int hidden = 128, int layers = 2, int classes = 11)
    {
        if (nMels < 1 || hidden < 1 || layers < 1 || classes < 2)
            throw new ArgumentException($"CtcRecognizer: need nMels, hidden, layers >= 1 and classes >= 2, got {nMels}, {hidden}, {layers}, {classes}");
        conv1 = new Conv1d(nMels, hidden, 5, stride: 2, padding: 2); bn1 = new BatchNorm1d(hidden);
        conv2 = new Conv1d(hidden, hidden, 5, stride: 2, padding: 2); bn2 = new BatchNorm1d(hidden);
        lstm = new LSTM(hidden, hidden, layers, bidirectional: true, dropout: layers > 1 ? 0.1 : 0);
        fc = new Linear(2 * hidden, classes);
    }

    /// <summary>Output frames for <paramref name="frames"/> input frames (two stride-2 convolutions).</summary>
    public static int OutputFrames(int frames) => ((frames - 1) / 2 + 1 - 1) / 2 + 1;

    /// <summary>(B, n_mels, frames) → (T', B, classes) log-probabilities.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != 3) throw new ArgumentException($"CtcRecognizer: input must be (B, n_mels, frames), got shape {Spectral.Shape(x)}", nameof(x));
        x = F.Relu(bn1.Call(conv1.Call(x)));                  // (B, H, T/2)
        x = F.Relu(bn2.Call(conv2.Call(x)));                  // (B, H, T/4)
        var (sequence, _) = lstm.Call(x.Permute(2, 0, 1));    // (T', B, 2H)
        return F.LogSoftmax(fc.Call(sequence), -1);           // (T', B, classes)
    }

    /// <summary>Greedy transcripts of a batch of (T', B, classes) log-probabilities, as digit strings with class k → digit k − 1.</summary>
    public static int[][] Decode(Tensor logProbs, int beamWidth = 1)
    {
        var result = new int[logProbs.Size(1)][];
        for (int b = 0; b < result.Length; b++)
        {
            var rows = logProbs.Select(1, b);
            result[b] = (beamWidth > 1 ? CtcDecoding.BeamSearch(rows, beamWidth) : CtcDecoding.Greedy(rows)).Select(k => k - 1).ToArray();
        }
        return result;
    }
    /// <summary>
    /// CTC loss (<see cref="Ctc.Loss"/>, reduction "mean") of (T', B, classes) log-probabilities against (B, S) targets
    /// padded with the blank 0 (as <see cref="SpokenDigitStrings.Targets"/> makes them); every sample uses all T' frames.
    /// </summary>
    public static Tensor Loss(Tensor logProbs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logProbs); ArgumentNullException.ThrowIfNull(targets);
        if (logProbs.Rank != 3 || targets.Rank != 2 || targets.Size(0) != logProbs.Size(1))
            throw new ArgumentException($"CtcRecognizer.Loss: need (T, B, C) log-probabilities and (B, S) targets, got shapes {Spectral.Shape(logProbs)} and {Spectral.Shape(targets)}", nameof(targets));
        int batch = logProbs.Size(1), width = targets.Size(1);
        var t = targets.To(DType.Int64).Contiguous().ToArray<long>();
        var targetLengths = Enumerable.Range(0, batch).Select(b => Enumerable.Range(0, width).Count(j => t[b * width + j] != 0)).ToArray();
        return Ctc.Loss(logProbs, targets, Enumerable.Repeat(logProbs.Size(0), batch).ToArray(), targetLengths);
    }

    /// <summary>Greedy transcripts ("three one four") of (N, n_mels, frames) features, in batches of 64, in eval mode.</summary>
    public static string[] Transcribe(CtcRecognizer model, Tensor features)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(features);
        model.Eval();
        using var _ = Autograd.NoGrad();
        var result = new List<string>();
        for (int start = 0; start < features.Size(0); start += 64)
        {
            var logProbs = model.Call(features.Narrow(0, start, Math.Min(64, features.Size(0) - start)));
            result.AddRange(Decode(logProbs).Select(d => string.Join(" ", d.Select(k => SpokenDigits.Words[k]))));
        }
        return [.. result];
    }
}
