using System.Text.Json;
using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>A parameter-only stand-in for Conv2d (whose op lives on another branch) with PyTorch's member names.</summary>
sealed class ConvStub(int inChannels, int outChannels, int kernel) : Module<Tensor, Tensor>
{
    readonly Tensor weight = Parameter(Tensor.Randn(outChannels, inChannels, kernel, kernel));
    readonly Tensor bias = Parameter(Tensor.Zeros(outChannels));
    public override Tensor Forward(Tensor input) => input;
}

sealed class ReluStub : Module<Tensor, Tensor>
{
    public override Tensor Forward(Tensor input) => input;
}

/// <summary>The C# twin of the Net in tools/golden/nn_layers.py.</summary>
sealed class CnnLike : Module<Tensor, Tensor>
{
    readonly ConvStub conv1 = new(1, 8, 3);
    readonly BatchNorm2d bn1 = new(8);
    readonly Sequential features = new(new ConvStub(8, 16, 3), new ReluStub(), new BatchNorm2d(16));
    readonly ModuleList blocks = new(new Linear(4, 4), new LayerNorm(4));
    readonly ModuleDict heads = new(("cls", new Linear(16, 10)), ("aux", new Linear(16, 2, bias: false)));
    readonly GroupNorm norm = new(2, 16);
    readonly Linear fc = new(64, 10);
    public override Tensor Forward(Tensor input) => fc.Call(input);
}

class BaseBlock : Module<Tensor, Tensor>
{
    protected readonly Linear first = new(2, 3);
    public Tensor Scale { get; } = Parameter(Tensor.Ones(3));
    public override Tensor Forward(Tensor input) => first.Call(input).Mul(Scale);
}

sealed class DerivedBlock : BaseBlock
{
    [TorchName("fc1")] readonly Linear hidden = new(3, 4);
    readonly Tensor constant = Tensor.Ones(4);                          // plain attribute: not registered
    [Buffer] readonly Tensor stats = Tensor.Zeros(4);
    [Buffer(Persistent = false)] readonly Tensor cache = Tensor.Zeros(1);
    [NotRegistered] readonly Linear borrowed = new(1, 1);
    public Linear? Optional { get; set; }
    public override Tensor Forward(Tensor input) => hidden.Call(base.Forward(input)).Add(constant).Add(stats.Add(cache)).Add(borrowed.Weight.Sum() * 0);
}

public class ModuleTests
{
    static JsonElement Structure => Golden.Golden.Case("nn_layers", "structure").Extra!.Value;

    [Fact]
    public void FieldsAreDiscoveredInDeclarationOrderWithDottedNames()
    {
        var m = new DerivedBlock();
        // own members come before the children's, as in PyTorch
        Assert.Equal(["Scale", "first.weight", "first.bias", "fc1.weight", "fc1.bias"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["stats", "cache"], m.NamedBuffers().Select(b => b.Name));
        Assert.Equal(["Scale", "stats", "first.weight", "first.bias", "fc1.weight", "fc1.bias"], m.StateDict().Keys);
        Assert.Equal(["first", "fc1"], m.NamedChildren().Select(c => c.Name));
        Assert.Equal(["", "first", "fc1"], m.NamedModules().Select(c => c.Name));
        // a settable property is read live
        m.Optional = new Linear(1, 2);
        Assert.Contains("Optional.weight", m.NamedParameters().Select(p => p.Name));
        Assert.Same(m.Optional.Weight, m.GetParameter("Optional.weight"));
        Assert.Same(m.Optional, m.GetSubmodule("Optional"));
    }

    [Fact]
    public void StateDictKeysOfACnnMatchPyTorch()
    {
        var net = new CnnLike();
        var expected = Structure.GetProperty("cnn_state_dict_keys").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(expected, net.StateDict().Keys);
        Assert.Equal(Structure.GetProperty("cnn_parameter_names").EnumerateArray().Select(e => e.GetString()!),
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(Structure.GetProperty("cnn_buffer_names").EnumerateArray().Select(e => e.GetString()!),
            net.NamedBuffers().Select(p => p.Name));
    }

    [Fact]
    public void SequentialNamesChildrenByPositionAndRunsThemInOrder()
    {
        var seq = new Sequential { new Linear(3, 4), new Identity(), new Linear(4, 2) };
        Assert.Equal(3, seq.Count);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], seq.StateDict().Keys);
        Assert.IsType<Identity>(seq[1]);
        Assert.IsType<Linear>(seq[-1]);
        var x = Tensor.Randn(5, 3);
        var expected = ((Linear)seq[2]).Forward(((Linear)seq[0]).Forward(x));
        AssertClose(expected, seq.Forward(x));
        var named = new Sequential(("encoder", new Linear(2, 2)), ("head", new Linear(2, 1)));
        Assert.Equal(["encoder.weight", "encoder.bias", "head.weight", "head.bias"], named.StateDict().Keys);
        Assert.Throws<ArgumentException>(() => named.Add("head", new Identity()));
        Assert.Throws<ArgumentOutOfRangeException>(() => seq[3]);
    }

