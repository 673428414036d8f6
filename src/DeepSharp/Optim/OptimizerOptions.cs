using System.Globalization;

namespace DeepSharp.Optim;

/// <summary>
/// The hyperparameters of one optimizer, typed (the keyword arguments of a torch.optim optimizer, and the entries of
/// a param group dict other than "params"). Each optimizer has its own immutable record (<see cref="SgdOptions"/>,
/// <see cref="AdamOptions"/>, <see cref="AdamWOptions"/>, <see cref="AdagradOptions"/>, <see cref="RMSpropOptions"/>,
/// <see cref="AdadeltaOptions"/>) whose property defaults are torch.optim 1.13's; derive a variant with
/// <c>with</c>: <c>opt.Defaults with { WeightDecay = 0 }</c>. PyTorch's string keys ("lr", "weight_decay" ...) appear
/// only where a state dict is written or read (<see cref="WriteStateDict"/>, <see cref="ReadStateDict"/>).
/// </summary>
public abstract record OptimizerOptions
{
    /// <summary>Learning rate (lr).</summary>
    public abstract double Lr { get; init; }

    /// <summary>Weight decay: an L2 penalty added to the gradient, or AdamW's decoupled decay (weight_decay). Default 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Maximise the objective instead of minimising it (maximize). Default false.</summary>
    public bool Maximize { get; init; }

    /// <summary>
    /// Checks every value, throwing an <see cref="ArgumentOutOfRangeException"/> (or <see cref="ArgumentException"/>)
    /// that names the argument with torch.optim's wording ("Invalid learning rate: -1"). <paramref name="context"/>
    /// starts the message, e.g. "Adam" or "Adam, parameter group 1".
    /// </summary>
    protected internal abstract void Validate(string context);

    /// <summary>
    /// Writes every option under its PyTorch name (the param group dict's keys; booleans as 1 or 0, Adam's betas as
    /// "beta1" and "beta2") into <paramref name="values"/>, for a state dict.
    /// </summary>
    protected internal abstract void WriteStateDict(IDictionary<string, double> values);

    /// <summary>
    /// A copy of these options with every option present in <paramref name="values"/> (the keys
    /// <see cref="WriteStateDict"/> writes) taken from it; options it lacks keep their value here.
    /// </summary>
    protected internal abstract OptimizerOptions ReadStateDict(IReadOnlyDictionary<string, double> values);

    /// <summary>Checks the options common to every optimizer: lr ≥ 0 and weight_decay ≥ 0.</summary>
    private protected void ValidateCommon(string context)
    {
        Require(Lr >= 0, context, "lr", Lr, "Invalid learning rate", ">= 0");
        Require(WeightDecay >= 0, context, "weight_decay", WeightDecay, "Invalid weight_decay value", ">= 0");
    }

    /// <summary>
    /// Throws when <paramref name="ok"/> is false: "{context}: {what}: {value}; {argument} must be {rule}", with the
    /// argument's PyTorch name as the exception's ParamName. Write conditions so that NaN fails them (<c>x &gt;= 0</c>).
    /// </summary>
    protected static void Require(bool ok, string context, string argument, double value, string what, string rule)
    {
        if (!ok)
            throw new ArgumentOutOfRangeException(argument, value,
                $"{context}: {what}: {value.ToString(CultureInfo.InvariantCulture)}; {argument} must be {rule}");
    }

    /// <summary>Reads a number option from a state dict, or <paramref name="fallback"/> when absent.</summary>
    protected static double Read(IReadOnlyDictionary<string, double> values, string key, double fallback) =>
        values.TryGetValue(key, out var v) ? v : fallback;

    /// <summary>Reads a boolean option (stored as 1 or 0; any non-zero value is true), or <paramref name="fallback"/> when absent.</summary>
    protected static bool Read(IReadOnlyDictionary<string, double> values, string key, bool fallback) =>
        values.TryGetValue(key, out var v) ? v != 0 : fallback;

    /// <summary>A boolean as a state-dict value: 1 or 0.</summary>
    protected static double Flag(bool value) => value ? 1 : 0;
}
