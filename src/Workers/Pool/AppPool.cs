using Porter.Contracts.Ids;

namespace Porter.Workers.Pool;

/// <summary>
/// The data-plane view of one app's processes on this node. The app's supervisor actor publishes routable
/// processes and failure state here; request handlers read a lock-free snapshot to pick the least-busy process
/// and only take the lock to queue when every process is full.
/// </summary>
public sealed class AppPool(AppName app, AppPool.Limits limits)
{
    /// <summary>Queue bounds for one app.</summary>
    /// <param name="MaxQueueSize">Waiting requests beyond this get 503 "queue full"; 0 means unbounded.</param>
    /// <param name="MaxQueueTime">A request that waited longer gets 504; zero turns the limit off.</param>
    /// <param name="NoProcessTimeout">How long a request waits while no process is routable before 503.</param>
    public sealed record Limits(int MaxQueueSize, TimeSpan MaxQueueTime, TimeSpan NoProcessTimeout);

    /// <summary>Why the pool is not serving, with the last lines of the app's stderr (shown in development only).</summary>
    public sealed record Failure(string Reason, IReadOnlyList<string> StderrTail);

    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private volatile ProcessEndpoint[] _routable = [];
    private int _waiterCount;
    private volatile Failure? _failure;
    private volatile Failure? _lastFailure;

    public AppName App { get; } = app;
    public Limits QueueLimits { get; } = limits;

    /// <summary>Processes that may receive requests now.</summary>
    public IReadOnlyList<ProcessEndpoint> Routable => _routable;

    /// <summary>Requests waiting for a free process.</summary>
    public int QueueLength => Volatile.Read(ref _waiterCount);

    /// <summary>Set while the app cannot start (crash loop); requests then fail fast with 503.</summary>
    public Failure? CurrentFailure => _failure;

    /// <summary>Raised (off the lock) when a request had to queue; the supervisor may scale up.</summary>
    public event Action? Queued;

    /// <summary>Gets a process with a free session slot, waiting in FIFO order when all are full.</summary>
    public async ValueTask<AcquireResult> AcquireAsync(ProcessEndpoint? exclude, CancellationToken ct)
    {
        if (TryAcquireFast(exclude) is { } fast) return AcquireResult.Success(fast);
        if (_failure is { } failed && _routable.Length == 0) return AcquireResult.Unavailable(failed);

        var waiter = new Waiter(exclude);
        lock (_gate)
        {
            if (QueueLimits.MaxQueueSize > 0 && _waiterCount >= QueueLimits.MaxQueueSize)
                return AcquireResult.QueueFull;
            waiter.Node = _waiters.AddLast(waiter);
            Interlocked.Increment(ref _waiterCount);
            // A release may have happened between the fast path and taking the lock.
            DispatchWaitersLocked();
        }
        if (!waiter.Completion.Task.IsCompleted) Queued?.Invoke();
        return await WaitAsync(waiter, ct);
    }

    private async ValueTask<AcquireResult> WaitAsync(Waiter waiter, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        while (true)
        {
            var limit = QueueLimits.MaxQueueTime > TimeSpan.Zero ? QueueLimits.MaxQueueTime : QueueLimits.NoProcessTimeout;
            var remaining = limit - (DateTime.UtcNow - started);
            try
            {
                if (remaining > TimeSpan.Zero)
                    return await waiter.Completion.Task.WaitAsync(remaining, ct);
            }
            catch (TimeoutException) { }
            catch (OperationCanceledException)
            {
                if (Abandon(waiter)) throw;
                return await waiter.Completion.Task;
            }

            if (QueueLimits.MaxQueueTime > TimeSpan.Zero)
                return Abandon(waiter) ? AcquireResult.QueueTimeout : await waiter.Completion.Task;
            if (_routable.Length == 0)
                return Abandon(waiter)
                    ? AcquireResult.Unavailable(_failure ?? _lastFailure ?? new Failure("no application process became ready in time", []))
                    : await waiter.Completion.Task;
            // Processes exist and are busy, and no queue time limit is set: keep waiting, as Passenger does.
            started = DateTime.UtcNow;
        }
    }

