using DeepSharp.Distributed;
using DeepSharp.Distributed.Worker;

// Usage: mpirun -np N dotnet DeepSharp.Distributed.Worker.dll <scenario> [args]; exit code 0 when every check passed.
var scenarios = new Dictionary<string, Action<ProcessGroup, string[]>>
{
    ["collectives"] = CollectiveScenarios.Run,
    ["ddp-trainer"] = DdpScenarios.Trainer,
    ["ddp-nosync"] = DdpScenarios.NoSync,
    ["ddp-mismatch"] = DdpScenarios.Mismatch,
    ["rank-dies"] = FaultScenarios.RankDies,
    ["bench-allreduce"] = BenchScenarios.AllReduce,
    ["zero"] = ZeroScenarios.Trainer,
    ["syncbn"] = SyncBatchNormScenarios.Run,
    ["syncbn-grad"] = SyncBatchNormGradScenarios.Run,
    ["pipeline"] = PipelineScenarios.Run,
    ["resume"] = ResumeScenarios.Run,
};
if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var scenario))
{
    Console.Error.WriteLine($"usage: worker <{string.Join("|", scenarios.Keys)}> [args]");
    return 2;
}
var group = ProcessGroup.Init();
try
{
    scenario(group, args[1..]);
    Console.WriteLine($"rank {group.Rank}: OK {args[0]}");
    return 0;
}
catch (Exception e)
{
    Console.WriteLine($"rank {group.Rank}: FAILED {args[0]}: {e.GetType().Name}: {e.Message}");
    return 1;
}
