using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace DeepSharp;

/// <summary>
/// The float16/bfloat16 storage dtypes: vectorised conversions to and from float32 (round to nearest even, bit-exact
/// with PyTorch's casts) and the compute-in-float32-round-once wrapper that 16-bit ops use, like PyTorch's CPU kernels.
/// </summary>
internal static class ReducedFloat
{
    /// <summary>float32 → bfloat16 bits, round to nearest even; NaN keeps its sign and payload top bits, made quiet.</summary>
    public static ushort SingleToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Narrows float32 values to bfloat16 (8 lanes at a time where AVX2 is there).</summary>
    public static void ToBFloat16(ReadOnlySpan<float> src, Span<BFloat16> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("internal: destination too short");
        var s = MemoryMarshal.Cast<float, uint>(src);
        var d = MemoryMarshal.Cast<BFloat16, ushort>(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1u);
            var bias = Vector256.Create(0x7FFFu);
            var quiet = Vector256.Create(0x00400000u);
            for (; i + 16 <= s.Length; i += 16)
            {
                var lo = Round(Vector256.Create<uint>(s.Slice(i, 8)), one, bias, quiet);
                var hi = Round(Vector256.Create<uint>(s.Slice(i + 8, 8)), one, bias, quiet);
                Vector256.Narrow(lo, hi).CopyTo(d.Slice(i, 16));
            }
        }
        for (; i < s.Length; i++) d[i] = SingleToBFloat16Bits(BitConverter.UInt32BitsToSingle(s[i]));

