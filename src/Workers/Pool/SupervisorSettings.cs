using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>Node-wide settings of every <see cref="AppSupervisor"/>, with the /proc readers tests replace.</summary>
/// <param name="StopGrace">How long a process being stopped may take to finish its in-flight requests.</param>
/// <param name="MemoryCheckInterval">How often max-memory compares each process's RSS with the limit.</param>
/// <param name="ReadMetrics">RSS and CPU time of a process tree; null when the process is gone.</param>
public sealed record SupervisorSettings(
    RestartBackoff.Settings Backoff,
    TimeSpan StopGrace,
    TimeSpan MemoryCheckInterval,
    Func<ProcessId, ProcessMetrics.Sample?> ReadMetrics)
{
    /// <summary>The settings a node runs with, from its options.</summary>
    public static SupervisorSettings From(PorterOptions options) => new(
        RestartBackoff.Settings.Default with
        {
            CrashLoopCrashes = options.CrashLoopCrashes,
            CrashLoopWindow = TimeSpan.FromSeconds(options.CrashLoopWindow),
        },
        TimeSpan.FromSeconds(options.ShutdownGrace),
        TimeSpan.FromSeconds(options.MemoryCheckInterval),
        pid => ProcessMetrics.Read(pid.Value));
}
