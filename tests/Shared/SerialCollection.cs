namespace DeepSharp.Testing;

/// <summary>
/// The collection of test classes that change or measure process-wide state: the kernel thread count
/// (KernelThreadPool.SetThreadCount, also through the CLI's --threads), static kernel settings, or allocation counts
/// (which other tests disturb through the shared ArrayCache). It never runs beside another test; every other test
/// class runs in parallel (docs/testing.md).
/// </summary>
#pragma warning disable xUnit1073 // shared by every test project; some have no class that needs it
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    /// <summary>Use as <c>[Collection(SerialCollection.Name)]</c>.</summary>
    public const string Name = "Serial: process-wide state";
}
#pragma warning restore xUnit1073