        static Vector256<uint> Round(Vector256<uint> bits, Vector256<uint> one, Vector256<uint> bias, Vector256<uint> quiet)
        {
            var rounded = (bits + bias + ((bits >> 16) & one)) >> 16;
            var f = bits.AsSingle();
            var nan = ~Vector256.Equals(f, f).AsUInt32();
            return Vector256.ConditionalSelect(nan, (bits | quiet) >> 16, rounded);
        }
    }

    /// <summary>Widens bfloat16 values to float32 exactly.</summary>
    public static void FromBFloat16(ReadOnlySpan<BFloat16> src, Span<float> dst)
    {
        var s = MemoryMarshal.Cast<BFloat16, ushort>(src);
        var d = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= s.Length; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create<ushort>(s.Slice(i, 16)));
                (lo << 16).CopyTo(d.Slice(i, 8));
                (hi << 16).CopyTo(d.Slice(i + 8, 8));
            }
        }
        for (; i < s.Length; i++) d[i] = (uint)s[i] << 16;
    }

    /// <summary>Narrows float32 values to float16, round to nearest even.</summary>
    public static void ToHalf(ReadOnlySpan<float> src, Span<Half> dst) => TensorPrimitives.ConvertToHalf(src, dst);

    /// <summary>Widens float16 values to float32 exactly.</summary>
    public static void FromHalf(ReadOnlySpan<Half> src, Span<float> dst) => TensorPrimitives.ConvertToSingle(src, dst);

    /// <summary>A contiguous float32 copy of a 16-bit tensor (no graph recording).</summary>
    public static Tensor Widen(Tensor t)
    {
        var c = t.IsContiguous ? t : Tensor.CopyToContiguous(t);
        var result = Tensor.AllocUninit(DType.Float32, t.shape);
        if (t.DType == DType.Float16) FromHalf(c.Span<Half>(), result.Span<float>());
        else FromBFloat16(c.Span<BFloat16>(), result.Span<float>());
        return result;
    }

    /// <summary>A contiguous 16-bit copy of a float32 tensor, rounded once (no graph recording).</summary>
    public static Tensor Narrow(Tensor t, DType dtype)
    {
        var c = t.IsContiguous ? t : Tensor.CopyToContiguous(t);
        var result = Tensor.AllocUninit(dtype, t.shape);
        if (dtype == DType.Float16) ToHalf(c.Span<float>(), result.Span<Half>());
        else ToBFloat16(c.Span<float>(), result.Span<BFloat16>());
        return result;
    }

    /// <summary>
    /// Runs a float32 op on 16-bit inputs the way PyTorch's CPU does for reduced floating types: the inputs are widened
    /// to float32 (exact), the op computes and accumulates in float32, and the output is rounded once to the inputs'
    /// dtype. The casts are recorded, so gradients flow back in float32 and are rounded once into 16-bit gradients.
    /// </summary>
    public static Tensor Apply(Tensor x, Func<Tensor, Tensor> op)
    {
        var dtype = x.DType;
        return op(x.To(DType.Float32)).To(dtype);
    }

    /// <summary>The same for ops of several tensor inputs; the output dtype is the 16-bit dtype the inputs share.</summary>
    public static Tensor Apply(string opName, Tensor?[] inputs, Func<Tensor?[], Tensor> op)
    {
        DType? dtype = null;
        foreach (var t in inputs)
        {
            if (t == null) continue;
            if (dtype == null) dtype = t.DType;
            else if (dtype != t.DType)
                throw new ArgumentException($"{opName}: expected all inputs of dtype {dtype.Value.TorchName()}, got {t.DType.TorchName()} " +
                    "(mixing 16-bit and other float dtypes needs an explicit To(), as in PyTorch)");
        }
        var wide = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) wide[i] = inputs[i]?.To(DType.Float32);
        return op(wide).To(dtype!.Value);
    }

    /// <summary>
    /// Runs a float32 kernel op on 16-bit operands without recording anything and without keeping float32 copies: the
    /// operands are widened into transient float32 buffers, <paramref name="op"/> computes (float32 accumulation), the
    /// result is rounded once to <paramref name="dtype"/>, and the transient buffers go straight back to the array cache.
    /// The 16-bit ops with real 16-bit activations (linear, convolution and their adjoints) use it for forward and
    /// backward, so what autograd saves is the 16-bit tensors. Float32 operands are used as they are.
    /// </summary>
    public static Tensor Compute(DType dtype, Func<Tensor?[], Tensor> op, params Tensor?[] operands)
    {
        var wide = new Tensor?[operands.Length];
        Tensor result;
        using (Autograd.NoGrad())
        {
            for (int i = 0; i < operands.Length; i++)
                wide[i] = operands[i] is { } t && t.DType != DType.Float32 ? (t.DType.IsReducedPrecision() ? Widen(t) : t.To(DType.Float32)) : operands[i];
            var wideResult = op(wide);
            result = Narrow(wideResult, dtype);
            bool resultShared = false;
            for (int i = 0; i < operands.Length; i++)
            {
                if (wide[i] is not { } w || ReferenceEquals(w, operands[i])) continue;
                if (ReferenceEquals(w.storage, wideResult.storage)) { resultShared = true; continue; }
                w.storage.Release();
            }
            if (!resultShared && !operands.Any(o => o != null && ReferenceEquals(o.storage, wideResult.storage))) wideResult.storage.Release();
        }
        return result;
    }

    /// <summary>
    /// A 16-bit-input op with float32 parameters (a norm of a float32 model under autocast) that keeps only its 16-bit
    /// input for backward: the forward runs <paramref name="forward"/> on a transient float32 copy and rounds the output
    /// once; the backward widens the input again, re-runs <paramref name="recompute"/> recorded (the same maths without
    /// side effects such as running-statistics updates) and differentiates it, as activation checkpointing does for
    /// one op. Gradients: the input's rounded to its 16-bit dtype, the parameters' in their own dtype.
    /// </summary>
    public static Tensor Recomputed(string name, Tensor input, Tensor?[] parameters, Func<Tensor, Tensor> forward, Func<Tensor, Tensor> recompute)
    {
        var dtype = input.DType;
        var output = Compute(dtype, t => forward(t[0]!), input);
        Tensor?[] inputs = [input, .. parameters];
        var present = inputs.Where(t => t != null).Select(t => t!).ToArray();
        if (!Autograd.ShouldRecord(present)) return output;
        Autograd.Record(output, name, inputs, g =>
        {
            bool createGraph = Autograd.IsGradEnabled;
            using var mode = Autograd.EnableGrad();
            // the recomputation's float32 tensors go back to the array cache when the gradients are out, not at the end
            // of the step (a scope inside the step's scope; the gradients are kept and move to the enclosing one)
            using var scope = createGraph ? null : TensorScope.Begin();
            var x32 = Widen(input).RequiresGrad_(input.RequiresGrad);
            var y32 = recompute(x32);
            var wanted = new List<int>();
            var targets = new List<Tensor>();
            for (int i = 0; i < inputs.Length; i++)
            {
                var t = i == 0 ? x32 : inputs[i];
                if (t is { RequiresGrad: true }) { wanted.Add(i); targets.Add(t); }
            }
            var grads = new Tensor?[inputs.Length];
            if (targets.Count == 0) return grads;
            var found = Autograd.Grad([y32], targets.ToArray(), [g.To(DType.Float32)], createGraph: createGraph, allowUnused: true);
            for (int k = 0; k < wanted.Count; k++)
            {
                grads[wanted[k]] = wanted[k] == 0 ? found[k]?.To(dtype) : found[k];
                if (scope != null && grads[wanted[k]] is { } kept) scope.Keep(kept);
            }
            return grads;
        }, input);
        return output;
    }

    /// <summary>True when any input is float16 or bfloat16.</summary>
    public static bool Any(Tensor a) => a.DType.IsReducedPrecision();
    public static bool Any(Tensor a, Tensor? b) => a.DType.IsReducedPrecision() || (b != null && b.DType.IsReducedPrecision());
    public static bool Any(Tensor a, Tensor? b, Tensor? c) => Any(a, b) || (c != null && c.DType.IsReducedPrecision());

    /// <summary>The exception for an op that has no 16-bit path.</summary>
    public static NotSupportedException Unsupported(string opName, DType dtype) =>
        new($"{opName}: dtype {dtype.TorchName()} is not supported by this operation; convert with To(DType.Float32) first");
}
