using Porter.Contracts.Ids;
using Porter.Contracts.Options;

namespace Porter.Workers.Pool;

/// <summary>
/// The data-plane view of one app's processes on this node. The app's supervisor actor publishes routable
/// processes and failure state here; request handlers read a lock-free snapshot to pick the least-busy process
/// and only take the lock to queue when every process is full.
/// </summary>
public sealed class AppPool(AppName app, AppPool.Limits limits, RestartTrigger? restarts = null)
{
    /// <summary>Queue bounds for one app.</summary>
    /// <param name="MaxQueueSize">Waiting requests beyond this get 503 "queue full"; 0 means unbounded.</param>
    /// <param name="MaxQueueTime">A request that waited longer gets 504; zero turns the limit off.</param>
    /// <param name="NoProcessTimeout">How long a request waits while no process is routable before 503.</param>
    public sealed record Limits(int MaxQueueSize, TimeSpan MaxQueueTime, TimeSpan NoProcessTimeout);

    /// <summary>Why the pool is not serving, with the last lines of the app's stderr (shown in development only).</summary>
    public sealed record Failure(string Reason, IReadOnlyList<string> StderrTail);

    /// <summary>A restart asked for from the request path; <see cref="Done"/> completes once old processes take no requests.</summary>
    public sealed record RestartRequest(RestartMethod? Method, TaskCompletionSource? Done);

    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private volatile ProcessEndpoint[] _routable = [];
    private int _waiterCount;
    private int _stickyWaiterCount;
    private volatile Failure? _failure;
    private volatile Failure? _lastFailure;

    public AppName App { get; } = app;
    public Limits QueueLimits { get; } = limits;

    /// <summary>Watches tmp/restart.txt and tmp/always_restart.txt on request arrival; null when not watched.</summary>
    public RestartTrigger? Restarts { get; } = restarts;

    /// <summary>Processes that may receive requests now.</summary>
    public IReadOnlyList<ProcessEndpoint> Routable => _routable;

    /// <summary>Requests waiting for a free process.</summary>
    public int QueueLength => Volatile.Read(ref _waiterCount);

    /// <summary>Waiting requests that any new process could serve (sticky ones wait for their own process).</summary>
    public int ScalableQueueLength => Math.Max(0, Volatile.Read(ref _waiterCount) - Volatile.Read(ref _stickyWaiterCount));

    /// <summary>Set while the app cannot start (crash loop); requests then fail fast with 503.</summary>
    public Failure? CurrentFailure => _failure;

    /// <summary>Raised (off the lock) when a request had to queue; the supervisor may scale up.</summary>
    public event Action? Queued;

    /// <summary>Raised when a process finished its max-requests-th request; the supervisor recycles it.</summary>
    public event Action<ProcessEndpoint>? RecycleDue;

    /// <summary>Raised when a request on a process ran past the app's max-request-time; the supervisor replaces the process.</summary>
    public event Action<ProcessEndpoint>? OverMaxRequestTime;

    /// <summary>A request on <paramref name="endpoint"/> took longer than max-request-time (the process is taken to hang).</summary>
    public void ReportOverMaxRequestTime(ProcessEndpoint endpoint) => OverMaxRequestTime?.Invoke(endpoint);

    /// <summary>
    /// Raised once per pending run when a process asked for out-of-band work (its response header, or every
    /// <see cref="OobWorkEvery"/> requests); the supervisor takes it from there.
    /// </summary>
    public event Action<ProcessEndpoint>? OobWorkWanted;

    /// <summary>Out-of-band work after every N requests of a process (the app's oob-work-every); 0 turns counting off.</summary>
    public int OobWorkEvery { get; init; }

    /// <summary>Raised when the request path asks for a restart (tmp/restart.txt changed, tmp/always_restart.txt exists).</summary>
    public event Action<RestartRequest>? RestartRequested;

    /// <summary>Gets a process with a free session slot, waiting in FIFO order when all are full.</summary>
    public ValueTask<AcquireResult> AcquireAsync(ProcessEndpoint? exclude, CancellationToken ct) => AcquireAsync(exclude, null, ct);

