using System.Text.Json;
using DeepSharp.Compression.MixedPrecision;
using DeepSharp.NN;

namespace DeepSharp.Compression.Tests;

/// <summary>
/// The autocast region against torch.autocast(device_type="cpu", dtype=torch.bfloat16) (fixture tools/golden/autocast.py),
/// its 16-bit saved tensors, the casts' backward, and float64 gradient checks through the region.
/// </summary>
public class AutocastTests
{
    static Sequential Mlp() => new(new Linear(20, 32), new ReLU(), new Linear(32, 16), new ReLU(), new Linear(16, 5));

    static Sequential Cnn() => new(new Conv2d(2, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
        new Conv2d(4, 6, 3), new ReLU(), new Flatten(), new Linear(24, 5));

    static double MaxAbs(Tensor t) => t.To(DType.Float64).Abs().Max().Item();

    static double MaxDiff(Tensor a, Tensor b) => MaxAbs(a.To(DType.Float64) - b.To(DType.Float64));

    // Tolerances: a bf16 value carries 8 significant bits, so one rounding is off by at most 2^-9 relative (half an ulp).
    // DeepSharp and PyTorch accumulate in float32 in different orders, so a layer's output can round to the neighbouring
    // bf16 value (one ulp, 2^-8 relative), and that flip propagates through the next layers: outputs are held to 2 ulps
    // of the largest output (2^-7·max|out|). Weight gradients go through two more bf16 roundings per layer (the 16-bit
    // output gradient and the rounded product) on top of flipped activations: 2^-5·max|grad| (3 %), plus 2^-8 of the
    // model's largest gradient for a gradient that is zero in exact arithmetic (the bias of a conv followed by batch
    // norm: what is left of it is rounding noise of the norm's backward, in torch as here). The fp32 results
    // of the same models differ from torch's bf16 ones by more than these bounds, which the test checks too, so the
    // tolerances cannot pass a float32 computation.
    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    public void MatchesTorchAutocastBf16(string name)
    {
        var c = GoldenFile.Case("autocast", name);
        var model = name == "mlp" ? Mlp() : Cnn();
        var state = c.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => GoldenFile.Tensor(p.Value));
        model.LoadStateDict(state, strict: false);
        var x = GoldenFile.Tensor(c, "x");
        var y = GoldenFile.Tensor(c, "y").To(DType.Int64);

        Tensor output;
        using (var region = Autocast.Enable(model, Precision.BFloat16))
        {
            output = model.Call(x);
            Assert.Equal(DType.BFloat16, output.DType);
        }
        var loss = F.CrossEntropy(output.To(DType.Float32), y);
        Assert.Equal(DType.Float32, loss.DType);
        loss.Backward();

        var expected = GoldenFile.Tensor(c, "output");
        var fp32 = GoldenFile.Tensor(c, "output_fp32");
        double outTol = Math.Pow(2, -7) * MaxAbs(expected);
        Assert.True(MaxDiff(expected, output) <= outTol, $"{name} output: max diff {MaxDiff(expected, output):G4} > {outTol:G4}");
        Assert.True(MaxDiff(expected, fp32) > MaxDiff(expected, output), $"{name}: the float32 output is as close to torch's bf16 output as DeepSharp's");
        double lossExpected = c.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(loss.Item() - lossExpected) <= Math.Pow(2, -8) * Math.Abs(lossExpected), $"{name} loss {loss.Item()} vs torch {lossExpected}");

