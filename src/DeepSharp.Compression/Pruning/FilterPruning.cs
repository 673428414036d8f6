using DeepSharp.NN;

namespace DeepSharp.Compression.Pruning;

/// <summary>What <see cref="FilterPruning.Shrink"/> did: the channels kept per layer and the parameter counts.</summary>
/// <param name="KeptChannels">Per replaced layer (its dotted name): the indices of the kept output channels / units and the original count.</param>
/// <param name="ParametersBefore">Parameter count before.</param>
/// <param name="ParametersAfter">Parameter count after.</param>
public sealed record ShrinkReport(IReadOnlyDictionary<string, (int[] Kept, int Of)> KeptChannels, long ParametersBefore, long ParametersAfter);

/// <summary>
/// Structured filter pruning that makes a genuinely smaller dense model (Li et al. 2017, "Pruning Filters for Efficient
/// ConvNets"; torch.nn.utils.prune.ln_structured only masks, it never shrinks). The model must be a chain of
/// <see cref="Sequential"/> containers (the Fashion CNN, LeNet-5, an MLP): every Conv2d and Linear but the last one loses
/// its weakest output channels, and the layers that read them (the BatchNorm2d after it, the next Conv2d's input channels,
/// a Linear's input features after Flatten) are cut to match. Layers are replaced in their Sequential, so build the
/// optimizer after shrinking.
/// </summary>
public static class FilterPruning
{
    /// <summary>
    /// Removes <paramref name="amount"/> of the output channels of every Conv2d and hidden Linear, those of smallest Ln
    /// norm (<paramref name="n"/>, L1 by default, over each filter's weights) (torch.nn.utils.prune.ln_structured with dim=0,
    /// then made dense). Pruning masks in force are made permanent first.
    /// </summary>
    public static ShrinkReport Shrink(Module model, PruningAmount amount, double n = 1) =>
        Run(model, (_, w) =>
        {
            var shape = w.Shape.ToArray();
            int size = shape[0], keep = size - amount.ToPrune(size);
            if (keep < 1) throw new ArgumentException($"FilterPruning.Shrink: amount {amount} would remove all {size} channels of a layer", nameof(amount));
            return MaskMath.Largest(MaskMath.ChannelNorms(MaskMath.Values(w), shape, 0, n), keep).Order().ToArray();
        });

    /// <summary>
    /// Drops the output channels whose weights are all zero (after structured pruning with dim=0 and fine-tuning): the
    /// masked model becomes a dense one computing the same function except for the constant a removed channel's bias
    /// or batch norm contributed. Pruning masks in force are made permanent first.
    /// </summary>
    public static ShrinkReport Compact(Module model) =>
        Run(model, (_, w) =>
        {
            var shape = w.Shape.ToArray();
            var live = MaskMath.LiveChannels(MaskMath.Values(w), shape, 0);
            return live.Length > 0 ? live : [0];
        });

    /// <summary>
    /// Cuts a freshly built model to the layer widths of <paramref name="stateDict"/> (a state dict saved after
    /// <see cref="Shrink"/>), keeping the first channels of each layer, so that <c>LoadStateDict</c> then fits.
    /// </summary>
    public static ShrinkReport ShrinkTo(Module model, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        return Run(model, (name, w) =>
        {
            var key = name + ".weight";
            if (!stateDict.TryGetValue(key, out var saved))
                throw new ArgumentException($"FilterPruning.ShrinkTo: the state dict has no \"{key}\"", nameof(stateDict));
            if (saved.Shape[0] > w.Shape[0])
                throw new ArgumentException($"FilterPruning.ShrinkTo: \"{key}\" has {saved.Shape[0]} output channels, the model only {w.Shape[0]}", nameof(stateDict));
            return Enumerable.Range(0, saved.Shape[0]).ToArray();
        });
    }

    sealed record Leaf(string Name, Sequential Parent, int Index, Module Layer);

    static List<Leaf> Chain(Module model)
    {
        var leaves = new List<Leaf>();
        foreach (var (name, m) in model.NamedModules())
        {
            if (m.Children().Any()) continue;
            int dot = name.LastIndexOf('.');
            var parent = dot < 0 ? (name.Length == 0 ? null : model) : model.GetSubmodule(name[..dot]);
            if (parent is not Sequential seq || !int.TryParse(name[(dot + 1)..], out int index))
            {
                if (m is Conv2d or Linear or BatchNorm2d)
                    throw new ArgumentException($"FilterPruning: layer \"{name}\" ({m.GetType().Name}) is not an item of a Sequential; the model must be a chain of Sequential containers", nameof(model));
                continue;
            }
            leaves.Add(new Leaf(name, seq, index, m));
        }
        return leaves;
    }

