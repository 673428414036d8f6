using DeepSharp.NN;

namespace DeepSharp.Quantization.Tests;

public class QuantizedRnnFileTests
{
    static string TempFile() => Path.Combine(Path.GetTempPath(), $"deepsharp-qrnn-{Guid.NewGuid():N}.safetensors");

    static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
    }

    [Theory]
    [InlineData(1, false, false, false)]
    [InlineData(2, true, true, true)]
    public void LstmRoundTripsThroughTheFile(int layers, bool bidirectional, bool batchFirst, bool perChannel)
    {
        DeepSharp.Random.Seed(11);
        var lstm = new LSTM(24, 32, layers, bidirectional: bidirectional, batchFirst: batchFirst);
        var q = DynamicQuantizedLSTM.FromFloat(lstm, perChannel);
        var path = TempFile();
        try
        {
            QuantizedFile.SaveRecurrent(q, path, new Dictionary<string, string> { ["note"] = "kept" });
            var meta = RawSafeTensors.ReadMetadata(path);
            Assert.Equal("lstm", meta["deepsharp.quantized.rnn"]);
            Assert.Equal("kept", meta["note"]);
            var (tensors, _) = RawSafeTensors.Load(path);
            Assert.Equal("I8", tensors["weight_ih_l0"].DType);
            Assert.Equal([128, 24], tensors["weight_ih_l0"].Shape);
            Assert.Equal(perChannel ? 128 : 1, tensors["weight_hh_l0_scale"].Shape[0]);
            if (bidirectional) Assert.True(tensors.ContainsKey("weight_ih_l1_reverse"));

            var loaded = QuantizedFile.LoadLstm(path);
            Assert.Equal(q.Core.BatchFirst, loaded.Core.BatchFirst);
            Assert.Equal(q.Core.ReduceRange, loaded.Core.ReduceRange);
            var x = batchFirst ? Tensor.Randn(3, 6, 24) : Tensor.Randn(6, 3, 24);
            var (y0, (h0, c0)) = q.Call(x);
            var (y1, (h1, c1)) = loaded.Call(x);
            AssertSame(y0, y1); AssertSame(h0, h1); AssertSame(c0, c1);
            // int8 weights: the file is well under half the float parameters' size (float biases and per-row scales stay)
            long floatBytes = lstm.Parameters().Sum(p => (long)p.NumEl * 4);
            Assert.True(new FileInfo(path).Length < floatBytes * 0.4, $"file {new FileInfo(path).Length} B vs float {floatBytes} B");
            Assert.Throws<InvalidDataException>(() => QuantizedFile.LoadGru(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void GruRoundTripsThroughTheFile()
    {
        DeepSharp.Random.Seed(12);
        var gru = new GRU(4, 6, 2, bidirectional: true);
        var q = DynamicQuantizedGRU.FromFloat(gru);
        var path = TempFile();
        try
        {
            QuantizedFile.SaveRecurrent(q, path);
            var loaded = QuantizedFile.LoadGru(path);
            var x = Tensor.Randn(5, 2, 4);
            var (y0, h0) = q.Call(x);
            var (y1, h1) = loaded.Call(x);
            AssertSame(y0, y1); AssertSame(h0, h1);
            Assert.Throws<InvalidDataException>(() => QuantizedFile.LoadLstm(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void OtherFilesAreRefused()
    {
        var path = TempFile();
        try
        {
            RawSafeTensors.Save(path, new Dictionary<string, RawTensor> { ["w"] = RawTensor.F32([1f], 1) }, new Dictionary<string, string>());
            var e = Assert.Throws<InvalidDataException>(() => QuantizedFile.LoadLstm(path));
            Assert.Contains("LSTM/GRU", e.Message);
        }
        finally { File.Delete(path); }
    }
}
