using DeepSharp.NN;
using Microsoft.ML.OnnxRuntime;

namespace DeepSharp.Onnx.Tests;

/// <summary>Runs an exported file in ONNX Runtime (CPU provider) and compares it with DeepSharp.</summary>
internal static class OrtRunner
{
    /// <summary>Runs <paramref name="onnx"/> on <paramref name="input"/> and returns the one output and its shape.</summary>
    public static (float[] Values, long[] Shape) Run(byte[] onnx, Tensor input, string inputName = "input", string outputName = "output")
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(onnx, options);
        var shape = input.Shape.Select(d => (long)d).ToArray();
        using var value = input.DType == DType.Int64 ? OrtValue.CreateTensorValueFromMemory(input.ToArray<long>(), shape)
            : OrtValue.CreateTensorValueFromMemory(input.ToArray<float>(), shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new Dictionary<string, OrtValue> { [inputName] = value }, [outputName]);
        var output = outputs[0];
        return (output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    /// <summary>
    /// Exports <paramref name="model"/> on a sample of batch <paramref name="sampleBatch"/>, then checks ONNX Runtime against
    /// DeepSharp's eval-mode forward at each of <paramref name="batches"/>. Returns the largest relative error seen.
    /// </summary>
    public static double ExportAndCompare(Module<Tensor, Tensor> model, int[] itemShape, int sampleBatch = 2, int[]? batches = null,
        double rtol = 1e-5, double atol = 1e-5, Func<int[], Tensor>? makeInput = null, [System.Runtime.CompilerServices.CallerMemberName] string name = "") =>
        ExportAndCompare(model, model.Call, itemShape, sampleBatch, batches, rtol, atol, makeInput, name);

    /// <summary>As above for a module whose forward is <paramref name="forward"/> (a recurrent layer's output sequence).</summary>
    public static double ExportAndCompare(Module model, Func<Tensor, Tensor> forward, int[] itemShape, int sampleBatch, int[]? batches,
        double rtol, double atol, Func<int[], Tensor>? makeInput, string name)
    {
        model.Eval();
        var sample = makeInput?.Invoke([sampleBatch, .. itemShape]) ?? Tensor.Randn([sampleBatch, .. itemShape]);
        var bytes = OnnxExport.ToBytes(model, sample);
        Dump(bytes, name);
        double worst = 0;
        foreach (int batch in batches ?? [1, 5])
        {
            var x = makeInput?.Invoke([batch, .. itemShape]) ?? Tensor.Randn([batch, .. itemShape]);
            Tensor expected;
            using (Autograd.NoGrad()) expected = forward(x);
            var (actual, shape) = Run(bytes, x);
            Assert.Equal(expected.Shape.Select(d => (long)d), shape);
            worst = Math.Max(worst, AssertClose(expected.ToArray<float>(), actual, rtol, atol));
        }
        return worst;
    }

    /// <summary>
    /// With DEEPSHARP_ONNX_DUMP=DIR set, keeps each exported file as DIR/NAME.onnx for tools/onnx/check_onnx.py
    /// (onnx.checker); the tests never need Python.
    /// </summary>
    static void Dump(byte[] bytes, string name)
    {
        var directory = Environment.GetEnvironmentVariable("DEEPSHARP_ONNX_DUMP");
        if (string.IsNullOrEmpty(directory)) return;
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, name + ".onnx"), bytes);
    }

    /// <summary>|actual − expected| ≤ atol·max|expected| + rtol·|expected| elementwise; returns the largest |diff| / max|expected|.</summary>
    public static double AssertClose(float[] expected, float[] actual, double rtol, double atol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-30, expected.Max(v => Math.Abs((double)v)));
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            worst = Math.Max(worst, diff / scale);
            if (diff > atol * scale + rtol * Math.Abs(expected[i]))
                Assert.Fail($"element {i}: ONNX Runtime {actual[i]} vs DeepSharp {expected[i]} (|diff| {diff:G3}, max|expected| {scale:G3})");
        }
        return worst;
    }

    /// <summary>Runs a few training-mode batches so batch norm's running statistics are not the initial 0 and 1.</summary>
    public static void WarmBatchNorm(Module<Tensor, Tensor> model, int[] itemShape)
    {
        model.Train();
        using (Autograd.NoGrad())
            for (int i = 0; i < 3; i++) model.Call(Tensor.Randn([8, .. itemShape]) * 2 + 0.5);
        model.Eval();
    }
}
