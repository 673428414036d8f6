using System.Text.Json;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Tests.Core;

/// <summary>float16 / bfloat16 tensors against PyTorch 1.13 (tools/golden/reduced_dtypes.py): results bit for bit where
/// the op is exact arithmetic or data movement, within one 16-bit ulp where float32 transcendental functions or summation
/// order may differ before the single rounding.</summary>
public class ReducedDTypeTests
{
    static readonly JsonElement root = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "Golden", "Fixtures", "reduced_dtypes.json"))).RootElement;

    static DType Parse(string name) => name switch
    {
        "float16" => DType.Float16, "bfloat16" => DType.BFloat16, "float32" => DType.Float32, "float64" => DType.Float64,
        "int64" => DType.Int64, "int32" => DType.Int32, "bool" => DType.Bool, _ => throw new ArgumentException(name),
    };

    static Tensor Read(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var bits = e.GetProperty("bits").EnumerateArray().Select(v => (ushort)v.GetInt32()).ToArray();
        var t = Parse(e.GetProperty("dtype").GetString()!) == DType.Float16
            ? Tensor.FromArray(bits.Select(BitConverter.UInt16BitsToHalf).ToArray(), shape)
            : Tensor.FromArray(bits.Select(BFloat16.FromBits).ToArray(), shape);
        return shape.Length == 0 ? t.Reshape() : t;
    }

    static ushort[] Bits(Tensor t) => t.DType == DType.Float16
        ? t.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits).ToArray()
        : t.ToArray<BFloat16>().Select(b => b.Bits).ToArray();

    static readonly HashSet<string> Exact = ["add", "sub", "mul", "div", "add_row", "neg", "add_scalar", "mul_scalar", "div_scalar",
        "relu", "leaky_relu", "amax_dim", "transpose_contiguous", "slice", "cat", "max_pool2d", "avg_pool2d", "sqrt"];

    public static TheoryData<string, string> Ops()
    {
        var data = new TheoryData<string, string>();
        foreach (var dt in new[] { "float16", "bfloat16" })
            foreach (var op in root.GetProperty("cases").GetProperty(dt).GetProperty("ops").EnumerateObject()) data.Add(dt, op.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void OpsMatchPyTorch(string dtypeName, string op)
    {
        var c = root.GetProperty("cases").GetProperty(dtypeName);
        var i = c.GetProperty("inputs");
        Tensor a = Read(i.GetProperty("a")), b = Read(i.GetProperty("b")), row = Read(i.GetProperty("row")), x = Read(i.GetProperty("x")),
            w = Read(i.GetProperty("w")), cb = Read(i.GetProperty("cb")), lw = Read(i.GetProperty("lw")), lb = Read(i.GetProperty("lb")),
            p = Read(i.GetProperty("p")), m = Read(i.GetProperty("m")), c16 = Read(i.GetProperty("c")), big = Read(i.GetProperty("big"));
        Tensor y = op switch
        {
            "add" => a + b, "sub" => a - b, "mul" => a * b, "div" => a / b, "add_row" => a + row, "neg" => -a,
            "add_scalar" => a + 0.1, "mul_scalar" => a * 0.3, "div_scalar" => a / 3,
            "relu" => a.Relu(), "exp" => (a / 4).Exp(), "tanh" => a.Tanh(), "sigmoid" => a.Sigmoid(), "log" => c16.Log(),
            "sqrt" => b.Abs().Sqrt(), "gelu" => a.Gelu(), "leaky_relu" => a.LeakyRelu(0.1),
            "sum" => big.Sum(), "sum_dim" => big.Sum(1), "mean" => big.Mean(), "mean_dim" => big.Mean(1), "amax_dim" => a.Amax(1),
            "matmul" => p.MatMul(m), "linear" => F.Linear(a, lw, lb), "conv2d" => F.Conv2d(x, w, cb, padding: 1),
            "softmax" => a.Softmax(1), "log_softmax" => a.LogSoftmax(1),
            "transpose_contiguous" => a.T.Contiguous(), "slice" => a.Slice(0, 1, 3).Slice(1, 0, 6, 2).Contiguous(),
            "cat" => Tensor.Cat([a, b], 0), "max_pool2d" => F.MaxPool2d(x, 2), "avg_pool2d" => F.AvgPool2d(x, 2),
            "cross_entropy" => F.CrossEntropy(a, Tensor.FromArray(new long[] { 0, 5, 2, 3 })),
            _ => throw new InvalidOperationException(op),
        };
        var expected = Read(c.GetProperty("ops").GetProperty(op));
        Assert.Equal(expected.DType, y.DType);
        Assert.Equal(expected.Shape, y.Shape);
        var (e, g) = (Bits(expected), Bits(y));
        int tolerance = Exact.Contains(op) ? 0 : 1;
        var ev = expected.To(DType.Float32).ToArray<float>();
        var gv = y.To(DType.Float32).ToArray<float>();
        double floor = Exact.Contains(op) ? 0 : 1e-4 * ev.Max(v => Math.Abs(v));   // tiny results of cancellation or tails
        for (int k = 0; k < e.Length; k++)
        {
            // same-sign 16-bit floats are ordered like their bit patterns, so a difference of 1 is one ulp
            int diff = Math.Abs(e[k] - g[k]);
            Assert.True(diff <= tolerance || Math.Abs(ev[k] - gv[k]) <= floor, $"{dtypeName} {op}[{k}]: expected bits 0x{e[k]:X4}, got 0x{g[k]:X4}");
        }
    }

    [Theory]
    [InlineData("float16")] [InlineData("bfloat16")]
    public void ComparisonsAndPromotionMatchPyTorch(string dtypeName)
    {
        var c = root.GetProperty("cases").GetProperty(dtypeName);
        Tensor a = Read(c.GetProperty("inputs").GetProperty("a")), b = Read(c.GetProperty("inputs").GetProperty("b"));
        static bool[] Flat(JsonElement e) => e.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetBoolean())).ToArray();
        Assert.Equal(Flat(c.GetProperty("compare").GetProperty("gt")), a.Gt(b).ToArray<bool>());
        Assert.Equal(Flat(c.GetProperty("compare").GetProperty("eq")), a.Eq(a.T.Contiguous().T).ToArray<bool>());
        Assert.Equal(Flat(c.GetProperty("compare").GetProperty("le_scalar")), a.Le(0.5).ToArray<bool>());
        var p = c.GetProperty("promoted");
        Assert.Equal(Parse(p.GetProperty("plus_float32").GetString()!), (a + b.To(DType.Float32)).DType);
        Assert.Equal(Parse(p.GetProperty("plus_float64").GetString()!), (a + b.To(DType.Float64)).DType);
        Assert.Equal(Parse(p.GetProperty("plus_int64").GetString()!), (a + Tensor.Ones([4, 6], DType.Int64)).DType);
    }

    [Fact]
    public void PromotionTableIsTorchResultType()
    {
        var dtypes = root.GetProperty("dtypes").EnumerateArray().Select(v => Parse(v.GetString()!)).ToArray();
        var table = root.GetProperty("promotion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => Parse(v.GetString()!)).ToArray()).ToArray();
        for (int i = 0; i < dtypes.Length; i++)
            for (int j = 0; j < dtypes.Length; j++)
            {
                Assert.Equal(table[i][j], DTypeExtensions.Promote(dtypes[i], dtypes[j]));
                var sum = Tensor.Ones([2], dtypes[i]) + Tensor.Ones([2], dtypes[j]);
                var expected = table[i][j] == DType.Bool ? DType.Int64 : table[i][j];   // DeepSharp's bool + bool adds as int64
                Assert.Equal(expected, sum.DType);
            }
        Assert.Equal(Parse(root.GetProperty("mixed_half_bfloat16").GetString()!), (Tensor.Ones([2], DType.Float16) + Tensor.Ones([2], DType.BFloat16)).DType);
    }

    [Fact]
    public void CastsRoundToNearestEvenLikePyTorch()
    {
        var c = root.GetProperty("casts");
        var d = Tensor.FromArray(c.GetProperty("float64").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        Assert.Equal(c.GetProperty("to_float16").EnumerateArray().Select(v => (ushort)v.GetInt32()), Bits(d.To(DType.Float16)));
        Assert.Equal(c.GetProperty("to_bfloat16").EnumerateArray().Select(v => (ushort)v.GetInt32()), Bits(d.To(DType.BFloat16)));
        // the vectorised float32 narrowing agrees with the scalar reference on every kind of value, NaN included
        var gen = new Generator(3);
        var f = Tensor.Randn([1000], generator: gen).Mul(1000).ToArray<float>()
            .Concat([float.NaN, -float.NaN, float.PositiveInfinity, 65520f, 1e-8f, -0f, 1.00390625f, 3.4028235e38f]).ToArray();
        var t = Tensor.FromArray(f);
        Assert.Equal(f.Select(v => HalfConversion.SingleToBFloat16(v)), Bits(t.To(DType.BFloat16)));
        Assert.Equal(f.Select(v => HalfConversion.SingleToHalf(v)), Bits(t.To(DType.Float16)));
        Assert.Equal(f.Select(v => BitConverter.SingleToUInt32Bits(HalfConversion.BFloat16ToSingle(HalfConversion.SingleToBFloat16(v)))),
            t.To(DType.BFloat16).To(DType.Float32).ToArray<float>().Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void StorageElementAccessAndPrinting()
    {
        var h = Tensor.FromArray(new[] { (Half)1.5f, (Half)(-2f), (Half)0.1f }, 3);
        Assert.Equal(DType.Float16, h.DType);
        Assert.Equal(2, h.DType.ElementSize());
        Assert.True(h.IsFloatingPoint);
        Assert.Equal((Half)0.1f, h.ToArray<Half>()[2]);
        Assert.Equal((double)(Half)0.1f, h.At(2));
        Assert.Equal(-2.0, h[1].Item());
        Assert.Equal("tensor([ 1.5000, -2.0000,  0.1000], dtype=torch.float16)", h.ToString());
        var b = Tensor.Arange(6).To(DType.BFloat16).Reshape(2, 3);
        Assert.Equal(DType.BFloat16, b.DType);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, b.T.Contiguous().ToArray<BFloat16>().Select(v => (float)v));
        Assert.Contains("dtype=torch.bfloat16", b.ToString());
        Assert.Equal(DType.BFloat16, Tensor.Zeros([2, 2], DType.BFloat16).DType);
        Assert.Equal(DType.BFloat16, Tensor.Randn([3], DType.BFloat16).DType);
        var dropped = F.Dropout(Tensor.Ones([200], DType.BFloat16), 0.5);
        Assert.Equal(DType.BFloat16, dropped.DType);
        Assert.All(dropped.ToArray<BFloat16>(), v => Assert.True((float)v is 0f or 2f));
    }

    [Fact]
    public void SafeTensorsRoundTripKeepsTheBits()
    {
        var dir = Directory.CreateTempSubdirectory("ds-half");
        try
        {
            var path = Path.Combine(dir.FullName, "w.safetensors");
            var gen = new Generator(5);
            var h = Tensor.Randn([3, 5], generator: gen).To(DType.Float16);
            var b = Tensor.Randn([7], generator: gen).To(DType.BFloat16);
            SafeTensors.Save(path, new Dictionary<string, Tensor> { ["h"] = h, ["b"] = b.Slice(0, 0, 7, 2) });
            var header = SafeTensors.ReadHeader(path);
            Assert.Equal(SafeTensorsDType.F16, header.Tensors.Single(t => t.Name == "h").DType);
            Assert.Equal(SafeTensorsDType.BF16, header.Tensors.Single(t => t.Name == "b").DType);
            Assert.Equal(4L * 2, header.Tensors.Single(t => t.Name == "b").End - header.Tensors.Single(t => t.Name == "b").Begin);
            var kept = SafeTensors.Load(path, keepReducedPrecision: true);
            Assert.Equal(DType.Float16, kept["h"].DType);
            Assert.Equal(Bits(h), Bits(kept["h"]));
            Assert.Equal(Bits(b.Slice(0, 0, 7, 2)), Bits(kept["b"]));
            var widened = SafeTensors.Load(path);   // default: widened to float32, exactly
            Assert.Equal(DType.Float32, widened["b"].DType);
            Assert.Equal(Bits(b.Slice(0, 0, 7, 2)), Bits(widened["b"].To(DType.BFloat16)));

            // a bf16 model's state dict: saved as BF16, loaded (either way) into another bf16 model with the same bits
            var model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
            model.To(DType.BFloat16);
            var modelPath = Path.Combine(dir.FullName, "model.safetensors");
            SafeTensors.Save(modelPath, model.StateDict());
            Assert.All(SafeTensors.ReadHeader(modelPath).Tensors, t => Assert.Equal(SafeTensorsDType.BF16, t.DType));
            foreach (var keep in new[] { true, false })
            {
                var copy = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
                copy.To(DType.BFloat16);
                copy.LoadStateDict(SafeTensors.Load(modelPath, keepReducedPrecision: keep));
                foreach (var (p0, p1) in model.Parameters().Zip(copy.Parameters())) Assert.Equal(Bits(p0), Bits(p1));
            }
        }
        finally { dir.Delete(true); }
    }

    [Theory]
    [InlineData(DType.BFloat16)] [InlineData(DType.Float16)]
    public void ModelConvertedTo16BitTrainsAndItsGradientsAreTheFloat32OnesRounded(DType dtype)
    {
        Tensor x = Tensor.Randn([8, 1, 6, 6], generator: new Generator(1)), target = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        Module<Tensor, Tensor> Build()
        {
            DeepSharp.Random.Seed(7);
            return new Sequential(new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(36, 3));
        }
        var reference = Build();
        var model = Build();
        model.To(dtype);
        // the reference gets the 16-bit weights widened, so both start from the same values
        foreach (var (p32, p16) in reference.Parameters().Zip(model.Parameters()))
            using (Autograd.NoGrad()) p32.CopyFrom(p16.To(DType.Float32));
        F.CrossEntropy(reference.Forward(x.To(dtype).To(DType.Float32)), target).Backward();
        var loss = F.CrossEntropy(model.Forward(x.To(dtype)), target);
        Assert.Equal(dtype, loss.DType);
        loss.Backward();
        // the 16-bit forward rounds every activation, so its gradient is the float32 one up to a few 16-bit ulps of the
        // gradients' scale (the conv bias before batch norm has a float32 gradient of ~0 and a 16-bit one of rounding noise)
        double scale = reference.Parameters().Max(q => q.Grad!.Abs().Amax().Item());
        foreach (var (p32, p16) in reference.Parameters().Zip(model.Parameters()))
        {
            Assert.Equal(dtype, p16.Grad!.DType);
            var expected = p32.Grad!.To(dtype).To(DType.Float32);
            double err = p16.Grad.To(DType.Float32).Sub(expected).Abs().Amax().Item();
            Assert.True(err <= (dtype == DType.BFloat16 ? 0.08 : 0.01) * scale, $"gradient differs by {err} (scale {scale})");
        }
        var before = model.Parameters().First().To(DType.Float32).Clone();
        var opt = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9);
        opt.Step();
        var after = model.Parameters().First();
        Assert.Equal(dtype, after.DType);
        Assert.True(after.To(DType.Float32).Sub(before).Abs().Amax().Item() > 0);
        var loss2 = F.CrossEntropy(model.Forward(x.To(dtype)), target);
        Assert.True(loss2.Item() < loss.Item(), $"loss {loss.Item()} -> {loss2.Item()}");
        // every optimizer: the update is computed in float32 (state kept in float32) and rounded into the 16-bit parameter
        var adam = new Adam(model.Parameters(), 1e-3);
        adam.ZeroGrad();
        F.CrossEntropy(model.Forward(x.To(dtype)), target).Backward();
        adam.Step();
        Assert.All(model.Parameters(), p => Assert.Equal(dtype, p.DType));
        var loss3 = F.CrossEntropy(model.Forward(x.To(dtype)), target);
        Assert.True(double.IsFinite(loss3.Item()) && loss3.Item() < loss.Item(), $"loss {loss.Item()} -> {loss3.Item()}");
    }

    [Fact]
    public void UnsupportedOpsThrowNamingTheOpAndDType()
    {
        var b = Tensor.Ones([4], DType.BFloat16);
        var e = Assert.Throws<NotSupportedException>(() => b.IndexAdd(0, Tensor.FromArray(new long[] { 0 }), Tensor.Ones([1], DType.BFloat16)));
        Assert.Contains("IndexAdd", e.Message); Assert.Contains("torch.bfloat16", e.Message);
        e = Assert.Throws<NotSupportedException>(() => Tensor.Ones([4], DType.Float16).CumSum(0));
        Assert.Contains("CumSum", e.Message); Assert.Contains("torch.float16", e.Message);
        var mixed = Assert.Throws<ArgumentException>(() => F.Linear(Tensor.Ones([2, 4]), Tensor.Ones([3, 4], DType.BFloat16)));
        Assert.Contains("Linear", mixed.Message);
    }
}
