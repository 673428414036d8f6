using System.Runtime.CompilerServices;
using DeepSharp.Optim;

namespace DeepSharp.Compression.MixedPrecision;

/// <summary>
/// Dynamic loss scaling (torch.cuda.amp.GradScaler / torch.amp.GradScaler) with PyTorch's defaults and rules:
/// <see cref="Scale"/> multiplies the loss by the scale (init 65536); <see cref="Unscale"/> divides an optimizer's
/// gradients by it and records whether any is inf or NaN; <see cref="Step"/> unscales if not yet done and skips the
/// optimizer step when a non-finite gradient was found; <see cref="Update"/> then multiplies the scale by the backoff
/// factor (0.5) after a skipped step, or by the growth factor (2) after <c>growthInterval</c> (2000) clean steps in a row.
/// <para>
/// Under a float16 <see cref="Autocast"/> region the activation gradients are float16 tensors and overflow to ±∞ by
/// themselves; the float32 master gradients cannot, so <see cref="GradientLimit"/> also counts a scaled master gradient
/// whose magnitude exceeds the limit (65504, float16's largest value, for a float16 run) as inf. A scale that keeps backing off until it drops below 1 means the gradients overflow even
/// unscaled: <see cref="Collapsed"/> says so and <see cref="Update"/> returns a warning.
/// </para>
/// </summary>
public sealed class GradScaler
{
    readonly ConditionalWeakTable<Optimizer, object> unscaled = new();
    readonly List<bool> foundInfs = new();

    /// <summary>Creates a scaler (GradScaler(init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True)).</summary>
    public GradScaler(double initScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000,
        bool enabled = true, double gradientLimit = double.PositiveInfinity)
    {
        if (!(initScale > 0)) throw new ArgumentOutOfRangeException(nameof(initScale), initScale, "GradScaler: the initial scale must be positive");
        if (!(growthFactor > 1)) throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "GradScaler: the growth factor should be > 1");
        if (!(backoffFactor > 0 && backoffFactor < 1)) throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "GradScaler: the backoff factor should be < 1");
        if (growthInterval <= 0) throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "GradScaler: growth_interval should be a positive integer");
        ScaleValue = initScale; GrowthFactor = growthFactor; BackoffFactor = backoffFactor; GrowthInterval = growthInterval;
        IsEnabled = enabled; GradientLimit = gradientLimit;
    }

    /// <summary>The current scale (get_scale()); 1 when disabled.</summary>
    public double ScaleValue { get; private set; }

    /// <summary>Multiplier after growthInterval clean steps (get_growth_factor()).</summary>
    public double GrowthFactor { get; }

    /// <summary>Multiplier after a skipped step (get_backoff_factor()).</summary>
    public double BackoffFactor { get; }

    /// <summary>Clean steps in a row before growing (get_growth_interval()).</summary>
    public int GrowthInterval { get; }

    /// <summary>Clean steps since the last growth or backoff (_growth_tracker).</summary>
    public int GrowthTracker { get; private set; }

    /// <summary>Whether scaling is on (is_enabled()); when off every method passes through.</summary>
    public bool IsEnabled { get; }

    /// <summary>Largest finite scaled-gradient magnitude (65504 emulates float16 gradients; +∞: float32).</summary>
    public double GradientLimit { get; }

    /// <summary>Steps skipped so far for non-finite gradients.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>True once the scale has dropped below 1: gradients overflow even unscaled (an fp16 run that cannot train).</summary>
    public bool Collapsed => IsEnabled && ScaleValue < 1;

    /// <summary>loss · scale (GradScaler.scale(outputs)); the loss itself when disabled.</summary>
    public Tensor Scale(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return IsEnabled ? loss * ScaleValue : loss;
    }

    /// <summary>
    /// Divides <paramref name="optimizer"/>'s gradients by the scale in place and records whether any is non-finite
    /// (GradScaler.unscale_). At most once per optimizer between updates.
    /// </summary>
    public void Unscale(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!IsEnabled) return;
        if (unscaled.TryGetValue(optimizer, out _))
            throw new InvalidOperationException("GradScaler.Unscale: unscale_() has already been called on this optimizer since the last update()");
        bool foundInf = false;
        double inv = 1.0 / ScaleValue;
        using (Autograd.NoGrad())
            foreach (var p in optimizer.Parameters())
            {
                if (p.Grad is not { } g) continue;
                if (!foundInf) foundInf = Overflows(g);
                g.MulInPlace(inv);
            }
        unscaled.AddOrUpdate(optimizer, foundInf);
        foundInfs.Add(foundInf);
    }

    /// <summary>True when a gradient element is inf/NaN or beyond <see cref="GradientLimit"/> (read in place for float32).</summary>
    bool Overflows(Tensor g)
    {
        if (g.DType == DType.Float32 && g.IsContiguous)
        {
            foreach (var v in g.AsReadOnlySpan<float>())
                if (!float.IsFinite(v) || Math.Abs(v) > GradientLimit) return true;
            return false;
        }
        foreach (var v in g.ToArray<double>())
            if (!double.IsFinite(v) || Math.Abs(v) > GradientLimit) return true;
        return false;
    }

    /// <summary>
    /// Unscales if <see cref="Unscale"/> was not called, then takes <paramref name="optimizer"/>'s step unless a gradient
    /// was inf/NaN (GradScaler.step). Returns whether the step was taken.
    /// </summary>
    public bool Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!IsEnabled) { optimizer.Step(); return true; }
        if (!unscaled.TryGetValue(optimizer, out _)) Unscale(optimizer);
        unscaled.TryGetValue(optimizer, out var found);
        if ((bool)found!) { SkippedSteps++; return false; }
        optimizer.Step();
        return true;
    }

    /// <summary>
    /// Adjusts the scale for the next iteration (GradScaler.update): backoff when any optimizer found inf/NaN since the last
    /// update, growth after GrowthInterval clean updates. Returns a warning when the scale has collapsed, else null.
    /// </summary>
    public string? Update()
    {
        if (!IsEnabled) return null;
        if (foundInfs.Count == 0) throw new InvalidOperationException("GradScaler.Update: no inf checks were recorded prior to update (call Step or Unscale first)");
        if (foundInfs.Any(f => f)) { ScaleValue *= BackoffFactor; GrowthTracker = 0; }
        else if (++GrowthTracker == GrowthInterval) { ScaleValue *= GrowthFactor; GrowthTracker = 0; }
        foundInfs.Clear();
        unscaled.Clear();
        return Collapsed
            ? $"GradScaler: the loss scale collapsed to {ScaleValue:G3} after {SkippedSteps} skipped steps: gradients overflow even unscaled; train in bf16 or fp32"
            : null;
    }

    /// <summary>The scaler's state (GradScaler.state_dict()): scale, growth_factor, backoff_factor, growth_interval, _growth_tracker.</summary>
    public Dictionary<string, double> StateDict() => new()
    {
        ["scale"] = ScaleValue, ["growth_factor"] = GrowthFactor, ["backoff_factor"] = BackoffFactor,
        ["growth_interval"] = GrowthInterval, ["_growth_tracker"] = GrowthTracker,
    };

    /// <summary>Restores the scale and growth tracker (GradScaler.load_state_dict).</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, double> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ScaleValue = state["scale"];
        GrowthTracker = (int)state["_growth_tracker"];
    }
}
