using System.Security.Cryptography;
using Porter.Contracts.Ids;

namespace Porter.Workers.Pool;

/// <summary>A routable app process as the data plane sees it: where to send requests and how busy it is.</summary>
public sealed class ProcessEndpoint
{
    private int _sessions;
    private long _processed;
    private long _lastUsedTicks;
    private int _disabled;
    private int _recycling;
    private int _oobWanted;

    /// <param name="maxRequests">Requests after which the pool asks for the process to be recycled; 0 means never.</param>
    /// <param name="routeId">Sticky-session id; a random one when not given.</param>
    /// <param name="oobSecret">The secret the process got to check out-of-band work calls; a random one when not given.</param>
    public ProcessEndpoint(ProcessId pid, int port, int concurrency, int maxRequests = 0, string? routeId = null, string? oobSecret = null)
    {
        OobSecret = oobSecret ?? Spawning.OobWorkSignature.NewSecret();
        Pid = pid;
        Port = port;
        Concurrency = concurrency;
        MaxRequests = maxRequests;
        // Random rather than the PID: cookies then reveal nothing about the host and survive no PID reuse.
        RouteId = routeId ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        BaseUri = $"http://127.0.0.1:{port}/";
        _lastUsedTicks = DateTimeOffset.UtcNow.UtcTicks;
    }

    public ProcessId Pid { get; }
    public int Port { get; }

    /// <summary>Most concurrent requests; 0 means unlimited.</summary>
    public int Concurrency { get; }

    /// <summary>Requests after which the process is recycled; 0 means never.</summary>
    public int MaxRequests { get; }

    /// <summary>The opaque id a sticky-session cookie carries to come back to this process.</summary>
    public string RouteId { get; }

    /// <summary>Signs the out-of-band work call to this process; never shown anywhere.</summary>
    public string OobSecret { get; }

    /// <summary>"http://127.0.0.1:PORT/", the forwarding destination prefix.</summary>
    public string BaseUri { get; }

    public int Sessions => Volatile.Read(ref _sessions);
    public long Processed => Interlocked.Read(ref _processed);
    public DateTimeOffset LastUsed => new(Interlocked.Read(ref _lastUsedTicks), TimeSpan.Zero);

    /// <summary>
    /// True while the process is out of rotation: for good once it is retired, or for the length of an out-of-band
    /// work run (<see cref="Enable"/> brings it back).
    /// </summary>
    public bool IsDisabled => Volatile.Read(ref _disabled) != 0;

    /// <summary>
    /// True once the process is due for replacement (max-requests, max-memory): it keeps serving until its successor
    /// is ready, but only when no other process has room.
    /// </summary>
    public bool IsRecycling => Volatile.Read(ref _recycling) != 0;

    /// <summary>Busyness as Passenger computes it: sessions relative to concurrency; unlimited processes compare by sessions.</summary>
    internal long Busyness
    {
        get
        {
            var sessions = Sessions;
            return Concurrency == 0 ? sessions : (long)sessions * int.MaxValue / Concurrency;
        }
    }

    /// <summary>Takes a session slot if the process has room and is still in rotation.</summary>
    internal bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _sessions);
            if (Concurrency != 0 && current >= Concurrency) return false;
            if (Interlocked.CompareExchange(ref _sessions, current + 1, current) == current) break;
        }
        // The CAS is a full fence and Disable writes with one too: either the supervisor's drain sees this session,
        // or this request sees the flag and backs out. No request can reach a process that is being stopped.
        if (Volatile.Read(ref _disabled) == 0) return true;
        Interlocked.Decrement(ref _sessions);
        return false;
    }

    /// <summary>True from the request that asked for out-of-band work until the run is over: at most one pending run per process.</summary>
    public bool IsOobWanted => Volatile.Read(ref _oobWanted) != 0;

    /// <summary>Ends a request; true when it was the one that reached <see cref="MaxRequests"/>.</summary>
    internal bool Release() => Release(out _);

    /// <summary>Ends a request; <paramref name="processed"/> counts it. True when it was the one that reached <see cref="MaxRequests"/>.</summary>
    internal bool Release(out long processed)
    {
        Interlocked.Exchange(ref _lastUsedTicks, DateTimeOffset.UtcNow.UtcTicks);
        processed = Interlocked.Increment(ref _processed);
        Interlocked.Decrement(ref _sessions);
        if (MaxRequests == 0 || processed < MaxRequests) return false;
        MarkRecycling();
        return processed == MaxRequests;
    }

    internal void MarkRecycling() => Interlocked.Exchange(ref _recycling, 1);

    /// <summary>Returns a slot that was taken but never used for a request.</summary>
    internal void Unacquire() => Interlocked.Decrement(ref _sessions);

    internal void Disable() => Interlocked.Exchange(ref _disabled, 1);

    /// <summary>Back in rotation after out-of-band work (supervisor only, through <see cref="AppPool.Restore"/>).</summary>
    internal void Enable() => Interlocked.Exchange(ref _disabled, 0);

    /// <summary>Marks out-of-band work as wanted; false when a run is already pending, so requests that ask again coalesce.</summary>
    internal bool TryMarkOobWanted() => Interlocked.CompareExchange(ref _oobWanted, 1, 0) == 0;

    /// <summary>The pending run is over (done, skipped or abandoned): the next request may ask again.</summary>
    internal void ClearOobWanted() => Interlocked.Exchange(ref _oobWanted, 0);
}
