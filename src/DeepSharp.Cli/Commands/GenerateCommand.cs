using DeepSharp.Kernels;
using DeepSharp.Text;
using DeepSharp.Text.Models;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp generate MODEL --prompt TEXT`: continues a prompt with a language model saved by `deepsharp train`.</summary>
public static class GenerateCommand
{
    const string Usage = """
        usage: deepsharp generate MODEL [--prompt TEXT] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]
                                        [--seed S] [--threads N]
          MODEL: a directory written by 'deepsharp train --model gpt|lstm --out DIR' (model.safetensors and tokenizer.json)
          or its model.safetensors file. Prints the prompt and its continuation as it is generated. Defaults: 200 tokens,
          temperature 0.8 (0 = greedy), no top-k (0) or top-p (1) filtering, seed 42. Without --prompt the model starts
          after a blank line.
        """;

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("generate", args, ["prompt", "max-tokens", "temperature", "top-k", "top-p", "seed", "threads"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count != 1)
            throw new UsageException(p.Positionals.Count == 0
                ? "deepsharp generate: give the model, e.g. 'deepsharp generate runs/gpt --prompt \"Q: \"'."
                : $"deepsharp generate: unexpected argument '{p.Positionals[1]}' (quote a prompt with spaces: --prompt \"...\").");
        var prompt = p.OptionalString("prompt") ?? "";
        int maxTokens = p.Int("max-tokens", 200, 0, 1_000_000);
        var sampling = new SamplingOptions
        {
            Temperature = p.Double("temperature", 0.8, 0),
            TopK = p.Int("top-k", 0, 0),
            TopP = p.Double("top-p", 1.0, 0),
        };
        if (!(sampling.TopP > 0 && sampling.TopP <= 1)) throw new UsageException("deepsharp generate: --top-p must be in (0, 1].");
        int seed = p.Int("seed", 42, 0);
        KernelThreadPool.SetThreadCount(p.Int("threads", Environment.ProcessorCount, 1, 1024));

        var (model, tokenizer) = Load(p.Positionals[0]);
        Sample(model, tokenizer, prompt, maxTokens, sampling, new Generator(seed), output);
        output.WriteLine();
        return 0;
    }

    /// <summary>Loads the model and tokenizer that `deepsharp train` saved in a directory (or next to a model file).</summary>
    public static (LanguageModel Model, ITokenizer Tokenizer) Load(string path)
    {
        var modelPath = Directory.Exists(path) ? Path.Combine(path, "model.safetensors") : path;
        if (!File.Exists(modelPath))
            throw new UsageException($"deepsharp generate: model not found: {modelPath} (train one with 'deepsharp train --model gpt --dataset text:FILE --out DIR').");
        ModelKinds.RequireLanguageModel(modelPath);
        var tokenizerPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
            throw new UsageException($"deepsharp generate: tokenizer not found: {tokenizerPath} ('deepsharp train' writes it beside model.safetensors).");
        var (model, _) = LanguageModel.Load(modelPath);
        var tokenizer = Tokenizer.Load(tokenizerPath);
        if (tokenizer.VocabSize != model.VocabSize)
            throw new InvalidDataException($"{tokenizerPath} has {tokenizer.VocabSize} tokens but the model in {modelPath} expects {model.VocabSize}");
        return (model, tokenizer);
    }

    /// <summary>
    /// Writes <paramref name="prompt"/> and up to <paramref name="maxTokens"/> generated tokens to <paramref name="output"/>
    /// as they come (through the model's KV cache or recurrent state). Text is written once it decodes to whole
    /// characters, so a byte-level token that ends inside a character waits for the rest. An empty prompt starts the model
    /// after a blank line ("\n\n", not printed), or after its first token when that cannot be encoded.
    /// </summary>
    public static string Sample(LanguageModel model, ITokenizer tokenizer, string prompt, int maxTokens, SamplingOptions sampling,
                                Generator generator, TextWriter output)
    {
        var promptIds = tokenizer.Encode(prompt.Length > 0 ? prompt : "\n\n");
        if (promptIds.Length == 0) promptIds = [0];
        if (prompt.Length > 0) output.Write(prompt);
        var generated = new List<int>();
        int written = 0;
        string text = "";
        foreach (int token in Generation.Stream(model.CreateStepper(), promptIds, maxTokens, sampling, generator: generator))
        {
            generated.Add(token);
            text = tokenizer.Decode(generated.ToArray());
            if (text.EndsWith('\uFFFD')) continue;   // possibly an unfinished UTF-8 sequence: wait for the next token
            output.Write(text[written..]);
            output.Flush();
            written = text.Length;
        }
        if (written < text.Length) output.Write(text[written..]);
        return text;
    }
}
