namespace DeepSharp.Training;

/// <summary>
/// How long <see cref="Trainer.Fit(IEnumerable{Tensor[]}, IEnumerable{Tensor[]}?, TrainingBudget, IEnumerable{Callbacks.ICallback}?)"/>
/// may train: optimizer steps, epochs, seconds of training, or any mix (whichever ends first). The limits count the
/// whole run, so a run resumed from a checkpoint goes on to the same end. A budget of steps or epochs repeats exactly;
/// a time budget is what makes two models comparable on one machine. (Lightning's <c>Trainer(max_steps=, max_epochs=,
/// max_time=)</c>; nanoGPT's <c>max_iters</c>.)
/// </summary>
public sealed record TrainingBudget
{
    /// <summary>Most optimizer steps (<see cref="Trainer.GlobalStep"/>); null for no step limit.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Most epochs (<see cref="Trainer.Epoch"/>); null for no epoch limit.</summary>
    public int? MaxEpochs { get; init; }

    /// <summary>Most seconds of training (<see cref="Trainer.TrainingSeconds"/>: validation excluded); null for no time limit.</summary>
    public double? MaxSeconds { get; init; }

    /// <summary>A budget of <paramref name="steps"/> optimizer steps.</summary>
    public static TrainingBudget Steps(long steps) => new() { MaxSteps = steps };

    /// <summary>A budget of <paramref name="epochs"/> epochs.</summary>
    public static TrainingBudget Epochs(int epochs) => new() { MaxEpochs = epochs };

    /// <summary>A budget of <paramref name="seconds"/> seconds of training.</summary>
    public static TrainingBudget Seconds(double seconds) => new() { MaxSeconds = seconds };

    /// <summary>
    /// The fraction of the budget used after <paramref name="steps"/> steps, <paramref name="epochs"/> epochs (fractional
    /// within an epoch) and <paramref name="seconds"/> seconds: the largest of the fractions of the limits set, 0 to 1.
    /// </summary>
    public double Used(long steps, double epochs, double seconds) =>
        Math.Clamp(Math.Max(Math.Max(MaxSteps is long s ? (double)steps / s : 0, MaxEpochs is int e ? epochs / e : 0),
                            MaxSeconds is double t ? seconds / t : 0), 0, 1);

    /// <summary>Throws when no limit is set or a limit is not positive.</summary>
    public void Validate()
    {
        if (MaxSteps is null && MaxEpochs is null && MaxSeconds is null)
            throw new ArgumentException("TrainingBudget: set MaxSteps, MaxEpochs, MaxSeconds or several", "budget");
        if (MaxSteps is < 1) throw new ArgumentOutOfRangeException("budget", $"TrainingBudget: MaxSteps must be at least 1, got {MaxSteps}");
        if (MaxEpochs is < 1) throw new ArgumentOutOfRangeException("budget", $"TrainingBudget: MaxEpochs must be at least 1, got {MaxEpochs}");
        if (MaxSeconds is double t && !(t > 0 && !double.IsPositiveInfinity(t)))
            throw new ArgumentOutOfRangeException("budget", $"TrainingBudget: MaxSeconds must be a positive number of seconds, got {t}");
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Join(" / ", new[] { MaxSteps is long s ? $"{s} steps" : null, MaxEpochs is int e ? $"{e} epochs" : null,
                                   MaxSeconds is double t ? $"{t:G4} s" : null }.OfType<string>());
}
