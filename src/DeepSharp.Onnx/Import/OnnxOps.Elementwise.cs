namespace DeepSharp.Onnx;

/// <summary>
/// Elementwise ONNX ops: arithmetic (with ONNX's numpy broadcasting, which DeepSharp's ops share), activations,
/// comparisons and logic, Where, Clip and the reductions. Integer arithmetic (shape computations torch.onnx writes, such
/// as a head size from Div) is computed exactly in float64 and truncated towards zero, as ONNX's integer Div does.
/// </summary>
internal static partial class OnnxOps
{
    static void AddElementwise(Dictionary<string, Func<OnnxNode, OnnxKernel>> f)
    {
        f["Add"] = n => Need(n, 2, x => Arithmetic(In(x, 0), In(x, 1), static (a, b) => a.Add(b)));
        f["Sub"] = n => Need(n, 2, x => Arithmetic(In(x, 0), In(x, 1), static (a, b) => a.Sub(b)));
        f["Mul"] = n => Need(n, 2, x => Arithmetic(In(x, 0), In(x, 1), static (a, b) => a.Mul(b)));
        f["Div"] = n => Need(n, 2, x => Arithmetic(In(x, 0), In(x, 1), static (a, b) => a.Div(b)));
        f["Pow"] = n => Need(n, 2, x => Pow(In(x, 0), In(x, 1)));
        f["Sum"] = n => Need(n, 1, x => x.Aggregate((a, b) => a!.Add(b!))!);
        f["Mean"] = n => Need(n, 1, x => x.Aggregate((a, b) => a!.Add(b!))!.Div(x.Length));
        f["Max"] = n => Need(n, 1, x => x.Aggregate((a, b) => Tensor.Where(a!.Ge(b!), a, b!))!);
        f["Min"] = n => Need(n, 1, x => x.Aggregate((a, b) => Tensor.Where(a!.Le(b!), a, b!))!);
        Unary(f, "Relu", t => t.Relu());
        Unary(f, "Sigmoid", t => t.Sigmoid());
        Unary(f, "Tanh", t => t.Tanh());
        Unary(f, "Exp", t => t.Exp());
        Unary(f, "Log", t => t.Log());
        Unary(f, "Sqrt", t => t.Sqrt());
        Unary(f, "Neg", t => t.Neg());
        Unary(f, "Abs", t => t.Abs());
        Unary(f, "Reciprocal", t => t.Reciprocal());
        Unary(f, "Erf", t => t.Erf());
        Unary(f, "Sin", t => t.Sin());
        Unary(f, "Cos", t => t.Cos());
        Unary(f, "Softplus", t => t.Softplus());
        Unary(f, "HardSwish", t => t.Hardswish());
        Unary(f, "Identity", t => t);
        Unary(f, "Not", t => t.LogicalNot());
        f["LeakyRelu"] = n => { var alpha = n.Float("alpha", 0.01f); return Need(n, 1, x => In(x, 0).LeakyRelu(alpha)); };
        f["Elu"] = n => { var alpha = n.Float("alpha", 1f); return Need(n, 1, x => In(x, 0).Elu(alpha)); };
        f["Selu"] = Selu;
        f["HardSigmoid"] = n =>
        {
            double alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
            return Need(n, 1, x => In(x, 0).Mul(alpha).Add(beta).Clamp(0, 1));
        };
        f["Gelu"] = n => { var approximate = n.String("approximate", "none"); return Need(n, 1, x => In(x, 0).Gelu(approximate)); };
        f["Clip"] = Clip;
        f["Equal"] = n => Need(n, 2, x => In(x, 0).Eq(In(x, 1)));
        f["Greater"] = n => Need(n, 2, x => In(x, 0).Gt(In(x, 1)));
        f["GreaterOrEqual"] = n => Need(n, 2, x => In(x, 0).Ge(In(x, 1)));
        f["Less"] = n => Need(n, 2, x => In(x, 0).Lt(In(x, 1)));
        f["LessOrEqual"] = n => Need(n, 2, x => In(x, 0).Le(In(x, 1)));
        f["And"] = n => Need(n, 2, x => In(x, 0).LogicalAnd(In(x, 1)));
        f["Or"] = n => Need(n, 2, x => In(x, 0).LogicalOr(In(x, 1)));
        f["Xor"] = n => Need(n, 2, x => In(x, 0).LogicalXor(In(x, 1)));
        f["Where"] = n => Need(n, 3, x => Tensor.Where(In(x, 0), In(x, 1), In(x, 2)));
        f["ReduceMean"] = n => Reduce(n, (t, dims, keep) => t.Mean(dims, keep), axesInputFrom: 18);
        f["ReduceSum"] = n => Reduce(n, (t, dims, keep) => t.Sum(dims, keep), axesInputFrom: 13);
        f["ReduceMax"] = n => Reduce(n, (t, dims, keep) => t.Amax(dims, keep), axesInputFrom: 18);
        f["ReduceMin"] = n => Reduce(n, (t, dims, keep) => t.Amin(dims, keep), axesInputFrom: 18);
    }

