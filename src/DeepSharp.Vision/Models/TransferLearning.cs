using System.Text;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Vision.Models;

/// <summary>A checkpoint tensor that <see cref="TransferLearning.LoadPretrained(Module, IReadOnlyDictionary{string, Tensor}, bool, bool)"/> did not load.</summary>
/// <param name="Key">The state-dict key.</param>
/// <param name="CheckpointShape">Its shape in the checkpoint.</param>
/// <param name="ModelShape">The shape the model has under that key.</param>
/// <param name="Reason">Why it was skipped: "classifier head" or "shape mismatch".</param>
public sealed record SkippedTensor(string Key, int[] CheckpointShape, int[] ModelShape, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Key}: {Reason} (checkpoint ({string.Join(", ", CheckpointShape)}), model ({string.Join(", ", ModelShape)}))";
}

/// <summary>What a pretrained load did: the keys loaded, skipped, missing from the checkpoint and not in the model.</summary>
/// <param name="Loaded">Keys copied into the model.</param>
/// <param name="Skipped">Keys present in both but not copied (the classifier head, or a shape that differs).</param>
/// <param name="Missing">Model keys the checkpoint lacks; they keep their initial values.</param>
/// <param name="Unexpected">Checkpoint keys the model does not have; ignored.</param>
public sealed record PretrainedLoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<SkippedTensor> Skipped,
    IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>A multi-line summary: counts, then one line per skipped, missing or unexpected key.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder($"loaded {Loaded.Count} tensors; skipped {Skipped.Count}, missing {Missing.Count}, unexpected {Unexpected.Count}");
        foreach (var s in Skipped) sb.Append("\n  skipped ").Append(s);
        foreach (var k in Missing) sb.Append("\n  missing ").Append(k);
        foreach (var k in Unexpected) sb.Append("\n  unexpected ").Append(k);
        return sb.ToString();
    }
}

