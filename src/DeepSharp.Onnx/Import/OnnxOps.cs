using DeepSharp.NN;

namespace DeepSharp.Onnx;

/// <summary>
/// Runs one compiled node: its inputs (null where an optional input is left out) in, its outputs out. <paramref name="training"/>
/// is the imported module's mode (batch norm and dropout follow it, as the PyTorch layers they came from do).
/// </summary>
internal delegate Tensor[] OnnxKernel(Tensor?[] inputs, bool training);

/// <summary>
/// The ONNX operators the importer runs, each compiled once at load from its node (attributes read and checked then, so an
/// unsupported op or attribute fails at load with the op type, node name and opset) into an <see cref="OnnxKernel"/>
/// made of DeepSharp tensor ops, so gradients flow through every one of them. This file: the registry and the neural
/// network ops; <c>OnnxOps.Elementwise.cs</c> and <c>OnnxOps.Shape.cs</c> hold the rest.
/// </summary>
internal static partial class OnnxOps
{
    static readonly Dictionary<string, Func<OnnxNode, OnnxKernel>> factories = CreateFactories();

    /// <summary>The op types the importer supports, sorted.</summary>
    public static IReadOnlyList<string> Supported { get; } = factories.Keys.Order(StringComparer.Ordinal).ToArray();

    static Dictionary<string, Func<OnnxNode, OnnxKernel>> CreateFactories()
    {
        var f = new Dictionary<string, Func<OnnxNode, OnnxKernel>>(StringComparer.Ordinal)
        {
            ["Conv"] = Conv,
            ["Gemm"] = Gemm,
            ["MatMul"] = n => Need(n, 2, x => In(x, 0).MatMul(In(x, 1))),
            ["BatchNormalization"] = BatchNormalization,
            ["LayerNormalization"] = LayerNormalization,
            ["MaxPool"] = MaxPool,
            ["AveragePool"] = AveragePool,
            ["GlobalAveragePool"] = n => Need(n, 1, x => In(x, 0).Rank == 4 ? F.AdaptiveAvgPool2d(In(x, 0), 1) : In(x, 0).Mean(SpatialDims(In(x, 0)), keepDim: true)),
            ["GlobalMaxPool"] = n => Need(n, 1, x => In(x, 0).Amax(SpatialDims(In(x, 0)), keepDim: true)),
            ["Softmax"] = n => SoftmaxLike(n, log: false),
            ["LogSoftmax"] = n => SoftmaxLike(n, log: true),
            ["Dropout"] = Dropout,
            ["LSTM"] = Lstm,
            ["GRU"] = Gru,
            ["RNN"] = Rnn,
            ["ConvTranspose"] = ConvTranspose,
            ["Resize"] = Resize,
            ["Upsample"] = Upsample,
        };
        AddElementwise(f);
        AddShape(f);
        return f;
    }

