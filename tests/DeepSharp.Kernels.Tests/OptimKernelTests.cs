using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>
/// The fused optimizer updates: the Vector&lt;T&gt; body against the scalar tail, which computes the same expressions and
/// is the reference. One 37-element call runs mostly through the body; 37 one-element calls only through the tail.
/// </summary>
public class OptimKernelTests
{
    /// <summary>One update of elements [start, start + length) of a parameter, its gradient and its state buffers.</summary>
    delegate void Update(float[] param, float[] grad, float[][] state, int start, int length, bool first);

    static Span<float> S(float[] a, int start, int length) => a.AsSpan(start, length);

    static readonly (string Name, int States, Update Step)[] Kinds =
    [
        ("sgd momentum", 1, (p, g, s, i, n, first) => OptimKernels<float>.Sgd(S(p, i, n), S(g, i, n), S(s[0], i, n), first, 0.01f, 0.01f, 0.9f, 0.9f, false, false)),
        ("sgd nesterov maximize", 1, (p, g, s, i, n, first) => OptimKernels<float>.Sgd(S(p, i, n), S(g, i, n), S(s[0], i, n), first, 0.01f, 0f, 0.9f, 1f, true, true)),
        ("adam amsgrad", 3, (p, g, s, i, n, _) => OptimKernels<float>.Adam(S(p, i, n), S(g, i, n), S(s[0], i, n), S(s[1], i, n), S(s[2], i, n),
            0.9f, 0.999f, 0.1f, 1f, 1e-8f, -0.01f, 0.05f, false, true, false)),
        ("adamw maximize", 3, (p, g, s, i, n, _) => OptimKernels<float>.Adam(S(p, i, n), S(g, i, n), S(s[0], i, n), S(s[1], i, n), S(s[2], i, n),
            0.9f, 0.999f, 0.01f, 0.9999f, 1e-8f, -0.01f, 0.05f, true, false, true)),
        ("adagrad", 1, (p, g, s, i, n, _) => OptimKernels<float>.Adagrad(S(p, i, n), S(g, i, n), S(s[0], i, n), 0.1f, 1e-10f, -0.1f, false)),
        ("rmsprop centered momentum", 3, (p, g, s, i, n, _) => OptimKernels<float>.RmsProp(S(p, i, n), S(g, i, n), S(s[0], i, n), S(s[1], i, n), S(s[2], i, n),
            0.99f, 1e-8f, 0.1f, 0.5f, -0.01f, true, false)),
        ("adadelta", 2, (p, g, s, i, n, _) => OptimKernels<float>.Adadelta(S(p, i, n), S(g, i, n), S(s[0], i, n), S(s[1], i, n), 0.9f, 1e-6f, 0.1f, -1f, false)),
    ];

    public static TheoryData<int> KindIndices => new(Enumerable.Range(0, Kinds.Length));

    [Theory]
    [MemberData(nameof(KindIndices))]
    public void VectorBodyIsBitwiseTheScalarTail(int kind)
    {
        const int n = 37;
        var (name, states, step) = Kinds[kind];
        var rng = new Random(kind);
        float Next() => (float)(rng.NextDouble() * 2 - 1);
        var init = Enumerable.Range(0, n).Select(_ => Next()).ToArray();
        float[] whole = (float[])init.Clone(), pieces = (float[])init.Clone();
        float[][] wholeState = Enumerable.Range(0, states).Select(_ => new float[n]).ToArray();
        float[][] pieceState = Enumerable.Range(0, states).Select(_ => new float[n]).ToArray();
        for (int t = 0; t < 5; t++)
        {
            var grad = Enumerable.Range(0, n).Select(_ => Next()).ToArray();
            step(whole, grad, wholeState, 0, n, t == 0);
            for (int i = 0; i < n; i++) step(pieces, grad, pieceState, i, 1, t == 0);
        }
        Assert.False(whole.SequenceEqual(init), $"{name}: the parameter did not move");
        Assert.Equal(pieces, whole);
        for (int s = 0; s < states; s++) Assert.Equal(pieceState[s], wholeState[s]);
    }
}