/// <summary>
/// Transfer learning with zoo models (the recipe of PyTorch's "transfer learning for computer vision" tutorial): load
/// pretrained weights while skipping the classifier head and any tensor whose shape changed, replace the head
/// (<see cref="IClassifierModel.ResetClassifier"/>), freeze the backbone, and fine-tune with separate learning rates for
/// the backbone and the head.
/// <code>
/// var model = ModelZoo.Create("resnet18", numClasses: 5);
/// Console.WriteLine(TransferLearning.LoadPretrained(model, "resnet18-imagenet.safetensors", skipHead: true));
/// TransferLearning.FreezeBackbone(model);                       // or fine-tune everything:
/// var opt = new Adam(TransferLearning.ParamGroups(model, backboneLr: 1e-4, headLr: 1e-3));
/// </code>
/// </summary>
public static class TransferLearning
{
    /// <summary>
    /// Loads a safetensors or PyTorch (.pth) checkpoint (<see cref="StateDictFile"/>) into <paramref name="model"/>, reporting instead of failing on what does not fit (see
    /// <see cref="LoadPretrained(Module, IReadOnlyDictionary{string, Tensor}, bool, bool)"/>).
    /// </summary>
    public static PretrainedLoadReport LoadPretrained(Module model, string path, bool skipHead = false, bool skipMismatched = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"TransferLearning.LoadPretrained: no checkpoint at {path}", path);
        return LoadPretrained(model, ModelZoo.WithBatchCounters(model, StateDictFile.Load(path)), skipHead, skipMismatched);
    }

    /// <summary>
    /// Copies the tensors of <paramref name="stateDict"/> that fit into <paramref name="model"/>
    /// (model.load_state_dict(filtered, strict=False), with the filtering of timm's load_pretrained / Lightning's
    /// fine-tuning recipes). With <paramref name="skipHead"/> the classifier layers of an <see cref="IClassifierModel"/>
    /// (its <see cref="IClassifierModel.HeadNames"/>) keep their fresh values; with <paramref name="skipMismatched"/> a tensor
    /// whose shape differs from the model's (a head for another class count, a stem for another channel count) is skipped
    /// and reported instead of throwing. Missing and unexpected keys are reported too. Throws an ArgumentException when
    /// no tensor at all could be loaded (a checkpoint of another architecture).
    /// </summary>
    public static PretrainedLoadReport LoadPretrained(Module model, IReadOnlyDictionary<string, Tensor> stateDict, bool skipHead = false, bool skipMismatched = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stateDict);
        if (skipHead && model is not IClassifierModel)
            throw new ArgumentException($"TransferLearning.LoadPretrained: skipHead needs a model that implements IClassifierModel; {model.GetType().Name} does not", nameof(skipHead));
        var own = model.StateDict();
        var headPrefixes = skipHead ? ((IClassifierModel)model).HeadNames : [];
        var filtered = new Dictionary<string, Tensor>();
        var loaded = new List<string>();
        var skipped = new List<SkippedTensor>();
        foreach (var (key, target) in own)
        {
            if (!stateDict.TryGetValue(key, out var source)) continue;
            if (IsUnder(key, headPrefixes)) { skipped.Add(new(key, source.Shape.ToArray(), target.Shape.ToArray(), "classifier head")); continue; }
            if (skipMismatched && !source.Shape.SequenceEqual(target.Shape))
            {
                skipped.Add(new(key, source.Shape.ToArray(), target.Shape.ToArray(), "shape mismatch"));
                continue;
            }
            filtered[key] = source;
            loaded.Add(key);
        }
        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (loaded.Count == 0 && own.Count > 0)
            throw new ArgumentException($"TransferLearning.LoadPretrained: none of the {stateDict.Count} checkpoint tensors fits {model.GetType().Name} " +
                $"({missing.Count} model keys missing, {skipped.Count} skipped); is it a checkpoint of this architecture? " +
                $"Model keys start {string.Join(", ", own.Keys.Take(3))}; checkpoint keys start {string.Join(", ", stateDict.Keys.Take(3))}", nameof(stateDict));
        model.LoadStateDict(filtered, strict: false);
        return new PretrainedLoadReport(loaded, skipped, missing, unexpected);
    }

    /// <summary>
    /// The classifier parameters of <paramref name="model"/> with their state-dict names (those under
    /// <see cref="IClassifierModel.HeadNames"/>), whether trainable or not.
    /// </summary>
    public static IEnumerable<(string Name, Tensor Parameter)> HeadParameters(Module model) =>
        model.NamedParameters().Where(p => IsUnder(p.Name, Classifier(model).HeadNames));

    /// <summary>Every parameter that is not part of the classifier head, with its name, whether trainable or not.</summary>
    public static IEnumerable<(string Name, Tensor Parameter)> BackboneParameters(Module model) =>
        model.NamedParameters().Where(p => !IsUnder(p.Name, Classifier(model).HeadNames));

    /// <summary>
    /// Freezes everything but the classifier head (for p in model.parameters(): p.requires_grad = False, then the head's
    /// back to True): only the head gets gradients, and an optimizer skips the rest. Batch-norm layers of the backbone still
    /// update their running statistics in training mode, as in PyTorch; call <c>Eval()</c> on them to stop that.
    /// Returns the number of trainable parameter elements left.
    /// </summary>
    public static long FreezeBackbone(Module model)
    {
        var heads = Classifier(model).HeadNames;
        foreach (var (name, p) in model.NamedParameters()) p.RequiresGrad = IsUnder(name, heads);
        return model.ParameterCount(trainableOnly: true);
    }

    /// <summary>Makes every parameter trainable again (model.requires_grad_(True)), e.g. to fine-tune after training the head.</summary>
    public static void Unfreeze(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.RequiresGrad(true);
    }

    /// <summary>
    /// Two optimizer parameter groups, the trainable backbone parameters with learning rate <paramref name="backboneLr"/> and
    /// the trainable head parameters with <paramref name="headLr"/> (optim.Adam([{"params": backbone, "lr": ...},
    /// {"params": head, "lr": ...}])). Each group sets only <see cref="ParamGroup.Lr"/>; the optimizer fills in its other
    /// options from its defaults. Frozen parameters are left out, and so is a group that would be empty (a frozen
    /// backbone gives only the head group).
    /// </summary>
    public static List<ParamGroup> ParamGroups(Module model, double backboneLr, double headLr)
    {
        if (!(backboneLr >= 0)) throw new ArgumentOutOfRangeException(nameof(backboneLr), $"TransferLearning.ParamGroups: backboneLr must be non-negative, got {backboneLr}");
        if (!(headLr >= 0)) throw new ArgumentOutOfRangeException(nameof(headLr), $"TransferLearning.ParamGroups: headLr must be non-negative, got {headLr}");
        var groups = new List<ParamGroup>();
        var backbone = BackboneParameters(model).Where(p => p.Parameter.RequiresGrad).Select(p => p.Parameter).ToList();
        var head = HeadParameters(model).Where(p => p.Parameter.RequiresGrad).Select(p => p.Parameter).ToList();
        if (backbone.Count > 0) groups.Add(new ParamGroup(backbone) { Lr = backboneLr });
        if (head.Count > 0) groups.Add(new ParamGroup(head) { Lr = headLr });
        if (groups.Count == 0) throw new ArgumentException("TransferLearning.ParamGroups: the model has no trainable parameter", nameof(model));
        return groups;
    }

    static IClassifierModel Classifier(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model as IClassifierModel
            ?? throw new ArgumentException($"TransferLearning: {model.GetType().Name} does not implement IClassifierModel, so its classifier head is unknown", nameof(model));
    }

    static bool IsUnder(string key, IReadOnlyList<string> prefixes)
    {
        foreach (var prefix in prefixes)
            if (key.Length > prefix.Length && key.StartsWith(prefix, StringComparison.Ordinal) && key[prefix.Length] == '.') return true;
        return false;
    }
}