        var grads = c.GetProperty("grads");
        double largest = grads.EnumerateObject().Max(p => MaxAbs(GoldenFile.Tensor(p.Value)));
        foreach (var (key, p) in model.NamedParameters())
        {
            Assert.Equal(DType.Float32, p.Grad!.DType);
            var g = GoldenFile.Tensor(grads.GetProperty(key));
            double tol = Math.Pow(2, -5) * MaxAbs(g) + Math.Pow(2, -8) * largest;
            Assert.True(MaxDiff(g, p.Grad) <= tol, $"{name} grad {key}: max diff {MaxDiff(g, p.Grad):G4} > {tol:G4}");
        }
    }

    [Fact]
    public void LinearAndConvSaveTheir16BitTensorsAndReturn16BitOutputs()
    {
        var model = Cnn();
        foreach (var (precision, dtype) in new[] { (Precision.BFloat16, DType.BFloat16), (Precision.Float16, DType.Float16) })
        {
            using var region = Autocast.Enable(model, precision);
            Assert.Equal(dtype, region.DType);
            var h = ((Module<Tensor, Tensor>)model[0]).Call(Tensor.Randn([2, 2, 8, 8], requiresGrad: true));
            Assert.Equal(dtype, h.DType);
            Assert.Equal("ConvolutionBackward", h.GradFn!.Name);
            Assert.All(h.GradFn.Inputs, t => Assert.Equal(dtype, t!.DType));     // input, weight, bias: 2 bytes per element
            var z = model.Call(Tensor.Randn([2, 2, 8, 8], requiresGrad: true));
            Assert.Equal(dtype, z.DType);
            Assert.Equal("LinearBackward", z.GradFn!.Name);
            Assert.All(z.GradFn.Inputs, t => Assert.Equal(dtype, t!.DType));
            Assert.Equal(DType.Float32, ((Conv2d)model[0]).Weight.DType);   // the master weights are back after each layer
        }
        using (Autocast.Enable(model, Precision.BFloat16))
        {
            // the whole graph of a training forward keeps only 16-bit activations: no float32 copy made by a cast, a
            // mixed-type batch norm or a 16-bit max pool survives the forward
            var loss = model.Call(Tensor.Randn(2, 2, 8, 8)).To(DType.Float32).Sum();
            var nodes = new HashSet<Node>(ReferenceEqualityComparer.Instance);
            var stack = new Stack<Node>([loss.GradFn!.Inputs[0]!.GradFn!]);   // below the final cast to float32
            while (stack.Count > 0)
            {
                var n = stack.Pop();
                if (!nodes.Add(n)) continue;
                foreach (var t in n.Inputs)
                {
                    if (t?.GradFn is not { } fn) continue;   // leaves: the float32 master weights
                    Assert.True(t.DType == DType.BFloat16, $"{n.Name} keeps a {t.DType.TorchName()} tensor of shape ({string.Join(", ", t.Shape.ToArray())}) made by {fn.Name}");
                    stack.Push(fn);
                }
            }
            Assert.Contains(nodes, n => n.Name == "BatchNormBackward");
            loss.Backward();
            Assert.All(model.Parameters(), p => Assert.Equal(DType.Float32, p.Grad!.DType));
        }
        var plain = model.Call(Tensor.Randn(2, 2, 8, 8));
        Assert.Equal(DType.Float32, plain.DType);
    }

    /// <summary>
    /// Bytes of the distinct activations one training forward's graph holds (non-leaf tensors referenced by its nodes),
    /// and of the 16-bit weight copies the casts make; the figure docs/compression.md gives for the Fashion CNN.
    /// </summary>
    internal static (long Activations, long WeightCopies) GraphBytes(Tensor loss)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var nodes = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Node>([loss.GradFn!]);
        long activations = 0, weights = 0;
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (!nodes.Add(n)) continue;
            foreach (var t in n.Inputs)
            {
                if (t?.GradFn is not { } fn) continue;
                stack.Push(fn);
                if (!seen.Add(t)) continue;
                long bytes = (long)t.NumEl * t.DType.ElementSize();
                if (fn.Name == "ToCopyBackward" && fn.Inputs[0] is { IsLeaf: true, RequiresGrad: true }) weights += bytes;
                else activations += bytes;
            }
        }
        return (activations, weights);
    }

    [Fact]
    public void AutocastHalvesTheActivationsTheGraphHolds()
    {
        var model = Cnn();
        var x = Tensor.Randn(16, 2, 8, 8);
        var labels = Tensor.Zeros([16], DType.Int64);
        var (fp32, none) = GraphBytes(F.CrossEntropy(model.Call(x), labels));
        Assert.Equal(0, none);
        using var region = Autocast.Enable(model, Precision.BFloat16);
        var (bf16, weights) = GraphBytes(F.CrossEntropy(model.Call(x).To(DType.Float32), labels));
        // every activation at 2 bytes instead of 4, plus the float32 copy of the logits for the loss and small tensors (3 %)
        Assert.InRange(bf16, fp32 / 2, fp32 / 2 * 103 / 100);
        // the 16-bit copies of the Linear and conv weights and biases (batch norm keeps its float32 parameters)
        Assert.Equal(model.Modules().Where(m => m is Linear or Conv2d).SelectMany(m => m.Parameters()).Sum(p => (long)p.NumEl * 2), weights);
    }

    // bf16 input, float32 parameters (a float32 model's norm under autocast): float32 maths on the widened input, the
    // output rounded once (half an ulp: 2^-8 of the largest output covers it), the input gradient rounded once, the
    // parameter gradients float32 sums over the bf16 upstream (2^-7 of the largest: float32 order and one rounding of x̂).
    [Fact]
    public void MixedTypeNormsMatchFloat32OnTheRoundedInputs()
    {
        var bn = new BatchNorm2d(3); var ln = new LayerNorm(6); var gn = new GroupNorm(2, 4);
        using (Autograd.NoGrad()) { bn.Weight!.MulInPlace(1.5); ln.Weight!.MulInPlace(0.7); }
        foreach (var (norm, shape, training) in new (Module<Tensor, Tensor>, int[], bool)[]
                 { (bn, [4, 3, 5, 5], true), (bn, [4, 3, 5, 5], false), (ln, [5, 6], true), (gn, [3, 4, 2, 2], true) })
        {
            if (training) norm.Train(); else norm.Eval();
            var x16 = (Tensor.Randn(shape) * 2 + 1).To(DType.BFloat16).RequiresGrad_();
            var upstream = Tensor.Randn(shape).To(DType.BFloat16);
            var before = norm.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
            var y16 = norm.Call(x16);
            Assert.Equal(DType.BFloat16, y16.DType);
            Assert.Equal(norm.GetType().Name.Replace("2d", "") + "Backward", y16.GradFn!.Name);
            (y16 * upstream).To(DType.Float32).Sum().Backward();
            var g16 = norm.Parameters().Select(p => p.Grad!.Clone()).ToArray();
            foreach (var p in norm.Parameters()) p.Grad = null;

            norm.LoadStateDict(before);   // the same running statistics for the float32 reference
            var x32 = x16.Detach().To(DType.Float32).RequiresGrad_();
            var y32 = norm.Call(x32);
            (y32 * upstream.To(DType.Float32)).Sum().Backward();
            string what = $"{norm.GetType().Name} {(training ? "train" : "eval")}";
            Assert.True(MaxDiff(y32, y16) <= Math.Pow(2, -8) * MaxAbs(y32), $"{what} output");
            Assert.Equal(DType.BFloat16, x16.Grad!.DType);
            Assert.True(MaxDiff(x32.Grad!, x16.Grad) <= Math.Pow(2, -7) * MaxAbs(x32.Grad!), $"{what} input grad");
            var p32 = norm.Parameters().ToArray();
            for (int i = 0; i < p32.Length; i++)
            {
                Assert.Equal(DType.Float32, g16[i].DType);
                Assert.True(MaxDiff(p32[i].Grad!, g16[i]) <= Math.Pow(2, -7) * MaxAbs(p32[i].Grad!), $"{what} parameter {i} grad");
                p32[i].Grad = null;
            }
        }
    }

    [Fact]
    public void CastBackwardConvertsTheGradientToTheSourceDType()
    {
        var x = Tensor.Randn([5, 7], requiresGrad: true);
        var upstream = Tensor.Randn(5, 7).To(DType.BFloat16);
        var h = x.To(DType.BFloat16);
        Assert.Equal(DType.BFloat16, h.DType);
        (h * upstream).Sum().Backward();
        Assert.Equal(DType.Float32, x.Grad!.DType);
        // d/dx Σ cast(x)·u is u (straight through), rounded where the product's gradient was rounded: u·1 is exact
        Assert.Equal(upstream.To(DType.Float32).ToArray<float>(), x.Grad.ToArray<float>());
        var w = Tensor.Randn([3, 4], requiresGrad: true);
        var w16 = w.To(DType.Float16);
        w16.To(DType.Float32).Sum().Backward();
        Assert.Equal(Enumerable.Repeat(1f, 12), w.Grad!.ToArray<float>());
    }

    // A cast to 16 bits is piecewise constant, so finite differences cannot check it; its backward is checked exactly above.
    // What can be checked in float64: (1) autocast casts only float32 tensors (torch.autocast leaves float64 alone), so a
    // float64 model differentiates through the region's hooks exactly; (2) the 16-bit linear and conv backward formulas
    // give the float64 gradients (themselves finite-difference checked) at the same 16-bit-representable point, to float16 rounding.
    [Fact]
    public void Float64GradientsThroughTheRegionAndThe16BitBackwardFormulas()
    {
        var net = Cnn();
        net.To(DType.Float64);
        var x = Tensor.Randn([2, 2, 8, 8], DType.Float64, requiresGrad: true);
        using (Autocast.Enable(net, Precision.BFloat16))
            Assert.True(GradCheck.Check(t => net.Call(t[0]).Sum(), [x]));

        var x16 = (Tensor.Randn(6, 9) * 2).To(DType.Float16);
        var w16 = Tensor.Randn(4, 9).To(DType.Float16);
        var b16 = Tensor.Randn(4).To(DType.Float16);
        var u16 = Tensor.Randn(6, 4).To(DType.Float16);
        Check16(t => F.Linear(t[0], t[1], t[2]), [x16, w16, b16], u16);
        var c16 = Tensor.Randn(2, 3, 6, 6).To(DType.Float16);
        var k16 = (Tensor.Randn(4, 3, 3, 3) * 0.3).To(DType.Float16);
        var cb16 = Tensor.Randn(4).To(DType.Float16);
        var cu16 = Tensor.Randn(2, 4, 3, 3).To(DType.Float16);
        Check16(t => F.Conv2d(t[0], t[1], t[2], stride: 2, padding: 1), [c16, k16, cb16], cu16);
        var ct16 = Tensor.Randn(2, 4, 3, 3).To(DType.Float16);
        Check16(t => F.ConvTranspose2d(t[0], t[1], t[2], stride: 2, padding: 1), [ct16, k16, cb16.Narrow(0, 0, 3).Contiguous()], Tensor.Randn(2, 3, 5, 5).To(DType.Float16));
    }

    static void Check16(Func<Tensor[], Tensor> op, Tensor[] inputs16, Tensor upstream16)
    {
        var leaves16 = inputs16.Select(t => t.Detach().RequiresGrad_()).ToArray();
        var y16 = op(leaves16);
        Assert.Equal(DType.Float16, y16.DType);
        (y16 * upstream16).Sum().Backward();
        var leaves64 = inputs16.Select(t => t.To(DType.Float64).Detach().RequiresGrad_()).ToArray();
        Assert.True(GradCheck.Check(t => op(t) * upstream16.To(DType.Float64), leaves64.Select(l => l.Detach().Clone().RequiresGrad_()).ToArray()));
        var y64 = op(leaves64);
        (y64 * upstream16.To(DType.Float64)).Sum().Backward();
        Assert.True(MaxDiff(y64, y16) <= Math.Pow(2, -10) * MaxAbs(y64), "16-bit forward vs float64");
        for (int i = 0; i < leaves16.Length; i++)
        {
            Assert.Equal(DType.Float16, leaves16[i].Grad!.DType);
            double tol = Math.Pow(2, -9) * MaxAbs(leaves64[i].Grad!);
            Assert.True(MaxDiff(leaves64[i].Grad!, leaves16[i].Grad!) <= tol, $"input {i}: 16-bit gradient off the float64 one by {MaxDiff(leaves64[i].Grad!, leaves16[i].Grad!):G4} > {tol:G4}");
        }
    }
}
