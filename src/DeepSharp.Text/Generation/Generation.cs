namespace DeepSharp.Text;

/// <summary>
/// The autoregressive generation loop, for any model: it only needs a function from the token context to the logits of
/// the next token (nanoGPT's <c>GPT.generate</c>, Hugging Face <c>model.generate(max_new_tokens=, eos_token_id=, ...)</c>).
/// <para>
/// The function receives the context so far (the prompt, then each generated token appended; only its last
/// <c>maxContext</c> tokens when that is set, like nanoGPT's crop to block_size) and returns logits of shape (V), or any
/// (..., V) whose last row is then used, e.g. a language model's (1, T, V) output. A stateless model runs on the whole
/// context each step. A stateful one (an LSTM carrying its hidden state, a Transformer with a KV cache) feeds only the
/// tokens it has not seen: the first call's context is the prompt and each later call's context is one token longer,
/// so it feeds <c>context[^1]</c>. The context passed is a snapshot: it does not change after the call returns.
/// The function runs under <see cref="Autograd.NoGrad"/>.
/// </para>
/// </summary>
public static class Generation
{
    /// <summary>
    /// Generates up to <paramref name="maxNewTokens"/> tokens after <paramref name="prompt"/> and returns them (without the
    /// prompt). Generation stops early at a token of <paramref name="stopTokens"/> (returned only when
    /// <paramref name="includeStopToken"/> is set). <paramref name="sampling"/> defaults to sampling at temperature 1 with no
    /// filtering; pass <see cref="SamplingOptions.Greedy"/> for greedy decoding. Random draws use
    /// <paramref name="generator"/>, or the global generator.
    /// </summary>
    public static int[] Generate(Func<IReadOnlyList<int>, Tensor> nextTokenLogits, IEnumerable<int> prompt, int maxNewTokens,
                                 SamplingOptions? sampling = null, IEnumerable<int>? stopTokens = null, int? maxContext = null,
                                 Generator? generator = null, bool includeStopToken = false) =>
        [.. Stream(nextTokenLogits, prompt, maxNewTokens, sampling, stopTokens, maxContext, generator, includeStopToken)];

    /// <summary>
    /// Like <see cref="Generate"/> but yields each token as soon as it is chosen (for printing text as it is generated,
    /// like Hugging Face's TextStreamer). Nothing runs until the sequence is enumerated.
    /// </summary>
    public static IEnumerable<int> Stream(Func<IReadOnlyList<int>, Tensor> nextTokenLogits, IEnumerable<int> prompt, int maxNewTokens,
                                          SamplingOptions? sampling = null, IEnumerable<int>? stopTokens = null, int? maxContext = null,
                                          Generator? generator = null, bool includeStopToken = false)
    {
        ArgumentNullException.ThrowIfNull(nextTokenLogits); ArgumentNullException.ThrowIfNull(prompt);
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), $"Generation: maxNewTokens must be non-negative, got {maxNewTokens}");
        if (maxContext is < 1) throw new ArgumentOutOfRangeException(nameof(maxContext), $"Generation: maxContext must be at least 1, got {maxContext}");
        var options = sampling ?? new SamplingOptions();
        options.Validate();
        var stops = stopTokens is null ? [] : new HashSet<int>(stopTokens);
        var tokens = new List<int>(prompt);
        return Run(nextTokenLogits, tokens, maxNewTokens, options, stops, maxContext, generator, includeStopToken);
    }

    /// <summary>
    /// Generates text: encodes <paramref name="prompt"/>, generates (see <see cref="Generate"/>) and decodes the new tokens
    /// (the stop token is left out).
    /// </summary>
    public static string GenerateText(ITokenizer tokenizer, Func<IReadOnlyList<int>, Tensor> nextTokenLogits, string prompt, int maxNewTokens,
                                      SamplingOptions? sampling = null, IEnumerable<int>? stopTokens = null, int? maxContext = null,
                                      Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer); ArgumentNullException.ThrowIfNull(prompt);
        return tokenizer.Decode(Generate(nextTokenLogits, tokenizer.Encode(prompt), maxNewTokens, sampling, stopTokens, maxContext, generator));
    }

    static IEnumerable<int> Run(Func<IReadOnlyList<int>, Tensor> nextTokenLogits, List<int> tokens, int maxNewTokens, SamplingOptions options,
                                HashSet<int> stops, int? maxContext, Generator? generator, bool includeStopToken)
    {
        // Tokens live in an append-only buffer; each call gets a segment of it, which later appends never change.
        var buffer = new int[Math.Max(16, tokens.Count + Math.Min(maxNewTokens, 1 << 20))];
        tokens.CopyTo(buffer);
        int count = tokens.Count;
        for (int step = 0; step < maxNewTokens; step++)
        {
            int start = maxContext is int window && count > window ? count - window : 0;
            var context = new ArraySegment<int>(buffer, start, count - start);
            int next;
            using (Autograd.NoGrad())
            {
                var logits = nextTokenLogits(context) ?? throw new InvalidOperationException("Generation: the logits function returned null");
                if (logits.Rank == 0)
                    throw new ArgumentException($"Generation: the logits function must return a tensor of shape (V) or (..., V), got a scalar", nameof(nextTokenLogits));
                var last = logits.Rank == 1 ? logits : logits.Reshape(-1, logits.Shape[^1]).Select(0, -1);
                next = (int)Sampling.Sample(last, options, generator).Item<long>();
            }
            bool stop = stops.Contains(next);
            if (stop && !includeStopToken) yield break;
            if (count == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            buffer[count++] = next;
            yield return next;
            if (stop) yield break;
        }
    }
}
