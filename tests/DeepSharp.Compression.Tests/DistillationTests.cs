using DeepSharp.Compression.Distillation;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Compression.Tests;

public class DistillationTests
{
    static System.Text.Json.JsonElement C(string name) => GoldenFile.Case("distillation", name);

    [Theory]
    [InlineData("t4_a09")]
    [InlineData("t1_a05")]
    [InlineData("t8_a1")]
    [InlineData("t2_a0")]
    [InlineData("t3_a03")]
    public void HintonLossAndGradientMatchTorch(string name)
    {
        var c = C(name);
        var s = GoldenFile.Tensor(c, "s"); s.RequiresGrad = true;
        var t = GoldenFile.Tensor(c, "t");
        var y = GoldenFile.Tensor(c, "y").To(DType.Int64);
        double T = c.GetProperty("T").GetDouble(), alpha = c.GetProperty("alpha").GetDouble();
        var loss = DistillationLoss.Hinton(s, t, y, T, alpha);
        Assert.Equal(c.GetProperty("loss").GetDouble(), loss.Item(), 1e-10);
        loss.Backward();
        GoldenFile.AssertClose(GoldenFile.Tensor(c, "grad"), s.Grad!, 1e-9, 1e-12, "grad");
        Assert.True(GradCheck.Check(x => DistillationLoss.Hinton(x[0], t, y, T, alpha), [s.Detach().Clone().RequiresGrad_()]));
    }

    [Fact]
    public void HintLossMatchesTorchAndBadInputThrows()
    {
        var c = C("hint");
        var s = GoldenFile.Tensor(c, "s"); s.RequiresGrad = true;
        var loss = DistillationLoss.Hint(s, GoldenFile.Tensor(c, "t"));
        Assert.Equal(c.GetProperty("loss").GetDouble(), loss.Item(), 1e-10);
        loss.Backward();
        GoldenFile.AssertClose(GoldenFile.Tensor(c, "grad"), s.Grad!, 1e-9, 1e-12, "grad");
        Assert.Throws<ArgumentException>(() => DistillationLoss.Hint(Tensor.Zeros(2, 3), Tensor.Zeros(2, 4)));
        Assert.Throws<ArgumentException>(() => DistillationLoss.Hinton(Tensor.Zeros(2, 3), Tensor.Zeros(2, 4), Tensor.Zeros([2], DType.Int64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DistillationLoss.Hinton(Tensor.Zeros(2, 3), Tensor.Zeros(2, 3), Tensor.Zeros([2], DType.Int64), temperature: 0));
    }

    [Fact]
    public void TrainerStepTrainsTheStudentWithHintsAndLeavesTheTeacherAlone()
    {
        var teacher = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 3));
        var student = new Sequential(new Linear(8, 4), new ReLU(), new Linear(4, 3));
        var teacherBefore = teacher.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var distiller = new Distiller(student, teacher, new DistillationOptions(Temperature: 2, Alpha: 0.7, HintWeight: 0.5,
            StudentHintLayer: "1", TeacherHintLayer: "1"), regressor: new Linear(4, 16));
        Assert.Contains("regressor.weight", distiller.StateDict().Keys);
        Assert.DoesNotContain(distiller.StateDict().Keys, k => k.StartsWith("teacher"));
        var x = Tensor.Randn(64, 8);
        var y = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 3)).ToArray(), 64);
        var loader = new DataLoader(new TensorDataset(x, y), batchSize: 16);
        var trainer = new Trainer(distiller, new Adam(distiller.Parameters(), lr: 1e-2), distiller.Step);
        var studentBefore = ((Linear)student[0]).Weight.Clone();
        trainer.Fit(loader, epochs: 2);
        Assert.True(trainer.History[^1].ContainsKey("hint"));
        Assert.NotEqual(studentBefore.ToArray<float>(), ((Linear)student[0]).Weight.ToArray<float>());
        foreach (var (k, v) in teacher.StateDict()) Assert.Equal(teacherBefore[k].ToArray<float>(), v.ToArray<float>());
        Assert.False(teacher.IsTraining);
    }
}
