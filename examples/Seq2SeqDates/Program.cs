// Sequence to sequence with attention: human-written dates ("twelfth of March 2021", "Fri Mar 12 2021",
// "March the twelfth, twenty twenty-one", ...) to ISO "2021-03-12", character by character. A bidirectional GRU
// encodes the source; a GRU cell decodes with additive (Bahdanau) attention over the encoder states, trained with
// teacher forcing and decoded greedily. Test dates are never seen in training.
// Run: dotnet run -c Release --project examples/Seq2SeqDates -- --steps 800
using System.Diagnostics;
using DeepSharp;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

int steps = args.Length >= 2 && args[0] == "--steps" ? int.Parse(args[1]) : 800;
Seq2SeqDates.Run(steps, Console.WriteLine);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class Seq2SeqDates
{
    /// <summary>Source characters, with &lt;pad&gt; = 0.</summary>
    public static readonly CharTokenizer SourceTokenizer = new(Dates.SourceAlphabet.Select(c => (int)c), UnknownCharHandling.Error, ["<pad>"]);

    /// <summary>Target characters, with &lt;bos&gt; = 0 (the decoder's first input).</summary>
    public static readonly CharTokenizer TargetTokenizer = new(Dates.TargetAlphabet.Select(c => (int)c), UnknownCharHandling.Error, ["<bos>"]);

    /// <summary>A batch: sources (B, S) padded with 0 and their lengths, decoder inputs (B, 10) = &lt;bos&gt; + target[:-1],
    /// targets (B, 10).</summary>
    public sealed record Batch(Tensor Source, int[] Lengths, Tensor DecoderInput, Tensor Target);

    /// <summary>Encodes (source, target) pairs into a batch.</summary>
    public static Batch MakeBatch(IReadOnlyList<(string Source, string Target)> pairs)
    {
        int b = pairs.Count, s = pairs.Max(p => p.Source.Length), t = Dates.TargetLength;
        var source = new long[b * s];
        var decoderInput = new long[b * t];
        var target = new long[b * t];
        var lengths = new int[b];
        for (int i = 0; i < b; i++)
        {
            var ids = SourceTokenizer.Encode(pairs[i].Source);
            lengths[i] = ids.Length;
            for (int j = 0; j < ids.Length; j++) source[i * s + j] = ids[j];
            var y = TargetTokenizer.Encode(pairs[i].Target);
            for (int j = 0; j < t; j++) { target[i * t + j] = y[j]; decoderInput[i * t + j] = j == 0 ? 0 : y[j - 1]; }
        }
        return new Batch(Tensor.FromArray(source, b, s), lengths, Tensor.FromArray(decoderInput, b, t), Tensor.FromArray(target, b, t));
    }

    /// <summary>Bidirectional GRU encoder, GRU-cell decoder with additive attention (Bahdanau et al., 2015).</summary>
    public sealed class Model : Module<Tensor, Tensor>
    {
        const int Embedding = 32, EncoderHidden = 64, DecoderHidden = 128, AttentionSize = 64, TargetEmbedding = 16;
        readonly Embedding sourceEmbedding = new(SourceTokenizer.VocabSize, Embedding, paddingIdx: 0);
        readonly GRU encoder = new(Embedding, EncoderHidden, batchFirst: true, bidirectional: true);
        readonly Linear bridge = new(2 * EncoderHidden, DecoderHidden);          // encoder's final states -> decoder's h0
        readonly Linear attentionKey = new(2 * EncoderHidden, AttentionSize);
        readonly Linear attentionQuery = new(DecoderHidden, AttentionSize, bias: false);
        readonly Linear attentionScore = new(AttentionSize, 1, bias: false);     // v in vᵀ tanh(W_k k + W_q q)
        readonly Embedding targetEmbedding = new(TargetTokenizer.VocabSize, TargetEmbedding);
        readonly GRUCell decoder = new(TargetEmbedding + 2 * EncoderHidden, DecoderHidden);
        readonly Linear output = new(DecoderHidden + 2 * EncoderHidden + TargetEmbedding, TargetTokenizer.VocabSize);

        /// <summary>The encoder's view of a source batch: values (B, S, 2E), attention keys (B, S, A), pad mask (B, S) and h0 (B, D).</summary>
        public sealed record Encoded(Tensor Values, Tensor Keys, Tensor PadMask, Tensor Hidden);

        /// <summary>Runs the bidirectional encoder over the packed sources.</summary>
        public Encoded Encode(Tensor source, int[] lengths)
        {
            int s = source.Shape[1];
            var packed = RnnUtils.PackPaddedSequence(sourceEmbedding.Call(source), lengths, batchFirst: true, enforceSorted: false);
            var (outputPacked, hN) = encoder.Call(packed);                                 // hN (2, B, E)
            var values = RnnUtils.PadPackedSequence(outputPacked, batchFirst: true, totalLength: s).Padded;   // (B, S, 2E)
            var hidden = bridge.Call(Tensor.Cat([hN.Select(0, 0), hN.Select(0, 1)], 1)).Tanh();              // (B, D)
            return new Encoded(values, attentionKey.Call(values), source.Eq(0), hidden);
        }

        /// <summary>One decoder step: attend with the previous state, update the state, return (logits (B, V), state, weights (B, S)).</summary>
        public (Tensor Logits, Tensor Hidden, Tensor Weights) Step(Encoded enc, Tensor previousToken, Tensor hidden)
        {
            var energy = (enc.Keys + attentionQuery.Call(hidden).Unsqueeze(1)).Tanh();            // (B, S, A)
            var scores = attentionScore.Call(energy).Squeeze(-1).MaskedFill(enc.PadMask, double.NegativeInfinity);   // (B, S)
            var weights = scores.Softmax(1);
            var context = weights.Unsqueeze(1).Bmm(enc.Values).Squeeze(1);                        // (B, 2E)
            var embedded = targetEmbedding.Call(previousToken);                                    // (B, TE)
            var next = decoder.Call(Tensor.Cat([embedded, context], 1), hidden);                   // (B, D)
            return (output.Call(Tensor.Cat([next, context, embedded], 1)), next, weights);
        }

        /// <summary>
        /// Decodes <see cref="Dates.TargetLength"/> steps and returns logits (B, T, V). With <paramref name="decoderInput"/>
        /// (B, T) each step is fed the true previous character (teacher forcing); without, its own argmax (greedy decoding).
        /// With <paramref name="attention"/> each step's attention weights (B, S) are added to it.
        /// </summary>
        public Tensor Decode(Tensor source, int[] lengths, Tensor? decoderInput = null, List<Tensor>? attention = null)
        {
            var enc = Encode(source, lengths);
            var hidden = enc.Hidden;
            var token = Tensor.Zeros(source.Shape[0], DType.Int64);   // <bos>
            var logits = new Tensor[Dates.TargetLength];
            for (int t = 0; t < logits.Length; t++)
            {
                if (decoderInput != null) token = decoderInput.Select(1, t);
                (logits[t], hidden, var weights) = Step(enc, token, hidden);
                attention?.Add(weights);
                if (decoderInput == null) token = Sampling.Greedy(logits[t].Detach());
            }
            return Tensor.Stack(logits, 1);
        }

        /// <summary>Teacher-forced logits (B, T, V) of a training batch.</summary>
        public Tensor Forward(Batch batch) => Decode(batch.Source, batch.Lengths, batch.DecoderInput);

        /// <summary><see cref="Forward(Batch)"/> through the module's hooks, as <c>model(batch)</c>.</summary>
        public Tensor Call(Batch batch) => Invoke(this, ValueTuple.Create(batch), static (m, a) => m.Forward(a.Item1));

        /// <summary>Greedy-decoded logits (B, T, V) for sources (B, S) padded with 0 (lengths: the non-pad counts).</summary>
        public override Tensor Forward(Tensor source) =>
            Decode(source, [.. source.Ne(0).Sum(1).ToArray<long>().Select(n => (int)n)]);

        /// <summary>Greedy decoding without gradients: ids (B, T).</summary>
        public Tensor Greedy(Tensor source, int[] lengths)
        {
            using var noGrad = Autograd.NoGrad();
            return Decode(source, lengths).ArgMax(2);
        }
    }

    /// <summary>Translates sources with greedy decoding.</summary>
    public static string[] Translate(Model model, IReadOnlyList<string> sources)
    {
        var batch = MakeBatch([.. sources.Select(s => (s, "0000-00-00"))]);
        var ids = model.Greedy(batch.Source, batch.Lengths);
        return [.. Enumerable.Range(0, sources.Count).Select(i => TargetTokenizer.Decode(ids.Select(0, i)))];
    }

    /// <summary>Fraction of pairs translated exactly right.</summary>
    public static double ExactMatch(Model model, IReadOnlyList<(string Source, string Target)> pairs, int batchSize = 500)
    {
        model.Eval();
        int correct = 0;
        for (int start = 0; start < pairs.Count; start += batchSize)
        {
            var chunk = pairs.Skip(start).Take(batchSize).ToList();
            var predicted = Translate(model, [.. chunk.Select(p => p.Source)]);
            correct += chunk.Where((p, i) => predicted[i] == p.Target).Count();
        }
        model.Train();
        return (double)correct / pairs.Count;
    }

    /// <summary>What a run measured.</summary>
    public sealed record Report(int Steps, double Seconds, double FinalLoss, double TestExactMatch, Model Model);

    /// <summary>Trains for <paramref name="steps"/> steps on freshly drawn training dates and scores exact match on
    /// <paramref name="testCount"/> held-out examples.</summary>
    public static Report Run(int steps, Action<string> log, int batchSize = 64, double lr = 3e-3, int testCount = 5000, long seed = 0)
    {
        DeepSharp.Random.Seed(seed);
        var (trainDates, testDates) = Dates.SplitDates(seed);
        var test = Dates.Sample(testDates, testCount, new Generator(seed + 1));
        var rng = new Generator(seed + 2);
        var model = new Model();
        var optimizer = new AdamW(model.Parameters(), lr: lr, weightDecay: 1e-4);
        log($"{trainDates.Length} training dates, {testDates.Length} held-out dates; {model.Parameters().Sum(p => p.NumEl):N0} parameters");
        // The Trainer with a custom step (the model takes a Batch, not one tensor): teacher-forced cross-entropy, the
        // gradient norm clipped at 1, warm-up then cosine decay over the step budget; batches are drawn fresh each step.
        double running = 0;
        var trainer = new Trainer(model, optimizer, ctx =>
        {
            var batch = new Batch(ctx.Batch[0], ctx.Batch[1].ToArray<int>(), ctx.Batch[2], ctx.Batch[3]);
            var logits = model.Call(batch);                                                     // (B, T, V)
            var loss = F.CrossEntropy(logits.Reshape(-1, logits.Shape[2]), batch.Target.Reshape(-1));
            running = ctx.Trainer.GlobalStep == 0 ? loss.Item() : 0.98 * running + 0.02 * loss.Item();
            return loss;
        }, progress: new PlainProgress(TextWriter.Null)) { ClipGradNorm = 1.0, StepSchedulerPerBatch = true };
        trainer.Scheduler = ProgressLR.WarmupCosine(optimizer, () => trainer.BudgetUsed, warmup: 0.03, minFactor: 0.05);
        var clock = Stopwatch.StartNew();
        trainer.Fit(Batches(trainDates, batchSize, rng), validation: null, TrainingBudget.Steps(steps), [new StepLogger(250, log)]);
        double seconds = clock.Elapsed.TotalSeconds;
        double accuracy = ExactMatch(model, test);
        log($"held-out exact match: {accuracy:P2} of {test.Length} ({steps} steps, {seconds:F0} s of training)");
        var examples = test.Take(8).ToList();
        var predicted = Translate(model, [.. examples.Select(p => p.Source)]);
        for (int i = 0; i < examples.Count; i++)
            log($"  {examples[i].Source,-58} -> {predicted[i]}{(predicted[i] == examples[i].Target ? "" : $"  (expected {examples[i].Target})")}");
        log("where the decoder looks (the source character with the largest attention weight for each output character):");
        log("  " + AttentionPeaks(model, "the twenty-first of june, nineteen eighty-four"));
        log("  " + AttentionPeaks(model, "Sat Feb 29 2020"));
        return new Report(steps, seconds, running, accuracy, model);
    }

    /// <summary>Endless training batches of <paramref name="batchSize"/> dates drawn with <paramref name="rng"/>, as
    /// (source, lengths (int32), decoder input, target) for the Trainer.</summary>
    static IEnumerable<Tensor[]> Batches(DateOnly[] dates, int batchSize, Generator rng)
    {
        while (true)
        {
            var batch = MakeBatch(Dates.Sample(dates, batchSize, rng));
            yield return [batch.Source, Tensor.FromArray(batch.Lengths, batch.Lengths.Length), batch.DecoderInput, batch.Target];
        }
    }

    /// <summary>Each output character of the greedy translation with the source position it attends to most.</summary>
    public static string AttentionPeaks(Model model, string source)
    {
        var batch = MakeBatch([(source, "0000-00-00")]);
        var attention = new List<Tensor>();
        string output;
        model.Eval();
        using (Autograd.NoGrad())
            output = TargetTokenizer.Decode(model.Decode(batch.Source, batch.Lengths, attention: attention).ArgMax(2).Select(0, 0));
        model.Train();
        var peaks = attention.Select(w => (int)w.Select(0, 0).ArgMax().Item<long>()).ToArray();
        return $"{source} -> {output}: " + string.Join(" ", output.Select((c, t) => $"{c}<'{source[peaks[t]]}'@{peaks[t]}"));
    }
}
