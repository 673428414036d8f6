using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Compression.Distillation;

/// <summary>Settings of a distillation run: Hinton's temperature and mix, and an optional hint (FitNets) term.</summary>
/// <param name="Temperature">T of the softened softmax.</param>
/// <param name="Alpha">Weight of the soft term; 1 − Alpha weighs the hard-label cross-entropy.</param>
/// <param name="HintWeight">Weight β of the hint loss added to the total (0: no hint term).</param>
/// <param name="StudentHintLayer">Dotted name of the student module whose output is the hint (e.g. "features").</param>
/// <param name="TeacherHintLayer">Dotted name of the teacher module whose output the hint regresses to.</param>
public sealed record DistillationOptions(double Temperature = 4.0, double Alpha = 0.9, double HintWeight = 0,
    string? StudentHintLayer = null, string? TeacherHintLayer = null);

/// <summary>
/// A student trained against a frozen teacher, as a <see cref="Trainer"/> step: <c>new Trainer(distiller, opt,
/// distiller.Step)</c> (the Trainer stays the one training loop). The teacher runs in eval mode without gradients; the
/// loss is <see cref="DistillationLoss.Hinton"/>, plus β times <see cref="DistillationLoss.Hint"/> between the student's
/// hint layer output, passed through <see cref="Regressor"/> (a 1×1 convolution or a linear map onto the teacher's width),
/// and the teacher's. The distiller is the module the trainer optimizes: it owns the student and the regressor, and
/// <c>Call</c> is the student's forward, so evaluation and metrics see the student.
/// </summary>
public sealed class Distiller : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> student;
    [NotRegistered] readonly Module<Tensor, Tensor> teacher;
    Tensor? studentHint, teacherHint;

    /// <summary>Pairs <paramref name="student"/> with <paramref name="teacher"/> (frozen and put in eval mode).</summary>
    public Distiller(Module<Tensor, Tensor> student, Module<Tensor, Tensor> teacher, DistillationOptions? options = null, Module<Tensor, Tensor>? regressor = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        this.student = student;
        this.teacher = teacher;
        Options = options ?? new DistillationOptions();
        teacher.Eval();
        teacher.RequiresGrad(false);
        if (Options.HintWeight > 0)
        {
            if (Options.StudentHintLayer == null || Options.TeacherHintLayer == null)
                throw new ArgumentException("Distiller: a hint weight needs StudentHintLayer and TeacherHintLayer", nameof(options));
            student.GetSubmodule(Options.StudentHintLayer).RegisterForwardHook((_, _, output) => { studentHint = output as Tensor; });
            teacher.GetSubmodule(Options.TeacherHintLayer).RegisterForwardHook((_, _, output) => { teacherHint = output as Tensor; });
            if (regressor != null) RegisterModule("regressor", regressor);
        }
    }

    /// <summary>The settings.</summary>
    public DistillationOptions Options { get; }

    /// <summary>The student being trained.</summary>
    public Module<Tensor, Tensor> Student => student;

    /// <summary>The map from the student's hint feature to the teacher's, when one was given.</summary>
    public Module<Tensor, Tensor>? Regressor => GetSubmoduleOrNull("regressor");

    Module<Tensor, Tensor>? GetSubmoduleOrNull(string name) =>
        NamedChildren().FirstOrDefault(c => c.Name == name).Module as Module<Tensor, Tensor>;

    /// <summary>The student's forward.</summary>
    public override Tensor Forward(Tensor input) => student.Call(input);

    /// <summary>
    /// The Trainer step: teacher logits without gradients, student logits, the distillation loss; the student's output
    /// feeds the metrics. In validation it returns the student's plain cross-entropy.
    /// </summary>
    public Tensor? Step(StepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var studentLogits = Call(context.Input);
        context.UpdateMetrics(studentLogits, context.Target);
        if (!context.IsTraining) return F.CrossEntropy(studentLogits, context.Target);
        Tensor teacherLogits;
        using (Autograd.NoGrad()) teacherLogits = teacher.Call(context.Input);
        var loss = DistillationLoss.Hinton(studentLogits, teacherLogits, context.Target, Options.Temperature, Options.Alpha);
        if (Options.HintWeight > 0)
        {
            var s = Regressor is { } r ? r.Call(studentHint!) : studentHint!;
            var hint = DistillationLoss.Hint(s, teacherHint!);
            context.Log("hint", hint);
            loss = loss + hint * Options.HintWeight;
        }
        return loss;
    }
}
