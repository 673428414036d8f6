// Tests share the global random stream (DeepSharp.Random); running them in parallel would make seeded tests flaky.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
