namespace DeepSharp.Distributed.Worker;

/// <summary>The last rank dies in the middle of training; the others must not hang.</summary>
static class FaultScenarios
{
    public static void RankDies(ProcessGroup g, string[] args)
    {
        var t = Tensor.Ones(1000);
        for (int step = 0; ; step++)
        {
            if (step == 3 && g.Rank == g.WorldSize - 1)
            {
                Console.WriteLine($"rank {g.Rank}: dying on purpose at step {step}");
                Console.Out.Flush();
                Environment.Exit(3);
            }
            g.AllReduce(t, ReduceOp.Average);
            if (step > 1000) throw new InvalidOperationException("the dead rank went unnoticed");
        }
    }
}
