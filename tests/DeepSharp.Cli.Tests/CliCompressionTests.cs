namespace DeepSharp.Cli.Tests;

/// <summary>Bad input to `deepsharp prune`, `distill` and `train --precision` gets one line and exit code 2 (docs/compression.md).</summary>
[Collection(SerialCollection.Name)]
public class CliCompressionTests
{
    [Theory]
    [InlineData("1")]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    public void SparsityOutsideZeroOneIsAUsageError(string sparsity)
    {
        var line = CliProcess.Fails(2, "--sparsity must lie in [0, 1)", "prune", "runs/cnn/model.safetensors", "--sparsity", sparsity);
        Assert.StartsWith("deepsharp prune: ", line);
    }

    [Fact]
    public void MissingArgumentsAreUsageErrors()
    {
        CliProcess.Fails(2, "--sparsity X is required", "prune", "runs/cnn/model.safetensors");
        CliProcess.Fails(2, "give the teacher", "distill", "--student", "small-cnn");
        CliProcess.Fails(2, "--precision", "train", "--model", "mlp", "--precision", "fp8");
    }

    [Fact]
    public void EvaluateRefusesAQuantizedLstmFile()
    {
        // a dynamic-rnn file has no image model to rebuild: evaluate says what it is instead of failing on a missing key
        string path = Path.Combine(Path.GetTempPath(), $"deepsharp-qlstm-{Guid.NewGuid():N}.safetensors");
        try
        {
            DeepSharp.Quantization.QuantizedFile.SaveRecurrent(
                DeepSharp.Quantization.DynamicQuantizedLSTM.FromFloat(new DeepSharp.NN.LSTM(6, 8)), path);
            var line = CliProcess.Fails(2, "is a quantized LSTM/GRU file", "evaluate", path);
            Assert.StartsWith("deepsharp evaluate: ", line);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void PrecisionWithDistributedIsRefused()
    {
        // the mixed-precision trainer would otherwise replace the data-parallel wrapper silently
        CliProcess.Fails(2, "does not take --adversarial, --resume or --precision", "train", "--model", "mlp", "--distributed", "--precision", "bf16");
    }
}
