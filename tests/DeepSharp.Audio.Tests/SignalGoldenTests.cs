using System.Text.Json;

namespace DeepSharp.Audio.Tests;

public class SignalGoldenTests
{
    static Tensor? Hann(JsonElement extra, int nFft) =>
        extra.GetProperty("window").ValueKind == JsonValueKind.Null ? null
        : Spectral.HannWindow(extra.TryGetProperty("win_length", out var w) ? w.GetInt32() : nFft, dtype: DType.Float64);

    static int? OptInt(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
    static bool OptBool(JsonElement e, string key, bool fallback) => e.TryGetProperty(key, out var v) ? v.GetBoolean() : fallback;

    [Theory]
    [InlineData("stft_hann_reflect"), InlineData("stft_default_hop"), InlineData("stft_constant"), InlineData("stft_replicate"),
     InlineData("stft_circular"), InlineData("stft_nocenter_rect"), InlineData("stft_normalized"), InlineData("stft_twosided")]
    public void StftMatchesTorch(string name)
    {
        var e = Golden.Extra(name);
        int nFft = e.GetProperty("n_fft").GetInt32();
        var mode = e.TryGetProperty("pad_mode", out var pm) ? Enum.Parse<PadMode>(pm.GetString()!, ignoreCase: true) : PadMode.Reflect;
        Golden.Check(name, x => Spectral.Stft(x, nFft, OptInt(e, "hop_length"), OptInt(e, "win_length"), Hann(e, nFft),
            OptBool(e, "center", true), mode, OptBool(e, "normalized", false), OptBool(e, "onesided", true)));
    }

    [Theory, InlineData("istft_hann"), InlineData("istft_length")]
    public void IstftMatchesTorch(string name)
    {
        var e = Golden.Extra(name);
        Golden.Check(name, s => Spectral.Istft(s, 16, 4, window: Spectral.HannWindow(16, dtype: DType.Float64), length: OptInt(e, "length")));
    }

    [Fact]
    public void IstftInvertsStft()
    {
        var w = Spectral.HannWindow(16, dtype: DType.Float64);
        Golden.Check("istft_roundtrip", s => Spectral.Istft(Spectral.Stft(s, 16, 4, window: w), 16, 4, window: w, length: 80));
        Golden.AssertClose(Golden.Input("istft_roundtrip", 0), Golden.Output("istft_roundtrip"), 0, 1e-12, "round trip");
    }

    [Theory, InlineData("spectrogram_p2_n0"), InlineData("spectrogram_p2_n1"), InlineData("spectrogram_p1_n0"), InlineData("spectrogram_p1_n1")]
    public void SpectrogramMatchesTorchaudio(string name)
    {
        var e = Golden.Extra(name);
        var sp = new Spectrogram(64, power: e.GetProperty("power").GetDouble(), normalized: e.GetProperty("normalized").GetBoolean());
        Golden.Check(name, w => sp.Call(w));
    }

    [Theory]
    [InlineData("htk", "None"), InlineData("htk", "slaney"), InlineData("slaney", "None"), InlineData("slaney", "slaney")]
    public void MelFilterBankMatchesTorchaudio(string scale, string norm)
    {
        var s = scale == "htk" ? MelScaleKind.Htk : MelScaleKind.Slaney;
        var n = norm == "None" ? MelNorm.None : MelNorm.Slaney;
        Golden.AssertClose(Golden.Output($"fbank_{scale}_{norm}"), Spectral.MelFilterBank(201, 0, 8000, 40, 16000, n, s, DType.Float64), 1e-9, 1e-12, "fbank");
        Golden.AssertClose(Golden.Output($"fbank2_{scale}_{norm}"), Spectral.MelFilterBank(129, 50, 7000, 23, 22050, n, s, DType.Float64), 1e-9, 1e-12, "fbank2");
    }

    [Fact]
    public void MelSpectrogramMatchesTorchaudio()
    {
        Golden.Check("melspectrogram_default", w => new MelSpectrogram().Call(w));
        var slaney = new MelSpectrogram(8000, 256, hopLength: 80, nMels: 32, norm: MelNorm.Slaney, melScale: MelScaleKind.Slaney);
        Golden.Check("melspectrogram_slaney", w => slaney.Call(w));
    }

    [Fact]
    public void FusedMelSpectrogramMatchesTorchaudio()
    {
        // no gradient needed: the fused real-FFT path (FastMel) instead of the recorded STFT
        using var _ = Autograd.NoGrad();
        Golden.AssertClose(Golden.Output("melspectrogram_default"), new MelSpectrogram().Call(Golden.Input("melspectrogram_default", 0)), 1e-7, 1e-9, "fused default");
        var slaney = new MelSpectrogram(8000, 256, hopLength: 80, nMels: 32, norm: MelNorm.Slaney, melScale: MelScaleKind.Slaney);
        Golden.AssertClose(Golden.Output("melspectrogram_slaney"), slaney.Call(Golden.Input("melspectrogram_slaney", 0)), 1e-7, 1e-9, "fused slaney");
    }

    [Theory]
    [InlineData(400, 400, 160, 2.0, true, PadMode.Reflect)]
    [InlineData(512, 300, 128, 1.0, true, PadMode.Constant)]
    [InlineData(96, 90, 33, 2.0, true, PadMode.Replicate)]    // 48 = 4·4·3
    [InlineData(14, 14, 5, 2.0, false, PadMode.Reflect)]      // 7: the generic radix
    [InlineData(50, 50, 7, 0.5, true, PadMode.Circular)]
    [InlineData(66, 66, 16, 2.0, true, PadMode.Reflect)]     // 33 = 3·11: radix 3 and the generic radix in one transform
    [InlineData(4, 4, 1, 1.0, true, PadMode.Reflect)]        // 2: a single radix-2 stage
    public void FusedMelSpectrogramEqualsTheRecordedOne(int nFft, int winLength, int hop, double power, bool center, PadMode padMode)
    {
        var wave = Tensor.Randn([2, 3, 1000], DType.Float64, generator: new Generator(5));
        var mel = new MelSpectrogram(16000, nFft, winLength, hop, nMels: 12, power: power, center: center, padMode: padMode);
        var recorded = mel.Call(wave.Detach().RequiresGrad_()).Detach();      // needs a gradient: the tensor-op path
        Tensor fused;
        using (Autograd.NoGrad()) fused = mel.Call(wave);
        Assert.Equal(recorded.Shape.ToArray(), fused.Shape.ToArray());
        Golden.AssertClose(recorded, fused, 1e-9, 1e-9, $"n_fft {nFft}");
        Tensor fused32;
        using (Autograd.NoGrad()) fused32 = mel.Call(wave.To(DType.Float32));
        Assert.Equal(DType.Float32, fused32.DType);
        AssertFloat32Close(recorded, fused32, $"n_fft {nFft} float32");
    }

    /// <summary>
    /// Float32 result against the float64 reference: |error| ≤ 1e-5·|expected| + 2e-6·max|expected|. Torchaudio's own float32
    /// MelSpectrogram stays within 4e-6 relative and 3e-7 of the frame's largest value of its float64 result (n_fft 256-512, 1 s
    /// of noise): the FFT's rounding error scales with the frame's energy, not with each (possibly tiny) bin.
    /// </summary>
    static void AssertFloat32Close(Tensor expected, Tensor actual, string what)
    {
        double max = expected.Abs().Max().Item();
        Golden.AssertClose(expected, actual, 1e-5, 2e-6 * max, what);
    }

    [Theory]
    [InlineData(400, 400, 160, 2.0, true, PadMode.Reflect)]
    [InlineData(64, 50, 16, 1.0, true, PadMode.Constant)]
    [InlineData(30, 30, 7, 2.0, false, PadMode.Reflect)]      // 15 = 3·5
    public void FusedSpectrogramEqualsTheRecordedOne(int nFft, int winLength, int hop, double power, bool center, PadMode padMode)
    {
        var wave = Tensor.Randn([2, 700], DType.Float64, generator: new Generator(6));
        var sp = new Spectrogram(nFft, winLength, hop, power: power, center: center, padMode: padMode);
        var recorded = sp.Call(wave.Detach().RequiresGrad_()).Detach();      // needs a gradient: the tensor-op path
        Tensor fused, fused32;
        using (Autograd.NoGrad()) { fused = sp.Call(wave); fused32 = sp.Call(wave.To(DType.Float32)); }
        Assert.Equal(recorded.Shape.ToArray(), fused.Shape.ToArray());
        Golden.AssertClose(recorded, fused, 1e-9, 1e-9, $"spectrogram n_fft {nFft}");
        Assert.Equal(DType.Float32, fused32.DType);
        AssertFloat32Close(recorded, fused32, $"spectrogram n_fft {nFft} float32");
    }

    [Fact]
    public void FusedMelSpectrogramInFloat32MatchesTorchaudio()
    {
        // float32 input: the fused path computes in float32 (as torchaudio does) and stays within float32 rounding of the float64 golden
        using var _ = Autograd.NoGrad();
        var mel = new MelSpectrogram();
        var fused = mel.Call(Golden.Input("melspectrogram_default", 0).To(DType.Float32));
        Assert.Equal(DType.Float32, fused.DType);
        AssertFloat32Close(Golden.Output("melspectrogram_default"), fused, "fused float32 default");
        var slaney = new MelSpectrogram(8000, 256, hopLength: 80, nMels: 32, norm: MelNorm.Slaney, melScale: MelScaleKind.Slaney);
        AssertFloat32Close(Golden.Output("melspectrogram_slaney"), slaney.Call(Golden.Input("melspectrogram_slaney", 0).To(DType.Float32)), "fused float32 slaney");
    }

    [Fact]
    public void AmplitudeToDbMatchesTorchaudio()
    {
        Golden.Check("db_power_top80", p => new AmplitudeToDB(topDb: 8.0).Call(p));
        Golden.Check("db_magnitude", p => new AmplitudeToDB(power: false).Call(p));
        Golden.Check("db_2d_top", p => new AmplitudeToDB(topDb: 5.0).Call(p));
    }

    [Fact]
    public void MfccMatchesTorchaudio()
    {
        Golden.Check("mfcc_default", w => new Mfcc().Call(w), 1e-7, 1e-7);
        var mel = new MelSpectrogram(8000, 256, hopLength: 80, nMels: 32);
        Golden.Check("mfcc_logmels", w => new Mfcc(8000, 13, logMels: true, melSpectrogram: mel).Call(w), 1e-7, 1e-7);
        Golden.AssertClose(Golden.Output("dct_ortho"), Spectral.CreateDct(13, 40, true, DType.Float64), 1e-9, 1e-12, "dct ortho");
        Golden.AssertClose(Golden.Output("dct_none"), Spectral.CreateDct(13, 40, false, DType.Float64), 1e-9, 1e-12, "dct none");
    }

    [Theory, InlineData(44100, 16000), InlineData(16000, 22050), InlineData(3, 2), InlineData(8000, 16000)]
    public void ResampleMatchesTorchaudio(int orig, int target) =>
        Golden.Check($"resample_{orig}_{target}", w => Spectral.Resample(w, orig, target));

    [Fact]
    public void ResampleOptionsMatchTorchaudio() =>
        Golden.Check("resample_width3", w => Spectral.Resample(w, 5, 4, lowpassFilterWidth: 3, rolloff: 0.9));
}