    /// <summary>Removes a waiter that gave up; false when a process was already handed to it.</summary>
    private bool Abandon(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null) return false;
            _waiters.Remove(waiter.Node);
            Interlocked.Decrement(ref _waiterCount);
            return true;
        }
    }

    /// <summary>Returns the session slot and hands it to the oldest waiter, if any.</summary>
    public void Release(ProcessEndpoint endpoint)
    {
        endpoint.Release();
        if (Volatile.Read(ref _waiterCount) > 0)
            lock (_gate) DispatchWaitersLocked();
    }

    /// <summary>Makes a process routable (supervisor only).</summary>
    public void Add(ProcessEndpoint endpoint)
    {
        lock (_gate)
        {
            _routable = [.. _routable, endpoint];
            _failure = null;
            _lastFailure = null;
            DispatchWaitersLocked();
        }
    }

    /// <summary>Stops routing to a process; requests already on it finish (supervisor only).</summary>
    public void Remove(ProcessId pid)
    {
        lock (_gate) _routable = _routable.Where(e => e.Pid != pid).ToArray();
    }

    /// <summary>Remembers why the last process ended, so a request that times out waiting can be told why.</summary>
    public void NoteFailure(Failure failure) => _lastFailure = failure;

    /// <summary>Marks the app as failing: queued and new requests get 503 until a process is routable again.</summary>
    public void MarkFailing(Failure failure)
    {
        lock (_gate)
        {
            _failure = failure;
            if (_routable.Length != 0) return;
            foreach (var waiter in _waiters) waiter.Completion.TrySetResult(AcquireResult.Unavailable(failure));
            Interlocked.Add(ref _waiterCount, -_waiters.Count);
            _waiters.Clear();
        }
    }

    private ProcessEndpoint? TryAcquireFast(ProcessEndpoint? exclude)
    {
        var routable = _routable;
        // A few attempts: another thread may take the slot we picked between reading busyness and acquiring.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            ProcessEndpoint? best = null;
            foreach (var candidate in routable)
            {
                if (ReferenceEquals(candidate, exclude) && routable.Length > 1) continue;
                if (candidate.Concurrency != 0 && candidate.Sessions >= candidate.Concurrency) continue;
                if (best is null || candidate.Busyness < best.Busyness) best = candidate;
            }
            if (best is null) return null;
            if (best.TryAcquire()) return best;
        }
        return null;
    }

    private void DispatchWaitersLocked()
    {
        while (_waiters.First is { } node)
        {
            if (TryAcquireFast(node.Value.Exclude) is not { } endpoint) return;
            _waiters.RemoveFirst();
            Interlocked.Decrement(ref _waiterCount);
            if (!node.Value.Completion.TrySetResult(AcquireResult.Success(endpoint))) endpoint.Release();
        }
    }

    private sealed class Waiter(ProcessEndpoint? exclude)
    {
        public ProcessEndpoint? Exclude { get; } = exclude;
        public TaskCompletionSource<AcquireResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node { get; set; }
    }
}

/// <summary>The outcome of asking a pool for a process.</summary>
public readonly record struct AcquireResult(ProcessEndpoint? Endpoint, AcquireFailure Failure, AppPool.Failure? Cause)
{
    public static AcquireResult Success(ProcessEndpoint endpoint) => new(endpoint, AcquireFailure.None, null);
    public static AcquireResult Unavailable(AppPool.Failure cause) => new(null, AcquireFailure.Unavailable, cause);
    public static readonly AcquireResult QueueFull = new(null, AcquireFailure.QueueFull, null);
    public static readonly AcquireResult QueueTimeout = new(null, AcquireFailure.QueueTimeout, null);
}

/// <summary>Why no process was handed out.</summary>
public enum AcquireFailure { None, Unavailable, QueueFull, QueueTimeout }
