namespace DeepSharp.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce"/> and <see cref="ProcessGroup.ReduceScatter"/> combine the ranks' values (torch.distributed.ReduceOp).</summary>
public enum ReduceOp
{
    /// <summary>Elementwise sum (ReduceOp.SUM).</summary>
    Sum,
    /// <summary>Elementwise sum divided by the world size, floating-point tensors only (ReduceOp.AVG).</summary>
    Average,
    /// <summary>Elementwise maximum (ReduceOp.MAX).</summary>
    Max,
    /// <summary>Elementwise minimum (ReduceOp.MIN).</summary>
    Min,
}
