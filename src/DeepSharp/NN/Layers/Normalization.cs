namespace DeepSharp.NN;

/// <summary>
/// Shared implementation of BatchNorm1d/2d (torch.nn.modules.batchnorm._BatchNorm): parameters "weight" (γ, ones) and
/// "bias" (β, zeros) when affine; buffers "running_mean", "running_var" and "num_batches_tracked" when tracking running
/// statistics. Training normalises with the batch statistics and updates the running ones; evaluation uses the running ones.
/// </summary>
public abstract class BatchNormBase : Module<Tensor, Tensor>
{
    /// <summary>Number of channels C (num_features).</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance for stability (eps).</summary>
    public double Eps { get; }
    /// <summary>Weight of the new batch statistic in the running average (momentum); null means a cumulative average.</summary>
    public double? Momentum { get; set; }
    /// <summary>Whether γ and β are learned (affine).</summary>
    public bool Affine { get; }
    /// <summary>Whether running statistics are kept (track_running_stats).</summary>
    public bool TrackRunningStats { get; }

    /// <summary>The scale γ of shape (C,), or null when not affine (weight).</summary>
    [TorchName("weight")] public Tensor? Weight { get; private set; }
    /// <summary>The shift β of shape (C,), or null when not affine (bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; private set; }
    /// <summary>Running mean of shape (C,) (running_mean buffer), or null when not tracking.</summary>
    [TorchName("running_mean"), Buffer] public Tensor? RunningMean { get; private set; }
    /// <summary>Running unbiased variance of shape (C,) (running_var buffer), or null when not tracking.</summary>
    [TorchName("running_var"), Buffer] public Tensor? RunningVar { get; private set; }
    /// <summary>Number of training batches seen, an int64 scalar (num_batches_tracked buffer), or null when not tracking.</summary>
    [TorchName("num_batches_tracked"), Buffer] public Tensor? NumBatchesTracked { get; private set; }

    /// <summary>Creates the layer with PyTorch's defaults (eps=1e-5, momentum=0.1, affine=True, track_running_stats=True).</summary>
    protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats, DType dtype)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), $"{GetType().Name}: numFeatures must be positive, got {numFeatures}");
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum; Affine = affine; TrackRunningStats = trackRunningStats;
        if (affine)
        {
            Weight = Parameter(Tensor.Ones([numFeatures], dtype));
            Bias = Parameter(Tensor.Zeros([numFeatures], dtype));
        }
        if (trackRunningStats)
        {
            RunningMean = Tensor.Zeros([numFeatures], dtype);
            RunningVar = Tensor.Ones([numFeatures], dtype);
            NumBatchesTracked = Tensor.Scalar(0, DType.Int64);
        }
    }

    /// <summary>Zeroes the running mean and batch count and sets the running variance to one (reset_running_stats).</summary>
    public void ResetRunningStats()
    {
        using (Autograd.NoGrad())
        {
            RunningMean?.ZeroInPlace();
            RunningVar?.FillInPlace(1);
            NumBatchesTracked?.ZeroInPlace();
        }
    }

    /// <summary>Resets the running statistics, γ to ones and β to zeros (reset_parameters).</summary>
    public void ResetParameters()
    {
        ResetRunningStats();
        if (Weight != null) Init.Ones(Weight);
        if (Bias != null) Init.Zeros(Bias);
    }

    /// <summary>Throws when the input's rank does not suit the layer.</summary>
    protected abstract void CheckInputDim(Tensor input);

    /// <summary>Normalises the input (torch.nn.modules.batchnorm._BatchNorm.forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInputDim(input);
        if (input.Rank >= 2 && input.shape[1] != NumFeatures)
            throw new ArgumentException($"{DisplayName}: input of shape {ShapeUtil.Format(input.shape)} has {input.shape[1]} channels but the layer expects {NumFeatures}", nameof(input));
        double factor = Momentum ?? 0;
        if (IsTraining && TrackRunningStats && NumBatchesTracked != null)
        {
            using (Autograd.NoGrad()) NumBatchesTracked.AddInPlace(1);
            factor = Momentum ?? 1.0 / NumBatchesTracked.Item();
        }
        bool useBatchStats = IsTraining || (RunningMean == null && RunningVar == null);
        bool updateOrUse = !IsTraining || TrackRunningStats;
        return F.BatchNorm(input, updateOrUse ? RunningMean : null, updateOrUse ? RunningVar : null, Weight, Bias, useBatchStats, factor, Eps);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"{NumFeatures}, eps={PyFloat(Eps)}, momentum={(Momentum is { } m ? PyFloat(m) : "None")}, affine={PyBool(Affine)}, track_running_stats={PyBool(TrackRunningStats)}";
}

