// Sampling and generation tests seed the global generator (DeepSharp.Random), which every test class shares.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
