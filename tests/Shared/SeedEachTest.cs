using System.Reflection;
using Xunit.v3;

[assembly: DeepSharp.Testing.SeedEachTest]

namespace DeepSharp.Testing;

/// <summary>
/// Gives every test its own random stream (<see cref="DeepSharp.Random.Fork(long)"/>) seeded from the test's display name,
/// so a test that draws random numbers without seeding sees the same numbers in every run, whatever runs before it or
/// beside it in parallel. Applied to the whole assembly; xunit runs <see cref="Before"/> in the test's own async flow.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method)]
public sealed class SeedEachTestAttribute : BeforeAfterTestAttribute
{
    static readonly AsyncLocal<RandomScope?> scope = new();

    /// <inheritdoc/>
    public override void Before(MethodInfo methodUnderTest, IXunitTest test) =>
        scope.Value = DeepSharp.Random.Fork(SeedOf(test.TestDisplayName));

    /// <inheritdoc/>
    public override void After(MethodInfo methodUnderTest, IXunitTest test)
    {
        scope.Value?.Dispose();
        scope.Value = null;
    }

    /// <summary>The seed of the test named <paramref name="testDisplayName"/>: FNV-1a of the name, stable across runs.</summary>
    public static long SeedOf(string testDisplayName)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in testDisplayName) { hash ^= c; hash *= 1099511628211UL; }
        return (long)hash;
    }
}