/// <summary>Batch normalisation of (N, C) or (N, C, L) inputs over N (and L) per channel (torch.nn.BatchNorm1d).</summary>
public class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    /// <inheritdoc/>
    protected override void CheckInputDim(Tensor input)
    {
        if (input.Rank is not (2 or 3))
            throw new ArgumentException($"BatchNorm1d: expected a 2-D (N, C) or 3-D (N, C, L) input, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
    }
}

/// <summary>Batch normalisation of (N, C, H, W) inputs over N, H and W per channel (torch.nn.BatchNorm2d).</summary>
public class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype)
{
    /// <inheritdoc/>
    protected override void CheckInputDim(Tensor input)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"BatchNorm2d: expected a 4-D (N, C, H, W) input, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
    }
}

/// <summary>
/// Layer normalisation over the trailing dims given by <see cref="NormalizedShape"/> (torch.nn.LayerNorm). Parameters
/// "weight" (ones) and "bias" (zeros) of that shape when elementwise-affine.
/// </summary>
public class LayerNorm : Module<Tensor, Tensor>
{
    readonly int[] normalizedShape;

    /// <summary>The trailing shape normalised over (normalized_shape).</summary>
    public IReadOnlyList<int> NormalizedShape => normalizedShape;
    /// <summary>Added to the variance for stability (eps).</summary>
    public double Eps { get; }
    /// <summary>Whether a per-element scale and shift are learned (elementwise_affine).</summary>
    public bool ElementwiseAffine { get; }

    /// <summary>Per-element scale, or null (weight).</summary>
    [TorchName("weight")] public Tensor? Weight { get; private set; }
    /// <summary>Per-element shift, or null (bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; private set; }

    /// <summary>Creates the layer over the last dimension of size <paramref name="normalizedShape"/> (torch.nn.LayerNorm(n)).</summary>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.Float32)
        : this([normalizedShape], eps, elementwiseAffine, bias, dtype) { }

    /// <summary>Creates the layer over the trailing dims <paramref name="normalizedShape"/> (torch.nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)).</summary>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: normalizedShape must be a non-empty list of positive sizes, got {ShapeUtil.Format(normalizedShape)}", nameof(normalizedShape));
        this.normalizedShape = ShapeUtil.Copy(normalizedShape);
        Eps = eps; ElementwiseAffine = elementwiseAffine;
        if (elementwiseAffine)
        {
            Weight = Parameter(Tensor.Ones(this.normalizedShape, dtype));
            Bias = bias ? Parameter(Tensor.Zeros(this.normalizedShape, dtype)) : null;
        }
    }

    /// <summary>Sets the weight to ones and the bias to zeros (reset_parameters).</summary>
    public void ResetParameters()
    {
        if (Weight != null) Init.Ones(Weight);
        if (Bias != null) Init.Zeros(Bias);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.LayerNorm(input, normalizedShape, Weight, Bias, Eps);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{PyTuple(normalizedShape)}, eps={PyFloat(Eps)}, elementwise_affine={PyBool(ElementwiseAffine)}";
}

/// <summary>
/// Group normalisation (torch.nn.GroupNorm): channels split into groups normalised per sample, then a per-channel
/// "weight" (ones) and "bias" (zeros) when affine. Input (N, C, *).
/// </summary>
public class GroupNorm : Module<Tensor, Tensor>
{
    /// <summary>Number of channel groups (num_groups).</summary>
    public int NumGroups { get; }
    /// <summary>Number of channels C (num_channels).</summary>
    public int NumChannels { get; }
    /// <summary>Added to the variance for stability (eps).</summary>
    public double Eps { get; }
    /// <summary>Whether a per-channel scale and shift are learned (affine).</summary>
    public bool Affine { get; }

    /// <summary>Per-channel scale of shape (C,), or null (weight).</summary>
    [TorchName("weight")] public Tensor? Weight { get; private set; }
    /// <summary>Per-channel shift of shape (C,), or null (bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; private set; }

    /// <summary>Creates the layer (torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)).</summary>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: numChannels ({numChannels}) must be a positive multiple of numGroups ({numGroups})", nameof(numChannels));
        NumGroups = numGroups; NumChannels = numChannels; Eps = eps; Affine = affine;
        if (affine)
        {
            Weight = Parameter(Tensor.Ones([numChannels], dtype));
            Bias = Parameter(Tensor.Zeros([numChannels], dtype));
        }
    }

    /// <summary>Sets the weight to ones and the bias to zeros (reset_parameters).</summary>
    public void ResetParameters()
    {
        if (Weight != null) Init.Ones(Weight);
        if (Bias != null) Init.Zeros(Bias);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank >= 2 && input.shape[1] != NumChannels)
            throw new ArgumentException($"GroupNorm: input of shape {ShapeUtil.Format(input.shape)} has {input.shape[1]} channels but the layer expects {NumChannels}", nameof(input));
        return F.GroupNorm(input, NumGroups, Weight, Bias, Eps);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{NumGroups}, {NumChannels}, eps={PyFloat(Eps)}, affine={PyBool(Affine)}";
}
