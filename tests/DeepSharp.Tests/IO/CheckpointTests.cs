using DeepSharp.IO;

namespace DeepSharp.Tests.IO;

public class CheckpointTests
{
    [Fact]
    public void RoundTripKeepsEverythingIncludingRngState()
    {
        using var dir = new TempDir();
        string path = dir.File("ckpt.safetensors");
        DeepSharp.Random.Seed(2024);
        _ = Tensor.Randn(7);   // move the stream, including a cached normal
        var model = new Dictionary<string, Tensor> { ["fc1.weight"] = Tensor.Randn(4, 3), ["fc1.bias"] = Tensor.Zeros(4), ["bn.num_batches_tracked"] = Tensor.Scalar(5, DType.Int64) };
        var optim = new Dictionary<string, Tensor> { ["state.0.exp_avg"] = Tensor.Randn(4, 3, DType.Float64) };
        var scalars = new Dictionary<string, double> { ["param_groups.0.lr"] = 1e-3, ["state.0.step"] = 12, ["odd"] = double.NaN, ["inf"] = double.NegativeInfinity };
        var scheduler = new Dictionary<string, double> { ["last_epoch"] = 3, ["base_lrs.0"] = 0.1 };
        Checkpoint.Save(path, model, optim, scalars, scheduler, epoch: 3, step: 120, metadata: new Dictionary<string, string> { ["arch"] = "mlp" });
        var expectedNext = Tensor.Randn(5).ToArray<float>();

        _ = Tensor.Rand(100);   // diverge
        var loaded = Checkpoint.Load(path);
        Assert.Equal(3, loaded.Epoch);
        Assert.Equal(120, loaded.Step);
        Assert.Equal("mlp", loaded.Metadata["arch"]);
        Assert.Equal(model.Keys, loaded.Model.Keys);
        foreach (var (k, v) in model) TestUtil.AssertClose(v, loaded.Model[k], 0, 0, k);
        Assert.Equal(DType.Int64, loaded.Model["bn.num_batches_tracked"].DType);
        TestUtil.AssertClose(optim["state.0.exp_avg"], loaded.OptimizerState["state.0.exp_avg"], 0, 0);
        Assert.Equal(DType.Float64, loaded.OptimizerState["state.0.exp_avg"].DType);
        Assert.Equal(1e-3, loaded.OptimizerScalars["param_groups.0.lr"]);
        Assert.True(double.IsNaN(loaded.OptimizerScalars["odd"]));
        Assert.Equal(double.NegativeInfinity, loaded.OptimizerScalars["inf"]);
        Assert.Equal(scheduler, loaded.SchedulerState);

        loaded.RestoreRngState();
        Assert.Equal(expectedNext, Tensor.Randn(5).ToArray<float>());

        // the weights are plain safetensors entries under "model." for PyTorch's safetensors
        var raw = SafeTensors.LoadWithMetadata(path);
        Assert.Contains("model.fc1.weight", raw.Tensors.Keys);
        Assert.Contains("optim.state.0.exp_avg", raw.Tensors.Keys);
        Assert.Equal("pt", raw.Metadata["format"]);
    }

    [Fact]
    public void CorruptOrForeignFilesGiveClearErrors()
    {
        using var dir = new TempDir();
        string path = dir.File("ckpt.safetensors");
        Checkpoint.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(10, 10) }, epoch: 1);
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("model.w", e.Message);

        File.WriteAllBytes(path, bytes[..3]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(1) });
        Assert.Contains("not a DeepSharp checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);

        Assert.Throws<InvalidOperationException>(() => new Checkpoint().RestoreRngState());
    }
}
