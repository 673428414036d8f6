namespace DeepSharp.Distributed.Worker;

/// <summary>The worker's assertions: a failed one throws, so the rank prints FAILED and exits non-zero.</summary>
static class Check
{
    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual)) throw new InvalidOperationException($"{what}: expected {expected}, got {actual}");
    }

    public static void Close(double[] expected, double[] actual, double tolerance, string what)
    {
        Equal(expected.Length, actual.Length, what + " length");
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(expected[i] - actual[i]) > tolerance * (1 + Math.Abs(expected[i])))
                throw new InvalidOperationException($"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    public static void Throws<TException>(Action action, string what) where TException : Exception
    {
        try { action(); }
        catch (TException) { return; }
        throw new InvalidOperationException($"{what}: expected {typeof(TException).Name}");
    }
}
