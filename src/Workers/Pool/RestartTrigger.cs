namespace Porter.Workers.Pool;

/// <summary>
/// Passenger's restart files, checked on request arrival: a changed mtime of <c>tmp/restart.txt</c> asks for one
/// restart, an existing <c>tmp/always_restart.txt</c> for a restart on every request. The files are stat-ed at most
/// once per throttle period, by whichever request wins a lock-free race; the other requests reuse the last result.
/// </summary>
public sealed class RestartTrigger
{
    /// <summary>What a request arrival should do.</summary>
    public enum Outcome { None, Restart, RestartEveryRequest }

    private readonly string _restartFile;
    private readonly string _alwaysRestartFile;
    private readonly long _throttleTicks;
    private readonly Func<string, DateTime?> _lastWriteTime;
    private long _nextCheckTicks;
    private long _knownRestartMtime;
    private volatile bool _alwaysRestart;

    /// <param name="lastWriteTime">The file's mtime, or null when it does not exist (tests pass a fake).</param>
    public RestartTrigger(string appRoot, TimeSpan throttle, Func<string, DateTime?>? lastWriteTime = null)
    {
        _restartFile = Path.Combine(appRoot, "tmp", "restart.txt");
        _alwaysRestartFile = Path.Combine(appRoot, "tmp", "always_restart.txt");
        _throttleTicks = throttle.Ticks;
        _lastWriteTime = lastWriteTime ?? FileLastWriteTime;
        // The state at node start is the baseline: a restart.txt touched before the start restarts nothing.
        _knownRestartMtime = _lastWriteTime(_restartFile)?.Ticks ?? 0;
        _alwaysRestart = _lastWriteTime(_alwaysRestartFile) is not null;
    }

    /// <summary>Called on every request; cheap unless this request is the one that re-reads the files.</summary>
    public Outcome Check(DateTime utcNow)
    {
        var next = Interlocked.Read(ref _nextCheckTicks);
        if (utcNow.Ticks < next || Interlocked.CompareExchange(ref _nextCheckTicks, utcNow.Ticks + _throttleTicks, next) != next)
            return _alwaysRestart ? Outcome.RestartEveryRequest : Outcome.None;

        _alwaysRestart = _lastWriteTime(_alwaysRestartFile) is not null;
        var mtime = _lastWriteTime(_restartFile)?.Ticks ?? 0;
        var previous = Interlocked.Exchange(ref _knownRestartMtime, mtime);
        if (_alwaysRestart) return Outcome.RestartEveryRequest;
        // Deleting restart.txt is no reason to restart; creating or touching it is.
        return mtime != 0 && mtime != previous ? Outcome.Restart : Outcome.None;
    }

    private static DateTime? FileLastWriteTime(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.LastWriteTimeUtc : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
