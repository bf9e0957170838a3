using Porter.Contracts.Ids;

namespace Porter.Workers.Pool;

/// <summary>A routable app process as the data plane sees it: where to send requests and how busy it is.</summary>
public sealed class ProcessEndpoint(ProcessId pid, int port, int concurrency)
{
    private int _sessions;
    private long _processed;

    public ProcessId Pid { get; } = pid;
    public int Port { get; } = port;

    /// <summary>Most concurrent requests; 0 means unlimited.</summary>
    public int Concurrency { get; } = concurrency;

    /// <summary>"http://127.0.0.1:PORT/", the forwarding destination prefix.</summary>
    public string BaseUri { get; } = $"http://127.0.0.1:{port}/";

    public int Sessions => Volatile.Read(ref _sessions);
    public long Processed => Interlocked.Read(ref _processed);
    public DateTimeOffset LastUsed { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Busyness as Passenger computes it: sessions relative to concurrency; unlimited processes compare by sessions.</summary>
    internal long Busyness
    {
        get
        {
            var sessions = Sessions;
            return Concurrency == 0 ? sessions : (long)sessions * int.MaxValue / Concurrency;
        }
    }

    /// <summary>Takes a session slot if the process has room.</summary>
    internal bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _sessions);
            if (Concurrency != 0 && current >= Concurrency) return false;
            if (Interlocked.CompareExchange(ref _sessions, current + 1, current) == current) return true;
        }
    }

    internal void Release()
    {
        Interlocked.Decrement(ref _sessions);
        Interlocked.Increment(ref _processed);
        LastUsed = DateTimeOffset.UtcNow;
    }
}
