using DeepSharp.IO;

namespace DeepSharp.Cli.Tests;

/// <summary>`deepsharp convert` between safetensors and PyTorch .pth files (docs/interop.md).</summary>
public class CliConvertTests
{
    [Fact]
    public void ConvertsBothWaysAndRefusesAMaliciousPickle()
    {
        var dir = CliProcess.TempDir("cli-convert");
        var state = new Dictionary<string, Tensor>
        {
            ["fc.weight"] = Tensor.Randn(3, 4), ["fc.bias"] = Tensor.Randn(3), ["bn.num_batches_tracked"] = Tensor.Scalar(5L, DType.Int64),
        };
        SafeTensors.Save(Path.Combine(dir, "a.safetensors"), state);
        var (code, stdout, stderr) = CliProcess.Run(["convert", "a.safetensors", "a.pth"], dir);
        Assert.True(code == 0, stderr);
        Assert.Contains("a.safetensors (safetensors) -> a.pth: 3 tensors, 16 values", stdout);
        (code, stdout, stderr) = CliProcess.Run(["convert", "a.pth", "b.safetensors"], dir);
        Assert.True(code == 0, stderr);
        Assert.Contains("(pytorch-zip)", stdout);
        var back = SafeTensors.Load(Path.Combine(dir, "b.safetensors"));
        foreach (var (key, value) in state) Assert.Equal(value.To(DType.Float64).ToArray<double>(), back[key].To(DType.Float64).ToArray<double>());

        // a pickle that names os.system: refused at load time with one line, exit 1
        byte[] payload = [0x80, 0x02, .. "cposix\nsystem\n"u8, (byte)'X', 4, 0, 0, 0, .. "true"u8, 0x85, (byte)'R', (byte)'.'];
        File.WriteAllBytes(Path.Combine(dir, "evil.pth"), payload);
        var line = CliProcess.Fails(1, "refused to load 'posix.system'", "convert", Path.Combine(dir, "evil.pth"), Path.Combine(dir, "evil.safetensors"));
        Assert.False(File.Exists(Path.Combine(dir, "evil.safetensors")));
        Assert.DoesNotContain("   at ", line);
        CliProcess.Fails(2, "must end in .safetensors, .pth or .pt", "convert", Path.Combine(dir, "a.pth"), Path.Combine(dir, "a.onnx"));
    }
}
