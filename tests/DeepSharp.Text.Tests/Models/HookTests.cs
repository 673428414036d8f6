using DeepSharp.NN;
using DeepSharp.Text.Models;

namespace DeepSharp.Text.Tests.Models;

/// <summary>Forward hooks fire in every module of the language models, whichever entry (full forward, cached step) runs them.</summary>
public class HookTests
{
    /// <summary>Counts forward-hook calls per dotted module name while <paramref name="run"/> runs, then removes the hooks.</summary>
    static Dictionary<string, int> CountCalls(Module model, Action run)
    {
        var counts = new Dictionary<string, int>();
        var handles = model.NamedModules().Select(named =>
        {
            counts[named.Name] = 0;
            return named.Module.RegisterForwardHook((_, _, _) => { counts[named.Name]++; });
        }).ToList();
        run();
        foreach (var h in handles) h.Dispose();
        return counts;
    }

    static void AssertEveryModuleRan(Module model, Dictionary<string, int> counts)
    {
        foreach (var (name, m) in model.NamedModules())
            if (m is ModuleList or ModuleDict) Assert.Equal(0, counts[name]);
            else Assert.True(counts[name] >= 1, $"the forward hook of \"{name}\" ({m.GetType().Name}) never fired");
    }

    static Tensor Ids(int batch, int length) =>
        Tensor.FromArray(Enumerable.Range(0, batch * length).Select(i => (long)(i % 7)).ToArray(), batch, length);

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 3)]
    public void HooksFireInEveryModuleOfTheGpt(bool rotary, int convKernel)
    {
        var model = new Gpt(new GptConfig(VocabSize: 11, ContextLength: 16, Layers: 2, Heads: 2, Width: 16, Dropout: 0.1,
                                          TiedHead: false, Rotary: rotary, ConvKernel: convKernel));
        var counts = CountCalls(model, () => model.Call(Ids(2, 5)));
        AssertEveryModuleRan(model, counts);
        Assert.Equal(1, counts[""]);
        Assert.Equal(1, counts["h.layers.1.self_attn"]);

        // incremental decoding runs the same modules, one call per step
        var stepCounts = CountCalls(model, () =>
        {
            var step = model.CreateStepper();
            step([1, 2, 3]);
            step([1, 2, 3, 4]);
        });
        AssertEveryModuleRan(model, stepCounts);
        Assert.Equal(2, stepCounts["lm_head"]);
    }

    [Fact]
    public void HooksFireInEveryModuleOfTheLstmLanguageModel()
    {
        var model = new LstmLanguageModel(new LstmLanguageModelConfig(VocabSize: 11, EmbeddingDim: 8, HiddenSize: 12, Layers: 2));
        var counts = CountCalls(model, () => model.Call(Ids(2, 5)));
        AssertEveryModuleRan(model, counts);
        Assert.Equal(1, counts[""]);

        // the stateful entry goes through the hooks too: the model and its LSTM see (ids, state)
        IReadOnlyList<object?>? inputs = null;
        using (model.RegisterForwardPreHook((_, args) => { inputs = args; }))
        {
            var (_, state) = model.Call(Ids(1, 3), null);
            model.Call(Ids(1, 1), state);
        }
        Assert.Equal(2, inputs!.Count);
        Assert.NotNull(inputs[1]);
    }
}