    /// <summary>Compiles <paramref name="node"/>, or throws <see cref="NotSupportedException"/> naming it.</summary>
    public static OnnxKernel Compile(OnnxNode node)
    {
        var domain = node.Proto.Domain;
        if (domain is not ("" or "ai.onnx"))
            throw node.Unsupported($"the domain '{domain}' is not the default ONNX domain");
        if (!factories.TryGetValue(node.OpType, out var factory))
            throw node.Unsupported($"DeepSharp has no mapping for it. Supported ops: {string.Join(", ", Supported)}");
        return factory(node);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    /// <summary>A one-output kernel needing at least <paramref name="inputs"/> inputs (checked at load).</summary>
    static OnnxKernel Need(OnnxNode node, int inputs, Func<Tensor?[], Tensor> f)
    {
        for (int i = 0; i < inputs; i++)
            if (!node.HasInput(i)) throw node.Unsupported($"input {i} is missing ({node.InputCount} given, {inputs} required)");
        return (x, _) => [f(x)];
    }

    /// <summary>The input at <paramref name="i"/>, which the load-time check guarantees.</summary>
    static Tensor In(Tensor?[] x, int i) => x[i]!;

    static int[] SpatialDims(Tensor x) => Enumerable.Range(2, Math.Max(0, x.Rank - 2)).ToArray();

    /// <summary>Splits ONNX pads (all begins, then all ends) into symmetric per-dim padding, or null when begins ≠ ends.</summary>
    static int[]? Symmetric(int[] pads)
    {
        int d = pads.Length / 2;
        for (int i = 0; i < d; i++) if (pads[i] != pads[i + d]) return null;
        return pads[..d];
    }

    /// <summary>ONNX pads of the trailing spatial dims (begins then ends) as F.Pad's list (last dim first, (begin, end) pairs).</summary>
    static int[] TorchPad(int[] pads)
    {
        int d = pads.Length / 2;
        var result = new int[2 * d];
        for (int i = 0; i < d; i++) { result[2 * i] = pads[d - 1 - i]; result[2 * i + 1] = pads[2 * d - 1 - i]; }
        return result;
    }

    /// <summary>kernel_shape, strides, dilations and pads of a Conv/pool node with <paramref name="dims"/> spatial dims.</summary>
    static (int[] Stride, int[] Dilation, int[] Pads) Window(OnnxNode node, int dims)
    {
        node.RequireExplicitPads();
        var ones = Enumerable.Repeat(1, dims).ToArray();
        var stride = node.IntArray("strides", ones);
        var dilation = node.IntArray("dilations", ones);
        var pads = node.String("auto_pad", "NOTSET") == "VALID" ? new int[2 * dims] : node.IntArray("pads", new int[2 * dims]);
        if (stride.Length != dims || dilation.Length != dims || pads.Length != 2 * dims)
            throw node.Unsupported($"strides/dilations/pads of lengths {stride.Length}/{dilation.Length}/{pads.Length} do not fit {dims} spatial dims");
        if (pads.Any(p => p < 0)) throw node.Unsupported("negative pads");
        return (stride, dilation, pads);
    }

    // ---- neural network ops -----------------------------------------------------------------------------------------

    /// <summary>Conv (torch.nn.functional.conv1d / conv2d); asymmetric pads are applied with F.Pad first.</summary>
    static OnnxKernel Conv(OnnxNode node)
    {
        int dims = node.Ints("kernel_shape")?.Length ?? 2;
        if (dims is not (1 or 2)) throw node.Unsupported($"{dims}-D convolution (1-D and 2-D are supported)");
        var (stride, dilation, pads) = Window(node, dims);
        int groups = (int)node.Int("group", 1);
        var symmetric = Symmetric(pads);
        var padding = symmetric ?? new int[dims];
        bool hasBias = node.HasInput(2);
        return Need(node, 2, x =>
        {
            var input = symmetric is null ? F.Pad(In(x, 0), TorchPad(pads)) : In(x, 0);
            var bias = hasBias ? x[2] : null;
            return dims == 1
                ? F.Conv1d(input, In(x, 1), bias, stride[0], padding[0], dilation[0], groups)
                : F.Conv2d(input, In(x, 1), bias, (stride[0], stride[1]), (padding[0], padding[1]), (dilation[0], dilation[1]), groups);
        });
    }

    /// <summary>Gemm: alpha·A'·B' + beta·C; the nn.Linear form (transB = 1, alpha = beta = 1) runs as F.Linear.</summary>
    static OnnxKernel Gemm(OnnxNode node)
    {
        float alpha = node.Float("alpha", 1f), beta = node.Float("beta", 1f);
        bool transA = node.Int("transA", 0) != 0, transB = node.Int("transB", 0) != 0;
        bool hasC = node.HasInput(2);
        return Need(node, 2, x =>
        {
            Tensor a = In(x, 0), b = In(x, 1);
            var c = hasC ? x[2] : null;
            if (!transA && transB && alpha == 1 && beta == 1 && (c is null || c.Rank == 1 && c.Shape[0] == b.Shape[0]))
                return F.Linear(a, b, c);
            var y = (transA ? a.T : a).MatMul(transB ? b.T : b);
            if (alpha != 1) y = y.Mul(alpha);
            return c is null ? y : y.Add(beta == 1 ? c : c.Mul(beta));
        });
    }

    /// <summary>
    /// BatchNormalization (torch.nn.functional.batch_norm). In training mode it normalises with batch statistics and updates
    /// the running mean and variance buffers with PyTorch's momentum 1 − ONNX momentum (default 0.9 → 0.1).
    /// </summary>
    static OnnxKernel BatchNormalization(OnnxNode node)
    {
        if (node.Proto.Output.Skip(1).Any(o => o.Length > 0))
            throw node.Unsupported("the running mean / variance outputs of a training graph");
        double eps = node.Float("epsilon", 1e-5f), momentum = 1 - (double)node.Float("momentum", 0.9f);
        return Need(node, 5, (x, training) =>
            F.BatchNorm(In(x, 0), In(x, 3), In(x, 4), In(x, 1), In(x, 2), training, momentum, eps));
    }

    static OnnxKernel Need(OnnxNode node, int inputs, Func<Tensor?[], bool, Tensor> f)
    {
        Need(node, inputs, x => x[0]!);   // the load-time input check
        return (x, training) => [f(x, training)];
    }

    /// <summary>LayerNormalization (opset 17; torch.nn.functional.layer_norm over the dims from axis on).</summary>
    static OnnxKernel LayerNormalization(OnnxNode node)
    {
        if (node.Proto.Output.Skip(1).Any(o => o.Length > 0)) throw node.Unsupported("the mean / inverse deviation outputs");
        int axis = (int)node.Int("axis", -1);
        double eps = node.Float("epsilon", 1e-5f);
        bool hasBias = node.HasInput(2);
        return Need(node, 2, x =>
        {
            var input = In(x, 0);
            int a = axis < 0 ? axis + input.Rank : axis;
            if (a < 0 || a >= input.Rank) throw new ArgumentException($"LayerNormalization: axis {axis} is out of range for input of shape ({string.Join(", ", input.Shape)})");
            return F.LayerNorm(input, input.Shape.Skip(a).ToArray(), In(x, 1), hasBias ? x[2] : null, eps);
        });
    }

    /// <summary>MaxPool (torch.nn.functional.max_pool1d / max_pool2d); asymmetric pads are applied with −∞ first.</summary>
    static OnnxKernel MaxPool(OnnxNode node)
    {
        var kernel = node.IntArray("kernel_shape", []);
        if (kernel.Length is not (1 or 2)) throw node.Unsupported($"{kernel.Length}-D pooling (1-D and 2-D are supported)");
        if (node.Proto.Output.Skip(1).Any(o => o.Length > 0)) throw node.Unsupported("the Indices output");
        var (stride, dilation, pads) = Window(node, kernel.Length);
        bool ceil = node.Int("ceil_mode", 0) != 0;
        var symmetric = Symmetric(pads);
        var padding = symmetric ?? new int[kernel.Length];
        return Need(node, 1, x =>
        {
            var input = symmetric is null ? F.Pad(In(x, 0), TorchPad(pads), double.NegativeInfinity) : In(x, 0);
            return kernel.Length == 1
                ? F.MaxPool1d(input, kernel[0], stride[0], padding[0], dilation[0], ceil)
                : F.MaxPool2d(input, (kernel[0], kernel[1]), (stride[0], stride[1]), (padding[0], padding[1]), (dilation[0], dilation[1]), ceil);
        });
    }

    /// <summary>AveragePool (torch.nn.functional.avg_pool1d / avg_pool2d); ONNX's count_include_pad defaults to 0.</summary>
    static OnnxKernel AveragePool(OnnxNode node)
    {
        var kernel = node.IntArray("kernel_shape", []);
        if (kernel.Length is not (1 or 2)) throw node.Unsupported($"{kernel.Length}-D pooling (1-D and 2-D are supported)");
        var (stride, dilation, pads) = Window(node, kernel.Length);
        if (dilation.Any(d => d != 1)) throw node.Unsupported("dilated average pooling");
        var padding = Symmetric(pads) ?? throw node.Unsupported($"asymmetric pads [{string.Join(", ", pads)}]");
        bool ceil = node.Int("ceil_mode", 0) != 0, includePad = node.Int("count_include_pad", 0) != 0;
        return Need(node, 1, x => kernel.Length == 1
            ? F.AvgPool1d(In(x, 0), kernel[0], stride[0], padding[0], ceil, includePad)
            : F.AvgPool2d(In(x, 0), (kernel[0], kernel[1]), (stride[0], stride[1]), (padding[0], padding[1]), ceil, includePad));
    }

    /// <summary>Softmax / LogSoftmax: over one axis from opset 13; before it, over the input flattened to 2-D at axis (default 1).</summary>
    static OnnxKernel SoftmaxLike(OnnxNode node, bool log)
    {
        bool oneAxis = node.Opset >= 13;
        int axis = (int)node.Int("axis", oneAxis ? -1 : 1);
        return Need(node, 1, x =>
        {
            var input = In(x, 0);
            int a = axis < 0 ? axis + input.Rank : axis;
            if (oneAxis || a == input.Rank - 1) return log ? input.LogSoftmax(a) : input.Softmax(a);
            int rows = input.Shape.Take(a).Aggregate(1, (p, d) => p * d);
            var flat = input.Reshape(rows, -1);
            return (log ? flat.LogSoftmax(1) : flat.Softmax(1)).Reshape([.. input.Shape]);
        });
    }

    /// <summary>Dropout: the identity in eval mode; in training mode torch.nn.functional.dropout with the node's ratio.</summary>
    static OnnxKernel Dropout(OnnxNode node)
    {
        if (node.Proto.Output.Skip(1).Any(o => o.Length > 0)) throw node.Unsupported("the mask output");
        float ratioAttribute = node.Float("ratio", 0.5f);
        bool ratioInput = node.Opset >= 12 && node.HasInput(1);
        return Need(node, 1, (x, training) =>
        {
            if (!training) return In(x, 0);
            double ratio = ratioInput ? OnnxTensors.Scalar(In(x, 1), "Dropout ratio") : ratioAttribute;
            return F.Dropout(In(x, 0), ratio, training: true);
        });
    }
}
