namespace Porter.Workers.Pool;

/// <summary>
/// Decides how long to wait before replacing a crashed process: exponential backoff that resets after a healthy
/// stretch, and crash-loop detection (too many crashes within a window marks the app failing).
/// </summary>
public sealed class RestartBackoff(RestartBackoff.Settings settings)
{
    /// <summary>Backoff and crash-loop parameters.</summary>
    public sealed record Settings(TimeSpan Initial, TimeSpan Max, TimeSpan HealthyReset, int CrashLoopCrashes, TimeSpan CrashLoopWindow)
    {
        public static readonly Settings Default = new(
            TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), 5, TimeSpan.FromSeconds(60));
    }

    private readonly Queue<DateTimeOffset> _recentCrashes = new();
    private TimeSpan _next = settings.Initial;

    public Settings Parameters { get; } = settings;

    /// <summary>The delay the next crash will get.</summary>
    public TimeSpan NextDelay => _next;

    /// <summary>Records a crash and returns how long to wait before spawning its replacement.</summary>
    public TimeSpan RecordCrash(DateTimeOffset now)
    {
        _recentCrashes.Enqueue(now);
        Trim(now);
        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Parameters.Max.Ticks));
        return delay;
    }

    /// <summary>True when the app crashed often enough within the window to count as failing.</summary>
    public bool IsCrashLoop(DateTimeOffset now)
    {
        Trim(now);
        return _recentCrashes.Count >= Parameters.CrashLoopCrashes;
    }

    /// <summary>A process stayed up for the healthy period: start over from the initial delay.</summary>
    public void RecordHealthy()
    {
        _next = Parameters.Initial;
        _recentCrashes.Clear();
    }

    private void Trim(DateTimeOffset now)
    {
        while (_recentCrashes.TryPeek(out var oldest) && now - oldest > Parameters.CrashLoopWindow) _recentCrashes.Dequeue();
    }
}
