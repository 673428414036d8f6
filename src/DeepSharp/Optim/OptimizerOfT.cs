namespace DeepSharp.Optim;

/// <summary>
/// An optimizer whose hyperparameters are a <typeparamref name="TOptions"/> record (torch.optim.Optimizer with its
/// defaults dict typed). A subclass passes its defaults to the constructor and implements <see cref="Update(TOptions, Tensor, Tensor, ParamState)"/>, the
/// fused update of one parameter with the options of that parameter's group.
/// </summary>
/// <typeparam name="TOptions">The optimizer's options record, e.g. <see cref="AdamOptions"/>.</typeparam>
public abstract class Optimizer<TOptions> : Optimizer where TOptions : OptimizerOptions
{
    /// <summary>Creates an optimizer over one group holding <paramref name="parameters"/> (torch.optim.Optimizer(params, defaults)).</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, TOptions defaults)
        : base([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], defaults) { }

    /// <summary>Creates an optimizer over several groups; a group without options takes <paramref name="defaults"/>.</summary>
    protected Optimizer(IEnumerable<ParamGroup> paramGroups, TOptions defaults) : base(paramGroups, defaults) { }

    /// <summary>The default hyperparameters given at construction (torch.optim.Optimizer.defaults), typed.</summary>
    public new TOptions Defaults => (TOptions)base.Defaults;

    /// <summary>The options of parameter group <paramref name="groupIndex"/>, typed (optimizer.param_groups[i] without "params").</summary>
    public TOptions GroupOptions(int groupIndex) => (TOptions)ParamGroups[groupIndex].Options;

    /// <summary>
    /// Updates one parameter in place with its group's <paramref name="options"/>. <paramref name="param"/> and
    /// <paramref name="grad"/> are contiguous with the same dtype (float32 or float64) and shape; <paramref name="state"/>
    /// is the parameter's state (empty the first time).
    /// </summary>
    protected abstract void Update(TOptions options, Tensor param, Tensor grad, ParamState state);

    private protected sealed override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state) =>
        Update((TOptions)group.Options, param, grad, state);

    private protected sealed override bool AcceptsOptions(OptimizerOptions options) => options is TOptions;

    private protected sealed override string OptionsTypeName => typeof(TOptions).Name;
}