    /// <summary>
    /// Gets a process with a free session slot. A routable <paramref name="preferred"/> process (sticky session) is
    /// used even when others are less busy; when it is full the request waits for it rather than going elsewhere.
    /// </summary>
    public async ValueTask<AcquireResult> AcquireAsync(ProcessEndpoint? exclude, ProcessEndpoint? preferred, CancellationToken ct)
    {
        if (preferred is not null && (preferred.IsDisabled || ReferenceEquals(preferred, exclude))) preferred = null;
        if (preferred is not null)
        {
            if (preferred.TryAcquire()) return AcquireResult.Success(preferred);
        }
        else if (TryAcquireFast(exclude) is { } fast)
        {
            return AcquireResult.Success(fast);
        }
        if (_failure is { } failed && _routable.Length == 0) return AcquireResult.Unavailable(failed);

        var waiter = new Waiter(exclude, preferred);
        lock (_gate)
        {
            if (QueueLimits.MaxQueueSize > 0 && _waiterCount >= QueueLimits.MaxQueueSize)
                return AcquireResult.QueueFull;
            // The preferred process may have left rotation since the check above: then any process will do.
            if (preferred is not null && preferred.IsDisabled) waiter.Preferred = null;
            waiter.Node = _waiters.AddLast(waiter);
            Interlocked.Increment(ref _waiterCount);
            if (waiter.Preferred is not null) Interlocked.Increment(ref _stickyWaiterCount);
            // A release may have happened between the fast path and taking the lock.
            DispatchWaitersLocked();
        }
        if (!waiter.Completion.Task.IsCompleted && waiter.Preferred is null) Queued?.Invoke();
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
            RemoveWaiterLocked(waiter);
            return true;
        }
    }

    /// <summary>Returns the session slot and hands it to the oldest waiter, if any.</summary>
    /// <param name="oobRequested">The process's response asked for out-of-band work.</param>
    public void Release(ProcessEndpoint endpoint, bool oobRequested = false)
    {
        var recycle = endpoint.Release(out var processed);
        if (Volatile.Read(ref _waiterCount) > 0)
            lock (_gate) DispatchWaitersLocked();
        if (recycle) RecycleDue?.Invoke(endpoint);
        var every = OobWorkEvery;
        // The flag coalesces: a process answering many requests that ask for OOB work signals its supervisor once per run.
        if ((oobRequested || (every > 0 && processed % every == 0)) && !endpoint.IsDisabled && endpoint.TryMarkOobWanted())
            OobWorkWanted?.Invoke(endpoint);
    }

    /// <summary>The routable process a sticky-session cookie names, or null when it is gone.</summary>
    public ProcessEndpoint? FindRoute(string routeId)
    {
        foreach (var endpoint in _routable)
            if (endpoint.RouteId == routeId && !endpoint.IsDisabled) return endpoint;
        return null;
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

    /// <summary>
    /// Stops routing to a process for good; requests already on it finish and its <see cref="ProcessEndpoint.Sessions"/>
    /// tells when they have (supervisor only). Requests waiting for it as their sticky process go to any process.
    /// </summary>
    public void Remove(ProcessEndpoint endpoint)
    {
        lock (_gate)
        {
            endpoint.Disable();
            _routable = _routable.Where(e => !ReferenceEquals(e, endpoint)).ToArray();
            foreach (var waiter in _waiters)
            {
                if (!ReferenceEquals(waiter.Preferred, endpoint)) continue;
                waiter.Preferred = null;
                Interlocked.Decrement(ref _stickyWaiterCount);
            }
            DispatchWaitersLocked();
        }
    }

    /// <summary>Puts a process back in rotation after its out-of-band work (supervisor only).</summary>
    public void Restore(ProcessEndpoint endpoint)
    {
        endpoint.Enable();
        Add(endpoint);
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
            Interlocked.Exchange(ref _stickyWaiterCount, 0);
            _waiters.Clear();
        }
    }

    /// <summary>Asks the supervisor for a restart without waiting (tmp/restart.txt changed).</summary>
    public void RequestRestart(RestartMethod? method = null) => RestartRequested?.Invoke(new RestartRequest(method, null));

    /// <summary>
    /// Asks the supervisor for a restart and waits until the old processes take no new requests, so the caller's
    /// request is served by a fresh process (tmp/always_restart.txt).
    /// </summary>
    public Task RestartAsync(RestartMethod method, CancellationToken ct)
    {
        var handler = RestartRequested;
        if (handler is null) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        handler(new RestartRequest(method, done));
        return done.Task.WaitAsync(QueueLimits.NoProcessTimeout, ct);
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
                if (candidate.IsDisabled) continue;
                if (best is null || IsBetter(candidate, best)) best = candidate;
            }
            if (best is null) return null;
            if (best.TryAcquire()) return best;
        }
        return null;
    }

    /// <summary>Least busy wins, but a process due for recycling only serves when no other has room.</summary>
    private static bool IsBetter(ProcessEndpoint candidate, ProcessEndpoint best) =>
        candidate.IsRecycling != best.IsRecycling ? !candidate.IsRecycling : candidate.Busyness < best.Busyness;

    private void DispatchWaitersLocked()
    {
        // FIFO among requests that any process can serve; a sticky request waiting for its busy process does not
        // hold up the ones behind it.
        var poolFull = false;
        for (var node = _waiters.First; node is not null;)
        {
            var next = node.Next;
            var waiter = node.Value;
            ProcessEndpoint? endpoint = null;
            if (waiter.Preferred is { } preferred)
            {
                endpoint = preferred.TryAcquire() ? preferred : null;
            }
            else if (!poolFull)
            {
                endpoint = TryAcquireFast(waiter.Exclude);
                // A waiter that excludes a process may miss a slot the next waiter could take.
                if (endpoint is null && waiter.Exclude is null) poolFull = true;
            }
            if (endpoint is not null)
            {
                RemoveWaiterLocked(waiter);
                if (!waiter.Completion.TrySetResult(AcquireResult.Success(endpoint))) endpoint.Unacquire();
            }
            else if (poolFull && Volatile.Read(ref _stickyWaiterCount) == 0)
            {
                return;
            }
            node = next;
        }
    }

    private void RemoveWaiterLocked(Waiter waiter)
    {
        _waiters.Remove(waiter.Node!);
        Interlocked.Decrement(ref _waiterCount);
        if (waiter.Preferred is not null) Interlocked.Decrement(ref _stickyWaiterCount);
    }

    private sealed class Waiter(ProcessEndpoint? exclude, ProcessEndpoint? preferred)
    {
        public ProcessEndpoint? Exclude { get; } = exclude;
        public ProcessEndpoint? Preferred { get; set; } = preferred;
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