    static void Unary(Dictionary<string, Func<OnnxNode, OnnxKernel>> f, string op, Func<Tensor, Tensor> apply) =>
        f[op] = n => Need(n, 1, x => apply(In(x, 0)));

    static Tensor Arithmetic(Tensor a, Tensor b, Func<Tensor, Tensor, Tensor> op)
    {
        if (a.IsFloatingPoint || b.IsFloatingPoint) return op(a, b);
        var dtype = a.DType == DType.Int64 || b.DType == DType.Int64 ? DType.Int64 : a.DType;
        return op(a.To(DType.Float64), b.To(DType.Float64)).To(dtype);   // the conversion truncates towards zero
    }

    /// <summary>Pow with a constant scalar exponent (x ** 2 in torch) runs as Pow(double); otherwise elementwise.</summary>
    static Tensor Pow(Tensor x, Tensor exponent) =>
        exponent.NumEl == 1 && exponent.Rank <= x.Rank && !exponent.RequiresGrad ? x.Pow(OnnxTensors.Scalar(exponent, "Pow exponent")) : x.Pow(exponent);

    static OnnxKernel Selu(OnnxNode node)
    {
        double alpha = node.Float("alpha", 1.67326319217681884765625f), gamma = node.Float("gamma", 1.05070102214813232421875f);
        return Need(node, 1, x => In(x, 0).Elu(alpha).Mul(gamma));
    }

    /// <summary>Clip: bounds from the min/max attributes before opset 11, from the optional inputs 1 and 2 after.</summary>
    static OnnxKernel Clip(OnnxNode node)
    {
        if (node.Opset < 11)
        {
            double lo = node.Float("min", float.MinValue), hi = node.Float("max", float.MaxValue);
            return Need(node, 1, x => In(x, 0).Clamp(lo, hi));
        }
        bool hasMin = node.HasInput(1), hasMax = node.HasInput(2);
        return Need(node, 1, x => In(x, 0).Clamp(hasMin ? OnnxTensors.Scalar(In(x, 1), "Clip min") : null,
            hasMax ? OnnxTensors.Scalar(In(x, 2), "Clip max") : null));
    }

    /// <summary>
    /// ReduceMean/Sum/Max/Min: axes from the attribute, or from input 1 from opset <paramref name="axesInputFrom"/> on;
    /// no axes reduce every dim unless noop_with_empty_axes.
    /// </summary>
    static OnnxKernel Reduce(OnnxNode node, Func<Tensor, int[], bool, Tensor> reduce, int axesInputFrom)
    {
        bool keep = node.Int("keepdims", 1) != 0, noop = node.Int("noop_with_empty_axes", 0) != 0;
        bool axesInput = node.Opset >= axesInputFrom;
        var attributeAxes = node.Ints("axes");
        return Need(node, 1, x =>
        {
            var input = In(x, 0);
            long[]? axes = axesInput ? (node.HasInput(1) ? OnnxTensors.Longs(In(x, 1)) : null) : attributeAxes;
            if (axes is null || axes.Length == 0)
            {
                if (noop) return input;
                axes = Enumerable.Range(0, input.Rank).Select(i => (long)i).ToArray();
            }
            return reduce(input, axes.Select(a => (int)(a < 0 ? a + input.Rank : a)).ToArray(), keep);
        });
    }
}