    [Fact]
    public void SequentialItemsCanBeReplacedInPlace()
    {
        var seq = new Sequential { new Linear(3, 4), new ReLU(), new Linear(4, 2) };
        var head = new Linear(4, 5);
        seq[-1] = head;                                   // seq[-1] = nn.Linear(4, 5)
        Assert.Same(head, seq[2]);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], seq.StateDict().Keys);
        Assert.Equal([5, 4], seq.StateDict()["2.weight"].Shape);
        Assert.Equal([1, 5], seq.Forward(Tensor.Randn(1, 3)).Shape);
        var named = new Sequential(("body", new Linear(2, 2)), ("head", new Linear(2, 1)));
        named["head"] = new Linear(2, 3);
        Assert.Equal(["body", "head"], named.Names);
        Assert.Equal([3, 2], named.StateDict()["head.weight"].Shape);
        Assert.Same(named["head"], named.GetSubmodule("head"));
        Assert.Throws<KeyNotFoundException>(() => named["tail"] = new ReLU());
        Assert.Throws<ArgumentOutOfRangeException>(() => seq[3] = new ReLU());
    }

    [Fact]
    public void ExplicitRegistrationAddsAndOverridesMembers()
    {
        var m = new DerivedBlock();
        var extra = m.RegisterParameter("extra", Tensor.Zeros(2))!;
        Assert.True(extra.RequiresGrad);
        m.RegisterBuffer("counter", Tensor.Scalar(0, DType.Int64));
        m.RegisterModule("head", new Linear(4, 1));
        Assert.Equal(["Scale", "extra", "first.weight", "first.bias", "fc1.weight", "fc1.bias", "head.weight", "head.bias"],
            m.NamedParameters().Select(p => p.Name));
        // registering under a field's name assigns the field
        var replacement = new Linear(3, 4);
        m.RegisterModule("fc1", replacement);
        Assert.Same(replacement.Weight, m.GetParameter("fc1.weight"));
        // a plain tensor field becomes a buffer when registered as one
        m.RegisterBuffer("constant", Tensor.Full([4], 2.0));
        Assert.Contains("constant", m.StateDict().Keys);
        // a parameter set to null disappears
        m.RegisterParameter("extra", null);
        Assert.DoesNotContain("extra", m.StateDict().Keys);
        Assert.Throws<ArgumentException>(() => m.RegisterModule("extra", new Identity()));
        Assert.Throws<ArgumentException>(() => m.RegisterParameter("a.b", Tensor.Zeros(1)));
        Assert.Throws<ArgumentException>(() => m.RegisterParameter("", Tensor.Zeros(1)));
        var nonLeaf = Tensor.Ones(2, requiresGrad: true).Mul(2.0);
        Assert.Throws<ArgumentException>(() => m.RegisterParameter("y", nonLeaf));
    }

    [Fact]
    public void SharedParametersAreCountedOnce()
    {
        var shared = new Linear(3, 3);
        var seq = new Sequential(shared, shared);
        Assert.Single(seq.Modules().Skip(1));
        Assert.Equal(2, seq.Parameters().Count());
        Assert.Equal(12, seq.ParameterCount());
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], seq.StateDict().Keys); // as PyTorch's state_dict
    }

    [Fact]
    public void LoadStateDictCopiesAndReportsKeys()
    {
        var a = new Sequential(new Linear(3, 4), new BatchNorm1d(4));
        var b = new Sequential(new Linear(3, 4), new BatchNorm1d(4));
        b.Train(); b.Forward(Tensor.Randn(5, 3));
        var weightBefore = a.GetParameter("0.weight");
        var result = a.LoadStateDict(b.StateDict());
        Assert.Empty(result.MissingKeys); Assert.Empty(result.UnexpectedKeys);
        Assert.Same(weightBefore, a.GetParameter("0.weight"));                 // copied in place
        AssertClose(b.GetParameter("0.weight"), a.GetParameter("0.weight"));
        AssertClose(b.StateDict()["1.running_mean"], a.StateDict()["1.running_mean"]);
        Assert.Equal(1.0, a.StateDict()["1.num_batches_tracked"].Item());

        var partial = b.StateDict();
        partial.Remove("0.bias");
        partial["extra.weight"] = Tensor.Zeros(1);
        var ex = Assert.Throws<ArgumentException>(() => a.LoadStateDict(partial));
        Assert.Contains("Missing key(s) in state_dict: \"0.bias\"", ex.Message);
        Assert.Contains("Unexpected key(s) in state_dict: \"extra.weight\"", ex.Message);
        var loose = a.LoadStateDict(partial, strict: false);
        Assert.Equal(["0.bias"], loose.MissingKeys);
        Assert.Equal(["extra.weight"], loose.UnexpectedKeys);

        var wrong = b.StateDict();
        wrong["0.weight"] = Tensor.Zeros(4, 5);
        var before = a.GetParameter("0.bias").Clone();
        var shapeError = Assert.Throws<ArgumentException>(() => a.LoadStateDict(wrong, strict: false));
        Assert.Contains("size mismatch for 0.weight", shapeError.Message);
        Assert.Contains("(4, 5)", shapeError.Message);
        Assert.Contains("(4, 3)", shapeError.Message);
        AssertClose(before, a.GetParameter("0.bias"));                            // nothing copied
    }

    [Fact]
    public void StateDictValuesAreDetachedAndShareStorage()
    {
        var lin = new Linear(2, 2);
        var sd = lin.StateDict();
        Assert.False(sd["weight"].RequiresGrad);
        using (Autograd.NoGrad()) lin.Weight.FillInPlace(3);
        Assert.Equal(3.0, sd["weight"].At(0, 0));
    }

    [Fact]
    public void TrainAndEvalPropagate()
    {
        var net = new CnnLike();
        Assert.All(net.Modules(), m => Assert.True(m.IsTraining));
        net.Eval();
        Assert.All(net.Modules(), m => Assert.False(m.IsTraining));
        net.Train();
        Assert.All(net.Modules(), m => Assert.True(m.IsTraining));
    }

    [Fact]
    public void FreezingStopsGradientsButKeepsParameters()
    {
        var model = new Sequential(new Linear(3, 4), new Linear(4, 1));
        ((Linear)model[0]).RequiresGrad(false);
        Assert.Equal(4, model.Parameters().Count());
        Assert.Equal(5, model.ParameterCount(trainableOnly: true));
        Assert.Equal(21, model.ParameterCount());
        model.Forward(Tensor.Randn(2, 3)).Sum().Backward();
        Assert.Null(((Linear)model[0]).Weight.Grad);
        Assert.NotNull(((Linear)model[1]).Weight.Grad);
        model.ZeroGrad(setToNone: false);
        Assert.Equal(0.0, ((Linear)model[1]).Weight.Grad!.Sum().Item());
        model.ZeroGrad();
        Assert.Null(((Linear)model[1]).Weight.Grad);
        model.RequiresGrad();
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void HooksFireInOrderAndCanBeRemoved()
    {
        var lin = new Linear(2, 2);
        var seq = new Sequential(lin, new Identity());
        var log = new List<string>();
        var pre = lin.RegisterForwardPreHook((m, x) => log.Add("pre " + m.GetType().Name));
        var post = lin.RegisterForwardHook((m, x, y) => log.Add($"post {ShapeUtil.Format(y.shape.ToArray())}"));
        var doubler = seq.RegisterForwardHook((m, x, y) => y * 2);
        var x = Tensor.Randn(3, 2);
        var y = seq.Call(x);
        Assert.Equal(["pre Linear", "post (3, 2)"], log);
        AssertClose(lin.Forward(x) * 2, y);
        pre.Dispose(); post.Remove(); post.Remove();
        doubler.Dispose();
        log.Clear();
        AssertClose(lin.Forward(x), seq.Call(x));
        Assert.Empty(log);
        using var replace = lin.RegisterForwardPreHook((m, input) => input * 0);
        AssertClose(lin.Bias!.Unsqueeze(0).Expand(3, 2), seq.Call(x));
    }

    [Fact]
    public void ToStringMatchesPyTorchPrint()
    {
        var mlp = new Sequential(new Flatten(), new Linear(784, 128), new BatchNorm1d(128), new Identity(),
            new Sequential(new Linear(128, 64, bias: false), new LayerNorm(64, eps: 1e-6)),
            new GroupNorm(4, 64, affine: false), new Unflatten(1, 8, 8), new BatchNorm1d(8, momentum: null));
        Assert.Equal(Structure.GetProperty("mlp_repr").GetString(), mlp.ToString());
        Assert.Equal(Structure.GetProperty("mlp_parameter_count").GetInt64(), mlp.ParameterCount());
        Assert.Equal("Linear(in_features=3, out_features=1, bias=True)", new Linear(3, 1).ToString());
        var summary = mlp.Summary();
        Assert.StartsWith(mlp.ToString(), summary);
        Assert.EndsWith("Total params: 109,072 | Trainable params: 109,072 | Non-trainable params: 0", summary);
    }

    [Fact]
    public void ToDTypeConvertsFloatingMembersAndUpdatesFields()
    {
        var bn = new BatchNorm1d(3);
        var lin = new Linear(2, 3);
        var model = new Sequential(lin, bn);
        model.Forward(Tensor.Randn(4, 2)).Sum().Backward();
        ((Linear)model[0]).Bias!.RequiresGrad = false;
        model.To(DType.Float64);
        Assert.All(model.Parameters(), p => Assert.Equal(DType.Float64, p.DType));
        Assert.Equal(DType.Float64, lin.Weight.DType);                         // the property was updated
        Assert.Equal(DType.Float64, lin.Weight.Grad!.DType);
        Assert.False(lin.Bias!.RequiresGrad);
        Assert.True(Module.IsParameter(lin.Bias));
        Assert.Equal(DType.Float64, bn.RunningMean!.DType);
        Assert.Equal(DType.Int64, bn.NumBatchesTracked!.DType);
        var y = model.Forward(Tensor.Randn([4, 2], DType.Float64));
        Assert.Equal(DType.Float64, y.DType);
        Assert.Throws<ArgumentException>(() => model.To(DType.Int64));
    }

    [Fact]
    public void ApplyVisitsChildrenFirst()
    {
        var order = new List<string>();
        new Sequential(new Linear(1, 1), new Sequential(new Identity())).Apply(m => order.Add(m.GetType().Name));
        Assert.Equal(["Linear", "Identity", "Sequential", "Sequential"], order);
    }

    [Fact]
    public void ModuleListAndDictBehaveLikeCollections()
    {
        var list = new ModuleList(new Linear(1, 2), new Linear(2, 3));
        list.Add(new Identity());
        Assert.Equal(3, list.Count);
        Assert.IsType<Identity>(list[-1]);
        var dict = new ModuleDict { { "a", new Linear(1, 1) } };
        dict["b"] = new Linear(1, 2);
        Assert.Equal(["a", "b"], dict.Keys);
        Assert.True(dict.ContainsKey("b"));
        Assert.Equal(["a.weight", "a.bias", "b.weight", "b.bias"], dict.StateDict().Keys);
        Assert.Throws<KeyNotFoundException>(() => dict["c"]);
    }
}
