namespace Porter.Workers.Pool;

/// <summary>How many processes an app should have: pure decisions the supervisor applies, so they are unit-tested.</summary>
public static class ScalingPolicy
{
    /// <summary>One enabled process as the idle check sees it.</summary>
    public readonly record struct ProcessLoad<T>(T Process, int Sessions, DateTimeOffset LastUsed);

    /// <summary>
    /// The number of processes the app should have: min-instances, plus enough new processes to absorb the queued
    /// requests (each starting process will take <paramref name="concurrency"/> of them, or all when unlimited),
    /// capped by max-instances.
    /// </summary>
    /// <param name="current">Processes that serve or will serve (enabled and starting).</param>
    /// <param name="starting">Of those, the ones not accepting connections yet.</param>
    public static int Target(int minInstances, int maxInstances, int current, int starting, int queued, int concurrency)
    {
        var extra = 0;
        if (queued > 0)
        {
            var wanted = concurrency == 0 ? 1 : (queued + concurrency - 1) / concurrency;
            extra = Math.Max(0, wanted - starting);
        }
        var target = Math.Max(minInstances, current + extra);
        return maxInstances > 0 ? Math.Min(target, Math.Max(maxInstances, minInstances)) : target;
    }

    /// <summary>
    /// The idle processes to stop: no sessions and unused for at least <paramref name="idleTime"/>, least recently
    /// used first, never going below min-instances.
    /// </summary>
    /// <param name="current">Processes that serve or will serve; min-instances is kept among them.</param>
    public static IReadOnlyList<T> IdleToStop<T>(IEnumerable<ProcessLoad<T>> enabled, int current, int minInstances,
        TimeSpan idleTime, DateTimeOffset now)
    {
        var room = current - minInstances;
        if (idleTime <= TimeSpan.Zero || room <= 0) return [];
        return enabled
            .Where(p => p.Sessions == 0 && now - p.LastUsed >= idleTime)
            .OrderBy(p => p.LastUsed)
            .Take(room)
            .Select(p => p.Process)
            .ToList();
    }
}