    static ShrinkReport Run(Module model, Func<string, Tensor, int[]> chooseOutputs)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var m in model.Modules())
            if (Prune.MethodOf(m, "weight") != null) Prune.Remove(m, "weight");
        long before = model.ParameterCount();
        var leaves = Chain(model);
        int lastWeighted = leaves.FindLastIndex(l => l.Layer is Conv2d or Linear);
        var kept = new Dictionary<string, (int[], int)>();
        int[]? keepIn = null;          // kept channels of the current activation, null = all
        int channels = 0;              // channel count of the current activation in the original model
        bool flattened = false;
        using var noGrad = Autograd.NoGrad();
        for (int i = 0; i < leaves.Count; i++)
        {
            var leaf = leaves[i];
            switch (leaf.Layer)
            {
                case Conv2d conv:
                {
                    if (conv.Groups != 1) throw new ArgumentException($"FilterPruning: grouped convolution \"{leaf.Name}\" is not supported", nameof(model));
                    var w = keepIn != null ? conv.Weight.IndexSelect(1, Index(keepIn)) : conv.Weight;
                    var keepOut = i < lastWeighted ? chooseOutputs(leaf.Name, w) : Enumerable.Range(0, conv.OutChannels).ToArray();
                    var small = new Conv2d(w.Shape[1], keepOut.Length, (conv.KernelSize[0], conv.KernelSize[1]), (conv.Stride[0], conv.Stride[1]),
                        (conv.Padding[0], conv.Padding[1]), (conv.Dilation[0], conv.Dilation[1]), 1, conv.Bias != null, conv.Weight.DType);
                    small.Weight.CopyFrom(w.IndexSelect(0, Index(keepOut)));
                    small.Bias?.CopyFrom(conv.Bias!.IndexSelect(0, Index(keepOut)));
                    Replace(leaf, small, kept, keepOut, conv.OutChannels);
                    (keepIn, channels, flattened) = (keepOut, conv.OutChannels, false);
                    break;
                }
                case BatchNorm2d bn when keepIn != null:
                {
                    var small = new BatchNorm2d(keepIn.Length, bn.Eps, bn.Momentum, bn.Affine, bn.TrackRunningStats);
                    var idx = Index(keepIn);
                    small.Weight?.CopyFrom(bn.Weight!.IndexSelect(0, idx));
                    small.Bias?.CopyFrom(bn.Bias!.IndexSelect(0, idx));
                    small.RunningMean?.CopyFrom(bn.RunningMean!.IndexSelect(0, idx));
                    small.RunningVar?.CopyFrom(bn.RunningVar!.IndexSelect(0, idx));
                    small.NumBatchesTracked?.CopyFrom(bn.NumBatchesTracked!);
                    small.Train(bn.IsTraining);
                    leaf.Parent[leaf.Index] = small;
                    break;
                }
                case Flatten:
                    flattened = true;
                    break;
                case Linear fc:
                {
                    var inputs = keepIn;
                    if (keepIn != null && flattened)
                    {
                        int per = fc.InFeatures / channels;
                        inputs = keepIn.SelectMany(c => Enumerable.Range(c * per, per)).ToArray();
                    }
                    var w = inputs != null ? fc.Weight.IndexSelect(1, Index(inputs)) : fc.Weight;
                    var keepOut = i < lastWeighted ? chooseOutputs(leaf.Name, w) : Enumerable.Range(0, fc.OutFeatures).ToArray();
                    var small = new Linear(w.Shape[1], keepOut.Length, fc.Bias != null, fc.Weight.DType);
                    small.Weight.CopyFrom(w.IndexSelect(0, Index(keepOut)));
                    small.Bias?.CopyFrom(fc.Bias!.IndexSelect(0, Index(keepOut)));
                    Replace(leaf, small, kept, keepOut, fc.OutFeatures);
                    (keepIn, channels, flattened) = (keepOut, fc.OutFeatures, false);
                    break;
                }
                case ReLU or MaxPool2d or Dropout or BatchNorm2d:
                    break;
                default:
                    if (leaf.Layer.Parameters().Any() || leaf.Layer.Buffers().Any())
                        throw new ArgumentException($"FilterPruning: layer \"{leaf.Name}\" ({leaf.Layer.GetType().Name}) has state and is not supported (Conv2d, BatchNorm2d, Linear, Flatten and parameter-free layers are)", nameof(model));
                    break;
            }
        }
        return new ShrinkReport(kept, before, model.ParameterCount());
    }

    static void Replace(Leaf leaf, Module<Tensor, Tensor> small, Dictionary<string, (int[], int)> kept, int[] keptIndices, int of)
    {
        small.Train(leaf.Layer.IsTraining);
        leaf.Parent[leaf.Index] = small;
        kept[leaf.Name] = (keptIndices, of);
    }

    static Tensor Index(int[] indices) => Tensor.FromArray(indices.Select(i => (long)i).ToArray(), indices.Length);
}
