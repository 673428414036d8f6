namespace DeepSharp.Quantization;

/// <summary>Element type of a quantized tensor (torch.qint8 / torch.quint8).</summary>
public enum QuantDType
{
    /// <summary>Signed 8-bit, full range [-128, 127] (torch.qint8); weights use it.</summary>
    QInt8,
    /// <summary>Unsigned 8-bit, full range [0, 255] (torch.quint8); activations use it.</summary>
    QUInt8,
}

/// <summary>How scales and zero points are chosen and shared (torch.qscheme).</summary>
public enum QScheme
{
    /// <summary>One scale and zero point, range [min, max] (torch.per_tensor_affine).</summary>
    PerTensorAffine,
    /// <summary>One scale, range [-max|x|, max|x|], zero point 0 (qint8) or 128 (quint8) (torch.per_tensor_symmetric).</summary>
    PerTensorSymmetric,
    /// <summary>A scale and zero point per channel (torch.per_channel_affine).</summary>
    PerChannelAffine,
    /// <summary>A symmetric scale per channel (torch.per_channel_symmetric).</summary>
    PerChannelSymmetric,
}

/// <summary>The integer range [Min, Max] quantized values are clamped to (an observer's quant_min / quant_max).</summary>
public readonly record struct QuantRange(int Min, int Max)
{
    /// <summary>
    /// The range an observer uses (torch.ao.quantization.utils.calculate_qmin_qmax): the dtype's full 8-bit range, or with
    /// <paramref name="reduceRange"/> one bit less ([-64, 63] / [0, 127], so that the AVX2 vpmaddubsw pair sum cannot
    /// saturate); a custom [quantMin, quantMax] is halved by <paramref name="reduceRange"/> too, as in PyTorch.
    /// </summary>
    public static QuantRange For(QuantDType dtype, bool reduceRange = false, int? quantMin = null, int? quantMax = null)
    {
        if (quantMin is { } lo && quantMax is { } hi)
        {
            if (lo > 0 || hi < 0) throw new ArgumentException($"QuantRange: the range [{lo}, {hi}] must include 0", nameof(quantMin));
            if (hi - lo + 1 > 256 || hi - lo + 1 <= 0)
                throw new ArgumentException($"QuantRange: the range [{lo}, {hi}] must hold between 1 and 256 values", nameof(quantMin));
            return reduceRange ? new(FloorDiv2(lo), FloorDiv2(hi)) : new(lo, hi);
        }
        if (quantMin != null || quantMax != null) throw new ArgumentException("QuantRange: give both quantMin and quantMax or neither", nameof(quantMin));
        return dtype == QuantDType.QInt8 ? (reduceRange ? new(-64, 63) : new(-128, 127)) : (reduceRange ? new(0, 127) : new(0, 255));
    }

    static int FloorDiv2(int v) => (int)Math.Floor(v / 2.0);

    /// <summary>The full range of a dtype: [-128, 127] or [0, 255].</summary>
    public static QuantRange Full(QuantDType dtype) => For(dtype);
}

/// <summary>Scales and zero points: one of each for per-tensor schemes, one per channel along <see cref="Axis"/> otherwise.</summary>
/// <param name="Scale">Scales (float32 as PyTorch's observers return them).</param>
/// <param name="ZeroPoint">Zero points.</param>
/// <param name="Axis">The channel axis, or -1 for per-tensor.</param>
public sealed record QParams(float[] Scale, long[] ZeroPoint, int Axis = -1)
{
    /// <summary>True when one scale covers the whole tensor.</summary>
    public bool IsPerTensor => Axis < 0;
}

/// <summary>
/// The quantized backend whose default qconfig static quantization and quantization-aware training follow
/// (the <c>backend</c> argument of torch.ao.quantization.get_default_qconfig / get_default_qat_qconfig). The backends
/// differ in the activation range: <see cref="X86"/> and <see cref="Fbgemm"/> observe activations with reduce_range
/// (quint8 [0, 127]) because their kernels on CPUs without VNNI multiply with <c>vpmaddubsw</c>, whose s16 pair sum
/// 255·(128 + 128) would saturate; <see cref="OneDnn"/> uses the full [0, 255]. Weights are per-channel symmetric qint8
/// in all three.
/// </summary>
public enum QuantBackend
{
    /// <summary>get_default_qconfig('x86'): HistogramObserver(reduce_range=True) activations.</summary>
    X86,
    /// <summary>get_default_qconfig('fbgemm'): the same defaults as <see cref="X86"/>.</summary>
    Fbgemm,
    /// <summary>get_default_qconfig('onednn'): HistogramObserver(reduce_range=False) activations.</summary>
    OneDnn,
}

/// <summary>Default quantization configurations per <see cref="QuantBackend"/> (torch.ao.quantization.get_default_qconfig).</summary>
public static class QConfig
{
    /// <summary>
    /// The backend DeepSharp uses when none is given: <see cref="QuantBackend.OneDnn"/> (full-range activations) where the
    /// runtime exposes a VNNI dot product (<c>vpdpbusd</c>, no intermediate saturation), <see cref="QuantBackend.X86"/>
    /// (7-bit activations, as PyTorch's x86/fbgemm default) otherwise, so the int8 kernels run the exact
    /// <c>vpmaddubsw</c> path instead of the s16-widening one. (.NET 10 exposes only the 256-bit AVX-VNNI form, so an
    /// AVX-512-VNNI CPU without AVX-VNNI, such as AMD Zen 4, gets <see cref="QuantBackend.X86"/>.)
    /// </summary>
    public static QuantBackend DefaultBackend => DeepSharp.Kernels.Int8Gemm.IsSupported(DeepSharp.Kernels.Int8GemmPath.AvxVnni) ? QuantBackend.OneDnn : QuantBackend.X86;

    /// <summary>Whether <paramref name="backend"/>'s default qconfig reduces the activation range to [0, 127].</summary>
    public static bool ReducesActivationRange(QuantBackend backend) => backend is QuantBackend.X86 or QuantBackend.Fbgemm;

    /// <summary>The default activation observer of a static qconfig: HistogramObserver, reduce_range as the backend says.</summary>
    public static Func<Observer> ActivationObserver(QuantBackend backend)
    {
        bool reduce = ReducesActivationRange(backend);
        return () => new HistogramObserver(reduceRange: reduce);
    }

    /// <summary>The default activation fake quantizer of a QAT qconfig: MovingAverageMinMaxObserver quint8, reduce_range as
    /// the backend says (get_default_qat_qconfig(backend)).</summary>
    public static FakeQuantize ActivationFakeQuantize(QuantBackend backend) =>
        new(new MovingAverageMinMaxObserver(reduceRange: ReducesActivationRange(backend)));
}
