using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>
/// The output index an attribution explains (Captum's <c>target</c> argument): one class for every example
/// (<c>target=3</c>) or one per example (<c>target=[3, 0, 7]</c>). Converts implicitly from <see cref="int"/> and
/// <see cref="int"/>[].
/// </summary>
public readonly struct AttributionTarget
{
    readonly int single;
    readonly int[]? perExample;

    AttributionTarget(int single, int[]? perExample) { this.single = single; this.perExample = perExample; }

    /// <summary>The same class for every example (Captum target=int).</summary>
    public static implicit operator AttributionTarget(int target) => new(target, null);

    /// <summary>One class per example (Captum target=list of ints).</summary>
    public static implicit operator AttributionTarget(int[] targets) => new(0, targets ?? throw new ArgumentNullException(nameof(targets)));

    /// <summary>The class of example <paramref name="i"/>.</summary>
    public int this[int i] => perExample == null ? single : perExample[i];

    /// <summary>A readable form for messages: "3" or "[3, 0, 7]".</summary>
    public override string ToString() => perExample == null ? single.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"[{string.Join(", ", perExample)}]";

    /// <summary>
    /// A one-hot mask (N, classes) of <paramref name="output"/>'s dtype selecting each example's target; checks that
    /// the output is (N, classes) and every target is a class index.
    /// </summary>
    internal Tensor Mask(Tensor output, string op)
    {
        if (output.Rank != 2)
            throw new ArgumentException($"{op}: the model must return (N, classes) scores to take a target, got shape ({string.Join(", ", output.Shape)})", nameof(output));
        int n = output.Shape[0], classes = output.Shape[1];
        if (perExample != null && perExample.Length != n)
            throw new ArgumentException($"{op}: {perExample.Length} targets given for a batch of {n} examples", "target");
        var mask = new double[n * classes];
        for (int i = 0; i < n; i++)
        {
            int t = this[i];
            if ((uint)t >= (uint)classes)
                throw new ArgumentException($"{op}: target {t} is not a class index of a model with {classes} outputs (shape ({n}, {classes}))", "target");
            mask[i * classes + t] = 1;
        }
        return Tensor.FromArray(mask, [n, classes]).To(output.DType);
    }

    /// <summary>The sum over the batch of each example's target score: its gradient is every example's own gradient.</summary>
    internal Tensor Score(Tensor output, string op) => (output * Mask(output, op)).Sum();

    /// <summary>Each example's target score, (N).</summary>
    internal Tensor PerExample(Tensor output, string op) => (output * Mask(output, op)).Sum(1);
}

/// <summary>Checks and gradient helpers shared by the attribution methods.</summary>
internal static class AttributionCore
{
    /// <summary>Checks that <paramref name="input"/> is a floating-point batch (N, ...) with N ≥ 1.</summary>
    public static void CheckInput(Tensor input, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.DType is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"{op}: the input must be float32 or float64, got {input.DType}", nameof(input));
        if (input.Rank < 2 || input.Shape[0] < 1)
            throw new ArgumentException($"{op}: the input must be a batch (N, ...) with N ≥ 1, got shape ({string.Join(", ", input.Shape)})", nameof(input));
    }

    /// <summary>The gradient of the summed target scores with respect to the input (torch.autograd.grad); no parameter's Grad is touched.</summary>
    public static Tensor InputGradient(Func<Tensor, Tensor> forward, Tensor input, AttributionTarget target, string op)
    {
        var x = input.Detach().RequiresGrad_();
        Tensor score;
        using (Autograd.EnableGrad()) score = target.Score(forward(x), op);
        return Autograd.Grad(score, x);
    }

    /// <summary>The target scores (N) of a forward without recording.</summary>
    public static Tensor Scores(Func<Tensor, Tensor> forward, Tensor input, AttributionTarget target, string op)
    {
        using var _ = Autograd.NoGrad();
        return target.PerExample(forward(input), op);
    }

    /// <summary>A model as the forward function of an attribution (Captum's forward_func).</summary>
    public static Func<Tensor, Tensor> ForwardOf(Module<Tensor, Tensor> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Call;
    }
}
