namespace DeepSharp.Distributed;

/// <summary>
/// A distributed operation failed: MPI returned an error, a peer did not answer within the timeout (it probably died
/// or hangs), or the ranks disagree (different models). torch.distributed raises RuntimeError / DistBackendError.
/// </summary>
public class DistributedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A collective or point-to-point operation did not complete within <see cref="ProcessGroup.Timeout"/>
/// (torch.distributed's timeout= of init_process_group). The process group is unusable afterwards.
/// </summary>
public sealed class DistributedTimeoutException(string message) : DistributedException(message);
