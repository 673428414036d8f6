using System.Diagnostics;
using DeepSharp;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Quantization;
using DeepSharp.Text.Models;

/// <summary>Trains a character-level LstmLanguageModel, quantizes its LSTM dynamically and measures both.</summary>
public static class QuantizeLstm
{
    /// <summary>Budget: the text (a fortunes file by default), training steps of 32 windows × 64 characters, hidden
    /// size, evaluation characters (held out: the last part of the text) and timing rounds.</summary>
    public sealed record Settings(string TextFile = "/usr/share/games/fortunes/fortunes", int TrainSteps = 300, int Hidden = 128,
        int EvalWindows = 64, int Window = 64, int TimingRounds = 30, int Seed = 1);

    /// <summary>Float and int8 results: next-character accuracy, mean cross-entropy (nats), the LSTM's median ms on the
    /// evaluation batch (EvalWindows × Window) and the median of the per-round ratios float ms / int8 ms (each round times
    /// both models back to back, so a load change between rounds cancels out of its ratio).</summary>
    public sealed record Result(double FloatAccuracy, double Int8Accuracy, double FloatLoss, double Int8Loss, double FloatMs, double Int8Ms,
        double PairedSpeedup = double.NaN)
    {
        public override string ToString() =>
            $"float32: accuracy {FloatAccuracy:P2}, loss {FloatLoss:F4}, LSTM {FloatMs:F1} ms; dynamic int8: accuracy {Int8Accuracy:P2} " +
            $"({(Int8Accuracy - FloatAccuracy) * 100:+0.00;-0.00} points), loss {Int8Loss:F4}, LSTM {Int8Ms:F1} ms ({FloatMs / Int8Ms:F2}x; " +
            $"median of per-round ratios {PairedSpeedup:F2}x)";
    }

    public static Result Run(Settings s, TextWriter log)
    {
        if (!File.Exists(s.TextFile)) throw new FileNotFoundException($"QuantizeLstm: text file {s.TextFile} not found", s.TextFile);
        string text = File.ReadAllText(s.TextFile);
        var chars = text.Distinct().OrderBy(c => c).ToArray();
        var index = chars.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        var ids = text.Select(c => index[c]).ToArray();
        int evalChars = s.EvalWindows * (s.Window + 1);
        if (ids.Length < evalChars * 4) throw new ArgumentException($"QuantizeLstm: {s.TextFile} is too short for {s.EvalWindows} evaluation windows", nameof(s));
        int trainEnd = ids.Length - evalChars;
        var model = new LstmLanguageModel(new LstmLanguageModelConfig(chars.Length, EmbeddingDim: 32, HiddenSize: s.Hidden));
        var opt = new Adam(model.Parameters(), lr: 3e-3);
        var rng = new System.Random(s.Seed);
        const int batch = 32;
        var watch = Stopwatch.StartNew();
        model.Train();
        for (int step = 0; step < s.TrainSteps; step++)
        {
            var (x, y) = Batch(ids, Enumerable.Range(0, batch).Select(_ => rng.Next(trainEnd - s.Window - 1)).ToArray(), s.Window);
            var loss = F.CrossEntropy(model.Forward(x).Reshape(-1, chars.Length), y.Reshape(-1));
            opt.ZeroGrad(); loss.Backward(); opt.Step();
            if (step % 100 == 0 || step == s.TrainSteps - 1) log.WriteLine($"step {step}: loss {loss.Item<float>():F4} ({watch.Elapsed.TotalSeconds:F0} s)");
        }
        model.Eval();
        var modules = model.NamedModules().ToDictionary(p => p.Name, p => p.Module);
        var embed = (Embedding)modules["embed"]; var lstm = (LSTM)modules["lstm"]; var head = (Linear)modules["head"];
        var qlstm = DynamicQuantizedLSTM.FromFloat(lstm);
        var (ex, ey) = Batch(ids, Enumerable.Range(0, s.EvalWindows).Select(w => trainEnd + w * (s.Window + 1)).ToArray(), s.Window);
        using var _ = Autograd.NoGrad();
        var e = embed.Call(ex);
        // the timing protocol, the same for both models: two untimed warm-up calls each (the int8 path's code is not
        // compiled yet, the float path's was compiled during training), then TimingRounds rounds that call both models
        // back to back, the order alternating between rounds (float first in even rounds, int8 first in odd ones) so
        // neither side always runs right after the other; medians of each side and of the per-round ratios
        Tensor hf = lstm.Call(e).Output, hq = qlstm.Call(e).Output;
        hf = lstm.Call(e).Output; hq = qlstm.Call(e).Output;
        var floatTimes = new List<double>(); var intTimes = new List<double>(); var ratios = new List<double>();
        for (int r = 0; r < Math.Max(1, s.TimingRounds); r++)
        {
            double tf = 0, tq = 0;
            for (int side = 0; side < 2; side++)
            {
                bool runFloat = (side == 0) == (r % 2 == 0);
                var t0 = Stopwatch.GetTimestamp();
                if (runFloat) { hf = lstm.Call(e).Output; tf = Stopwatch.GetElapsedTime(t0).TotalMilliseconds; }
                else { hq = qlstm.Call(e).Output; tq = Stopwatch.GetElapsedTime(t0).TotalMilliseconds; }
            }
            floatTimes.Add(tf); intTimes.Add(tq); ratios.Add(tf / tq);
        }
        var (fa, fl) = Score(head.Call(hf), ey, chars.Length);
        var (qa, ql) = Score(head.Call(hq), ey, chars.Length);
        return new Result(fa, qa, fl, ql, Median(floatTimes), Median(intTimes), Median(ratios));
    }

    static (Tensor X, Tensor Y) Batch(int[] ids, int[] starts, int window)
    {
        var x = new long[starts.Length * window]; var y = new long[starts.Length * window];
        for (int b = 0; b < starts.Length; b++)
            for (int t = 0; t < window; t++) { x[b * window + t] = ids[starts[b] + t]; y[b * window + t] = ids[starts[b] + t + 1]; }
        return (Tensor.FromArray(x, [starts.Length, window]), Tensor.FromArray(y, [starts.Length, window]));
    }

    static (double Accuracy, double Loss) Score(Tensor logits, Tensor target, int vocab)
    {
        var flat = logits.Reshape(-1, vocab);
        double loss = F.CrossEntropy(flat, target.Reshape(-1)).Item<float>();
        var p = flat.ToArray<float>(); var y = target.ToArray<long>();
        int right = 0;
        for (int i = 0; i < y.Length; i++)
        {
            int best = 0;
            for (int j = 1; j < vocab; j++) if (p[i * vocab + j] > p[i * vocab + best]) best = j;
            if (best == y[i]) right++;
        }
        return ((double)right / y.Length, loss);
    }

    static double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
}
