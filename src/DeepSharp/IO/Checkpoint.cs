using System.Globalization;
using System.Text.Json;

namespace DeepSharp.IO;

/// <summary>
/// A training checkpoint: model weights, optimizer state, scheduler state, epoch and step counters, the global RNG
/// state and free-form metadata, in one safetensors file (the usual
/// <c>torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": ...}, path)</c>, but in a format
/// PyTorch's safetensors can read: tensors are stored under "model." and "optim." prefixes, everything else in the
/// header's "__metadata__" strings). Saving is atomic; a corrupt or truncated file raises <see cref="InvalidDataException"/>.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>Prefix of the model's tensors in the file.</summary>
    public const string ModelPrefix = "model.";

    /// <summary>Prefix of the optimizer's tensors in the file.</summary>
    public const string OptimizerPrefix = "optim.";

    /// <summary>Metadata key holding the checkpoint format version; a file without it is not a checkpoint.</summary>
    public const string FormatKey = "deepsharp.checkpoint";

    /// <summary>The format version this code writes.</summary>
    public const int FormatVersion = 1;

    const string UserPrefix = "meta.";
    const string TrainerPrefix = "trainer.";

    /// <summary>The model's state dict (model.state_dict()), keyed like PyTorch ("fc1.weight").</summary>
    public Dictionary<string, Tensor> Model { get; init; } = new();

    /// <summary>The optimizer's tensor state (e.g. "state.0.exp_avg"), in the optimizer's own key scheme.</summary>
    public Dictionary<string, Tensor> OptimizerState { get; init; } = new();

    /// <summary>The optimizer's scalar state and hyperparameters (e.g. "param_groups.0.lr", "state.0.step").</summary>
    public Dictionary<string, double> OptimizerScalars { get; init; } = new();

    /// <summary>The learning-rate scheduler's state (scheduler.state_dict(): "last_epoch", "base_lrs.0", ...).</summary>
    public Dictionary<string, double> SchedulerState { get; init; } = new();

    /// <summary>Completed epochs.</summary>
    public long Epoch { get; set; }

    /// <summary>Completed optimizer steps (global step).</summary>
    public long Step { get; set; }

    /// <summary>The global generator's state (DeepSharp.Random.GetState(), torch.get_rng_state()), or null if not captured.</summary>
    public byte[]? RngState { get; set; }

    /// <summary>Free-form string metadata (stored as "meta.&lt;key&gt;" entries of __metadata__).</summary>
    public Dictionary<string, string> Metadata { get; init; } = new();

    /// <summary>
    /// The training loop's own position, written and read by the Trainer (stored as "trainer.&lt;key&gt;" entries of
    /// __metadata__): where it is in the data and the random states at the start of that pass, the training time, the
    /// running loss of an unfinished epoch (Lightning's "loops" entry of a checkpoint).
    /// </summary>
    public Dictionary<string, string> TrainerState { get; init; } = new();

    /// <summary>
    /// Saves a checkpoint built from its parts (torch.save of a checkpoint dict). When <paramref name="captureRng"/> is
    /// true the global RNG state is recorded, so <see cref="RestoreRngState"/> resumes the random stream exactly.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> model,
                            IReadOnlyDictionary<string, Tensor>? optimizerState = null, IReadOnlyDictionary<string, double>? optimizerScalars = null,
                            IReadOnlyDictionary<string, double>? schedulerState = null, long epoch = 0, long step = 0,
                            IReadOnlyDictionary<string, string>? metadata = null, bool captureRng = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        new Checkpoint
        {
            Model = new(model),
            OptimizerState = optimizerState is null ? new() : new(optimizerState),
            OptimizerScalars = optimizerScalars is null ? new() : new(optimizerScalars),
            SchedulerState = schedulerState is null ? new() : new(schedulerState),
            Epoch = epoch, Step = step,
            RngState = captureRng ? DeepSharp.Random.GetState() : null,
            Metadata = metadata is null ? new() : new(metadata),
        }.Save(path);
    }

    /// <summary>Writes this checkpoint to <paramref name="path"/> atomically (a crash mid-save keeps the previous file).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var tensors = new List<KeyValuePair<string, Tensor>>(Model.Count + OptimizerState.Count);
        foreach (var (name, tensor) in Model) tensors.Add(new(ModelPrefix + name, tensor));
        foreach (var (name, tensor) in OptimizerState) tensors.Add(new(OptimizerPrefix + name, tensor));
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [FormatKey] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["epoch"] = Epoch.ToString(CultureInfo.InvariantCulture),
            ["step"] = Step.ToString(CultureInfo.InvariantCulture),
            ["optim.scalars"] = ScalarsToJson(OptimizerScalars),
            ["scheduler"] = ScalarsToJson(SchedulerState),
        };
        if (RngState != null) metadata["rng_state"] = Convert.ToBase64String(RngState);
        foreach (var (key, value) in Metadata) metadata[UserPrefix + key] = value;
        foreach (var (key, value) in TrainerState) metadata[TrainerPrefix + key] = value;
        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Reads a checkpoint written by <see cref="Save(string)"/> (torch.load of a checkpoint dict).</summary>
    public static Checkpoint Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        try { return FromParts(tensors, metadata); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{e.Message} [file: {path}]", e); }
    }

    static Checkpoint FromParts(Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(FormatKey, out var version))
            throw new InvalidDataException($"Checkpoint: the file is a safetensors file but not a DeepSharp checkpoint (no \"{FormatKey}\" metadata); load it with SafeTensors.Load");
        if (!int.TryParse(version, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1 || v > FormatVersion)
            throw new InvalidDataException($"Checkpoint: unsupported checkpoint format version \"{version}\" (this DeepSharp reads 1..{FormatVersion})");
        var checkpoint = new Checkpoint
        {
            Epoch = ParseLong(metadata, "epoch"),
            Step = ParseLong(metadata, "step"),
            OptimizerScalars = metadata.TryGetValue("optim.scalars", out var optimJson) ? ScalarsFromJson(optimJson, "optim.scalars") : new(),
            SchedulerState = metadata.TryGetValue("scheduler", out var schedulerJson) ? ScalarsFromJson(schedulerJson, "scheduler") : new(),
        };
        if (metadata.TryGetValue("rng_state", out var rng))
        {
            try { checkpoint.RngState = Convert.FromBase64String(rng); }
            catch (FormatException) { throw new InvalidDataException("Checkpoint: \"rng_state\" metadata is not valid base64"); }
        }
        foreach (var (key, value) in metadata)
            if (key.StartsWith(UserPrefix, StringComparison.Ordinal)) checkpoint.Metadata[key[UserPrefix.Length..]] = value;
            else if (key.StartsWith(TrainerPrefix, StringComparison.Ordinal)) checkpoint.TrainerState[key[TrainerPrefix.Length..]] = value;
        foreach (var (name, tensor) in tensors)
        {
            if (name.StartsWith(ModelPrefix, StringComparison.Ordinal)) checkpoint.Model[name[ModelPrefix.Length..]] = tensor;
            else if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) checkpoint.OptimizerState[name[OptimizerPrefix.Length..]] = tensor;
            else throw new InvalidDataException($"Checkpoint: tensor '{name}' has neither the \"{ModelPrefix}\" nor the \"{OptimizerPrefix}\" prefix");
        }
        return checkpoint;
    }

    /// <summary>Restores the global generator to the saved state (torch.set_rng_state); throws if none was saved.</summary>
    public void RestoreRngState()
    {
        if (RngState is null) throw new InvalidOperationException("Checkpoint.RestoreRngState: this checkpoint holds no RNG state");
        DeepSharp.Random.SetState(RngState);
    }

    static long ParseLong(Dictionary<string, string> metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var text)) return 0;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
            throw new InvalidDataException($"Checkpoint: metadata \"{key}\" is \"{text}\", not an integer");
        return value;
    }

    /// <summary>A JSON object of numbers; NaN and infinities are written as the strings "NaN", "Infinity", "-Infinity".</summary>
    static string ScalarsToJson(Dictionary<string, double> scalars)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in scalars)
            {
                if (double.IsFinite(value)) json.WriteNumber(key, value);
                else json.WriteString(key, value.ToString(CultureInfo.InvariantCulture));
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    static Dictionary<string, double> ScalarsFromJson(string text, string key)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("not an object");
            var result = new Dictionary<string, double>();
            foreach (var entry in document.RootElement.EnumerateObject())
                result[entry.Name] = entry.Value.ValueKind switch
                {
                    JsonValueKind.Number => entry.Value.GetDouble(),
                    JsonValueKind.String when double.TryParse(entry.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
                    _ => throw new JsonException($"value of '{entry.Name}' is not a number"),
                };
            return result;
        }
        catch (JsonException e) { throw new InvalidDataException($"Checkpoint: metadata \"{key}\" is not a JSON object of numbers ({e.Message})", e); }
    }
}
