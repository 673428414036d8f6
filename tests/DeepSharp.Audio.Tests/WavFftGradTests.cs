namespace DeepSharp.Audio.Tests;

public class WavFftGradTests
{
    [Theory, InlineData(WavEncoding.Pcm16, 1.0 / 32768), InlineData(WavEncoding.Pcm24, 1.0 / 8388608), InlineData(WavEncoding.Pcm32, 1e-9), InlineData(WavEncoding.Float32, 0)]
    public void WavRoundTripsEveryEncodingAndChannelCount(WavEncoding encoding, double step)
    {
        foreach (int channels in new[] { 1, 3 })
        {
            var wave = (Tensor.Rand([channels, 257], generator: new Generator(channels)) * 1.8 - 0.9);
            var bytes = WavFile.Encode(wave, 22050, encoding);
            var (back, rate) = WavFile.Decode(bytes);
            Assert.Equal(22050, rate);
            Golden.AssertClose(wave, back, 0, step + 1e-7, $"{encoding} x{channels}");
        }
    }

    [Fact]
    public void WavClipsPcmAndReadsFiles()
    {
        var path = Path.Combine(Path.GetTempPath(), $"deepsharp-wav-{Guid.NewGuid():N}.wav");
        try
        {
            WavFile.Write(path, Tensor.FromArray(new float[] { 2f, -2f, 0.5f }, [3]), 8000);
            var (w, rate) = WavFile.Read(path);
            Assert.Equal(8000, rate);
            Assert.Equal([1, 3], w.Shape);
            Assert.Equal([32767 / 32768f, -1f, 0.5f], w.ToArray<float>());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void MalformedHeadersGiveClearErrors()
    {
        var good = WavFile.Encode(Tensor.Zeros(2, 10), 16000);
        Assert.Contains("RIFF", Assert.Throws<InvalidDataException>(() => WavFile.Decode(good.AsSpan(0, 8))).Message);
        var badFormat = (byte[])good.Clone(); badFormat[20] = 2;   // ADPCM
        Assert.Contains("unsupported sample format", Assert.Throws<InvalidDataException>(() => WavFile.Decode(badFormat)).Message);
        var badAlign = (byte[])good.Clone(); badAlign[32] = 3;
        Assert.Contains("block align", Assert.Throws<InvalidDataException>(() => WavFile.Decode(badAlign)).Message);
        Assert.Contains("no 'data' chunk", Assert.Throws<InvalidDataException>(() => WavFile.Decode(good.AsSpan(0, 36))).Message);
        Assert.Throws<ArgumentException>(() => WavFile.Encode(Tensor.Zeros(2, 2, 2), 16000));
    }

    [Theory, InlineData(1), InlineData(2), InlineData(8), InlineData(15), InlineData(400), InlineData(1024), InlineData(97)]
    public void FftMatchesTheDefinitionAndInverts(int n)
    {
        var rng = new System.Random(n);
        var re = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var im = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var (fr, fi) = ((double[])re.Clone(), (double[])im.Clone());
        Fft.Forward(fr, fi);
        for (int k = 0; k < n; k += Math.Max(1, n / 7))
        {
            double sr = 0, si = 0;
            for (int j = 0; j < n; j++)
            {
                double a = -2 * Math.PI * ((long)j * k % n) / n;
                sr += re[j] * Math.Cos(a) - im[j] * Math.Sin(a); si += re[j] * Math.Sin(a) + im[j] * Math.Cos(a);
            }
            Assert.Equal(sr, fr[k], 9); Assert.Equal(si, fi[k], 9);
        }
        Fft.Inverse(fr, fi);
        for (int j = 0; j < n; j++) { Assert.Equal(re[j], fr[j], 10); Assert.Equal(im[j], fi[j], 10); }
    }

    [Fact]
    public void StftIstftAndMelPassGradCheck()
    {
        var x = Tensor.Randn([1, 40], DType.Float64, generator: new Generator(1)).RequiresGrad_();
        var w = Spectral.HannWindow(8, dtype: DType.Float64);
        Assert.True(GradCheck.Check(a => Spectral.Stft(a[0], 8, 2, window: w), [x]));
        var spec = Tensor.Randn([5, 6, 2], DType.Float64, generator: new Generator(2)).RequiresGrad_();
        Assert.True(GradCheck.Check(a => Spectral.Istft(a[0], 8, 2, window: w), [spec]));
        var mel = new MelSpectrogram(8000, 16, hopLength: 4, nMels: 5);
        Assert.True(GradCheck.Check(a => mel.Call(a[0]), [x]));
        Assert.True(GradCheck.Check(a => new Mfcc(8000, 4, melSpectrogram: mel).Call(a[0]), [x], atol: 1e-4));
        Assert.True(GradCheck.Check(a => Spectral.Resample(a[0], 5, 3), [x]));
    }

    [Fact]
    public void MaskingZeroesOneBandOnlyInTraining()
    {
        var spec = Tensor.Ones(2, 10, 50);
        var masking = new TimeMasking(20, generator: new Generator(5));
        var masked = masking.Call(spec).ToArray<float>();
        var zeroColumns = Enumerable.Range(0, 50).Where(t => masked[t] == 0).ToArray();
        Assert.InRange(zeroColumns.Length, 0, 20);
        if (zeroColumns.Length > 0) Assert.Equal(zeroColumns.Length - 1, zeroColumns[^1] - zeroColumns[0]);   // one contiguous band
        for (int b = 0; b < 2; b++) for (int f = 0; f < 10; f++) for (int t = 0; t < 50; t++)
            Assert.Equal(masked[t], masked[(b * 10 + f) * 50 + t]);
        var freq = new FrequencyMasking(10, iidMasks: true, generator: new Generator(6));
        Assert.Equal([2, 10, 50], freq.Call(spec).Shape);
        masking.Eval();
        Assert.Same(spec, masking.Call(spec));
        Assert.Throws<ArgumentException>(() => Spectral.MaskAlongAxis(spec, 5, 0));
    }
}
