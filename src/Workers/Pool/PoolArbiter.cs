using Porter.Contracts.Ids;

namespace Porter.Workers.Pool;

/// <summary>
/// Enforces max-pool-size across every app on a node, as Passenger does: a supervisor needs a slot for each process
/// it starts and returns it when the process is gone. When the pool is full, idle processes (no sessions) of other
/// apps above their min-instances are stopped to make room, least recently used first; requests for a slot wait
/// in FIFO order meanwhile. Pure bookkeeping: the PoolManager actor feeds it and carries out its actions.
/// </summary>
public sealed class PoolArbiter(int maxPoolSize, IReadOnlyDictionary<AppName, int> minInstances)
{
    /// <summary>An enabled process without sessions, a candidate for making room.</summary>
    public readonly record struct IdleProcess(AppName App, ProcessId Pid, DateTimeOffset LastUsed);

    /// <summary>What the manager must do after a call.</summary>
    public abstract record Action;

    /// <summary>The app may start one process.</summary>
    public sealed record Grant(AppName App, long RequestId) : Action;

    /// <summary>No room now and none can be made: a replacement must stop its predecessor first.</summary>
    public sealed record Deny(AppName App, long RequestId) : Action;

    /// <summary>Stop this idle process gracefully; its slot goes to a waiting request.</summary>
    public sealed record Evict(AppName App, ProcessId Pid) : Action;

    private readonly record struct Request(AppName App, long Id);

    private readonly Dictionary<AppName, int> _used = new();
    private readonly LinkedList<Request> _waiting = new();
    private readonly Dictionary<ProcessId, AppName> _evicting = new();

    public int MaxPoolSize { get; } = maxPoolSize;

    /// <summary>Slots held by every app: processes starting, running or stopping.</summary>
    public int Used { get; private set; }

    /// <summary>Requests waiting for a slot.</summary>
    public int Waiting => _waiting.Count;

    public int UsedBy(AppName app) => _used.GetValueOrDefault(app);

    /// <summary>An app asks for a slot. A replacement is denied at once when no room can be made, instead of waiting.</summary>
    /// <param name="idle">Idle processes of every app; only read when the pool is full.</param>
    public IReadOnlyList<Action> RequestSlot(AppName app, long requestId, bool replacement, Func<IEnumerable<IdleProcess>> idle)
    {
        if (Used < MaxPoolSize)
        {
            Take(app);
            return [new Grant(app, requestId)];
        }
        _waiting.AddLast(new Request(app, requestId));
        var evictions = MoreEvictions(idle);
        if (replacement && evictions.Count == 0 && _evicting.Count < _waiting.Count)
        {
            _waiting.RemoveLast();
            return [new Deny(app, requestId)];
        }
        return evictions;
    }

    /// <summary>A process of the app is gone (or a granted slot was not needed): its slot goes to the oldest waiting request.</summary>
    public IReadOnlyList<Action> ReleaseSlot(AppName app, ProcessId? pid, Func<IEnumerable<IdleProcess>> idle)
    {
        if (UsedBy(app) > 0)
        {
            _used[app] = UsedBy(app) - 1;
            Used--;
        }
        if (pid is { } gone) _evicting.Remove(gone);
        return GrantWaiting(idle);
    }

    /// <summary>The supervisor would not stop the process (it got busy, or its app is at min-instances): try another.</summary>
    public IReadOnlyList<Action> EvictionRefused(ProcessId pid, Func<IEnumerable<IdleProcess>> idle)
    {
        _evicting.Remove(pid);
        return MoreEvictions(idle);
    }

    /// <summary>An app's supervisor restarted without its processes: forget its slots, waiting requests and evictions.</summary>
    public IReadOnlyList<Action> Reset(AppName app, Func<IEnumerable<IdleProcess>> idle)
    {
        Used -= UsedBy(app);
        _used[app] = 0;
        for (var node = _waiting.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.App == app) _waiting.Remove(node);
            node = next;
        }
        foreach (var pid in _evicting.Where(e => e.Value == app).Select(e => e.Key).ToList()) _evicting.Remove(pid);
        return GrantWaiting(idle);
    }

    /// <summary>Looks again for processes that turned idle since, while requests still wait for room.</summary>
    public IReadOnlyList<Action> Retry(Func<IEnumerable<IdleProcess>> idle) => MoreEvictions(idle);

    private List<Action> GrantWaiting(Func<IEnumerable<IdleProcess>> idle)
    {
        var actions = new List<Action>();
        while (Used < MaxPoolSize && _waiting.First is { } first)
        {
            _waiting.RemoveFirst();
            Take(first.Value.App);
            actions.Add(new Grant(first.Value.App, first.Value.Id));
        }
        actions.AddRange(MoreEvictions(idle));
        return actions;
    }

    private void Take(AppName app)
    {
        _used[app] = UsedBy(app) + 1;
        Used++;
    }

    private List<Action> MoreEvictions(Func<IEnumerable<IdleProcess>> idle)
    {
        var actions = new List<Action>();
        if (_evicting.Count >= _waiting.Count) return actions;
        // An app that waits for room has no idle process worth stopping; making room means taking it from others.
        var waitingApps = _waiting.Select(r => r.App).ToHashSet();
        var candidates = idle()
            .Where(p => !waitingApps.Contains(p.App) && !_evicting.ContainsKey(p.Pid))
            .OrderBy(p => p.LastUsed)
            .ToList();
        foreach (var candidate in candidates)
        {
            if (_evicting.Count >= _waiting.Count) break;
            var evictingFromApp = _evicting.Values.Count(a => a == candidate.App);
            if (UsedBy(candidate.App) - evictingFromApp <= minInstances.GetValueOrDefault(candidate.App)) continue;
            _evicting[candidate.Pid] = candidate.App;
            actions.Add(new Evict(candidate.App, candidate.Pid));
        }
        return actions;
    }
}
