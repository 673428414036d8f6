using DeepSharp.IO;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Audio.Tests;

/// <summary>What `deepsharp transcribe` is built on: reading any WAV as 16 kHz mono, loading audio models, spectrogram pictures.</summary>
public class SpeechModelsTests
{
    static string Temp(string ext) => Path.Combine(Path.GetTempPath(), $"speech-{Guid.NewGuid():N}{ext}");

    [Fact]
    public void AnyWavIsReadAsSixteenKilohertzMono()
    {
        // 0.5 s of stereo at 8 kHz: left a 440 Hz sine, right its negative plus 0.2, so the mean is a constant 0.1
        int rate = 8000, n = 4000;
        var data = new float[2 * n];
        for (int i = 0; i < n; i++) { float s = 0.5f * MathF.Sin(2 * MathF.PI * 440 * i / rate); data[i] = s; data[n + i] = -s + 0.2f; }
        var path = Temp(".wav");
        WavFile.Write(path, Tensor.FromArray(data, 2, n), rate, WavEncoding.Float32);
        try
        {
            var mono = SpeechModels.ReadMono16k(path);
            Assert.Equal(new[] { 1, 2 * n }, mono.Shape.ToArray());
            var v = mono.ToArray<float>();
            foreach (float x in v[200..^200]) Assert.Equal(0.1f, x, 1e-3f);   // away from the resampler's edges
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void AKeywordModelRoundTripsThroughItsFileAndNamesTheLikeliestWord()
    {
        DeepSharp.Random.Seed(3);
        var model = new KeywordCnn(10, 8);
        model.Eval();
        var path = Temp(".safetensors");
        SafeTensors.Save(path, model.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = "kws", ["deepsharp.width"] = "8" });
        try
        {
            var loaded = Assert.IsType<KeywordCnn>(SpeechModels.Load(path));
            var wave = Tensor.Randn(1, 16000) * 0.1;
            var text = SpeechModels.Transcribe(loaded, wave);
            Tensor probabilities;
            using (Autograd.NoGrad()) probabilities = model.Call(SpeechCorpus.LogMel(wave).Unsqueeze(1)).Softmax(-1).Reshape(-1);
            var p = probabilities.ToArray<float>();
            int best = Array.IndexOf(p, p.Max());
            Assert.StartsWith($"{SpokenDigits.Words[best]} (p = ", text);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ARecognizerTranscribesToDigitWords()
    {
        DeepSharp.Random.Seed(4);
        var model = new CtcRecognizer(40, 16, 1);
        var path = Temp(".safetensors");
        SafeTensors.Save(path, model.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = "ctc", ["deepsharp.hidden"] = "16", ["deepsharp.layers"] = "1" });
        try
        {
            var loaded = Assert.IsType<CtcRecognizer>(SpeechModels.Load(path));
            Assert.False(loaded.IsTraining);
            var text = SpeechModels.Transcribe(loaded, Tensor.Randn(1, 16000) * 0.1, beamWidth: 3);
            foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries)) Assert.Contains(word, SpokenDigits.Words);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BadModelsAndWaveformsAreRefusedByName()
    {
        var path = Temp(".safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(2) });
        try
        {
            var e = Assert.Throws<ArgumentException>(() => SpeechModels.Load(path));
            Assert.Contains("is not an audio model", e.Message);
        }
        finally { File.Delete(path); }
        var wrong = Assert.Throws<ArgumentException>(() => SpeechModels.Transcribe(new KeywordCnn(), Tensor.Zeros(2, 100)));
        Assert.Contains("(1, samples)", wrong.Message);
        Assert.Contains("[2, 100]", wrong.Message);
    }

    [Fact]
    public void SpectrogramPicturesPutLowFrequenciesAtTheBottom()
    {
        // 4 frequency rows × 5 frames; only the lowest row (index 0) is loud
        var spec = Tensor.Full([4, 5], -80f);
        var values = spec.ToArray<float>();
        for (int t = 0; t < 5; t++) values[t] = 0;
        spec = Tensor.FromArray(values, 4, 5);
        var path = Temp(".png");
        SpectrogramImage.Save(spec, path, scale: 2);
        try
        {
            var image = Image.Decode(File.ReadAllBytes(path));
            Assert.Equal((8, 10), (image.Height, image.Width));
            int Brightness(int y) => image[y, 3, 0] + image[y, 3, 1] + image[y, 3, 2];
            Assert.True(Brightness(7) > Brightness(0) + 200, $"bottom {Brightness(7)}, top {Brightness(0)}");
        }
        finally { File.Delete(path); }
        Assert.Contains("(freq, time)", Assert.Throws<ArgumentException>(() => SpectrogramImage.Save(Tensor.Zeros(2, 3, 4), path)).Message);
        var logMel = Temp(".png");
        SpectrogramImage.SaveLogMel(Tensor.Randn(16000) * 0.1, logMel, scale: 1);
        try { Assert.Equal(40, Image.Decode(File.ReadAllBytes(logMel)).Height); }
        finally { File.Delete(logMel); }
    }
}
