using DeepSharp.Data;

namespace DeepSharp.Vision.Transforms;

/// <summary>Where datasets get the generator for their random transforms.</summary>
internal static class TransformGenerator
{
    /// <summary>
    /// The generator of the batch being fetched by a data loader (<see cref="WorkerInfo.Generator"/>), so augmentations
    /// are the same for a fixed seed whatever the number of workers; outside a loader, a fresh generator seeded from the
    /// global stream (reproducible after DeepSharp.Random.Seed).
    /// </summary>
    public static Generator Current() => WorkerInfo.Current?.Generator ?? new Generator(DeepSharp.Random.NextSeed());
}
