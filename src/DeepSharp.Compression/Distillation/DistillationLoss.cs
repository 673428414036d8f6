using DeepSharp.NN;

namespace DeepSharp.Compression.Distillation;

/// <summary>
/// Knowledge-distillation losses. PyTorch has no built-in; the formulas are those of Hinton et al. 2015 ("Distilling the
/// Knowledge in a Neural Network") as PyTorch's knowledge-distillation tutorial writes them with torch.nn.functional, and
/// of Romero et al. 2015 (FitNets) for hints.
/// </summary>
public static class DistillationLoss
{
    /// <summary>
    /// Hinton's loss: α · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α) · CE(student, target), i.e.
    /// <c>alpha * F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") * T * T + (1 - alpha) *
    /// F.cross_entropy(s, y)</c>. The T² keeps the soft term's gradient on the scale of the hard one as T grows. The
    /// teacher's logits are detached. Logits are (N, C), targets (N) class indices.
    /// </summary>
    public static Tensor Hinton(Tensor studentLogits, Tensor teacherLogits, Tensor target, double temperature = 4.0, double alpha = 0.9)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(target);
        if (studentLogits.Rank != 2 || !studentLogits.Shape.SequenceEqual(teacherLogits.Shape))
            throw new ArgumentException($"DistillationLoss.Hinton: student logits {Fmt(studentLogits)} and teacher logits {Fmt(teacherLogits)} must both be (N, C)", nameof(teacherLogits));
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "DistillationLoss.Hinton: the temperature must be positive");
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "DistillationLoss.Hinton: alpha must lie in [0, 1]");
        var soft = Soft(studentLogits, teacherLogits, temperature);
        if (alpha == 1) return soft;
        var hard = F.CrossEntropy(studentLogits, target);
        return alpha == 0 ? hard : soft * alpha + hard * (1 - alpha);
    }

    /// <summary>The soft term alone: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), batch-mean.</summary>
    public static Tensor Soft(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        var teacherLog = (teacherLogits.Detach() / temperature).LogSoftmax(1);
        var studentLog = (studentLogits / temperature).LogSoftmax(1);
        return F.KLDivLoss(studentLog, teacherLog, Reduction.BatchMean, logTarget: true) * (temperature * temperature);
    }

    /// <summary>
    /// FitNets' hint loss: the mean squared error between the (regressed) student feature and the detached teacher feature
    /// (F.mse_loss(regressor(s), t.detach())). Shapes must agree after the regressor.
    /// </summary>
    public static Tensor Hint(Tensor studentFeature, Tensor teacherFeature)
    {
        ArgumentNullException.ThrowIfNull(studentFeature);
        ArgumentNullException.ThrowIfNull(teacherFeature);
        if (!studentFeature.Shape.SequenceEqual(teacherFeature.Shape))
            throw new ArgumentException($"DistillationLoss.Hint: the student feature {Fmt(studentFeature)} (after the regressor) and the teacher feature {Fmt(teacherFeature)} differ", nameof(studentFeature));
        return F.MseLoss(studentFeature, teacherFeature.Detach());
    }

    static string Fmt(Tensor t) => "(" + string.Join(", ", t.Shape.ToArray()) + ")";
}
