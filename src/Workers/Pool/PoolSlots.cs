using Porter.Contracts.Ids;

namespace Porter.Workers.Pool;

/// <summary>
/// Node-local messages between app supervisors and the <see cref="PoolManager"/> about max-pool-size: every process
/// needs a slot, granted before it starts and released when it is gone. They never leave the node.
/// </summary>
public static class PoolSlots
{
    /// <summary>Supervisor to manager: one slot please. A replacement is denied at once when no room can be made.</summary>
    public sealed record Request(AppName App, long RequestId, bool Replacement);

    /// <summary>Manager to supervisor: the slot is yours; start a process or release it.</summary>
    public sealed record Granted(long RequestId);

    /// <summary>Manager to supervisor: the pool is full and nothing can make room (replacements only).</summary>
    public sealed record Denied(long RequestId);

    /// <summary>Supervisor to manager: a process is gone (or a granted slot was not needed).</summary>
    public sealed record Release(AppName App, ProcessId? Pid);

    /// <summary>Manager to supervisor: stop this idle process gracefully so another app can start one.</summary>
    public sealed record YieldIdle(ProcessId Pid);

    /// <summary>Supervisor to manager: the process is no longer idle or its app is at min-instances.</summary>
    public sealed record YieldRefused(AppName App, ProcessId Pid);

    /// <summary>Supervisor to manager: it restarted and holds no slots any more.</summary>
    public sealed record Reset(AppName App);
}
