using Porter.Contracts.Ids;

namespace Porter.Contracts.Pool;

/// <summary>A worker node's pool as <c>passenger-status</c> would show it; an immutable snapshot.</summary>
/// <param name="MaxPoolSize">Most app processes this node runs at once.</param>
/// <param name="ProcessCount">App processes on the node now, including starting and stopping ones.</param>
public sealed record PoolState(int MaxPoolSize, int ProcessCount, IReadOnlyList<AppPoolState> Apps) : IPoolMessage;

/// <summary>One app's processes on one node.</summary>
/// <param name="QueueLength">Requests waiting for a free process.</param>
/// <param name="Spawning">Processes started that do not accept connections yet.</param>
/// <param name="Restarting">True while processes from before a restart are still being replaced.</param>
/// <param name="Failure">Why the app is failing (crash loop), or null.</param>
/// <param name="OobDropped">Out-of-band work runs dropped on this node because no token came within the token wait bound.</param>
public sealed record AppPoolState(
    AppName App,
    int MinInstances,
    int MaxInstances,
    int QueueLength,
    int Spawning,
    bool Restarting,
    string? Failure,
    IReadOnlyList<ProcessState> Processes,
    long OobDropped = 0);

/// <summary>One app process: the fields <c>passenger-status</c> shows.</summary>
/// <param name="RouteId">The opaque id sticky-session cookies name.</param>
/// <param name="Concurrency">Most concurrent requests; 0 means unlimited.</param>
/// <param name="CpuPercent">CPU time of the process tree over its lifetime, in percent of one core.</param>
/// <param name="RssBytes">Resident memory of the process and its descendants; null when unreadable.</param>
/// <param name="Oob">
/// Its out-of-band work run: pending, waiting-for-token or granted (still serving), then draining or working (out of
/// rotation); null when none.
/// </param>
public sealed record ProcessState(
    ProcessId Pid,
    string RouteId,
    ProcessLifecycle State,
    int Sessions,
    int Concurrency,
    long Processed,
    DateTimeOffset StartedAt,
    TimeSpan Uptime,
    double CpuPercent,
    long? RssBytes,
    DateTimeOffset LastUsed,
    string? Oob = null);

/// <summary>Where a process is in its life, as far as routing is concerned.</summary>
public enum ProcessLifecycle
{
    /// <summary>Receives requests.</summary>
    Enabled = 0,

    /// <summary>Gets no new requests; waiting for in-flight ones to finish before it stops.</summary>
    Disabling,

    /// <summary>Out of rotation for out-of-band work; comes back afterwards.</summary>
    Disabled,

    /// <summary>Asked to exit (SIGTERM, then SIGKILL after the grace period).</summary>
    ShuttingDown,
}
