using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>
/// One per app per worker node: owns the app's <see cref="AppProcess"/> children and decides how many there are.
/// It keeps min-instances up, scales up when requests queue, stops idle processes, recycles processes after
/// max-requests or above max-memory (successor first), restarts rolling or blocking, replaces crashed processes with
/// backoff and marks the app failing in a crash loop. It publishes routable processes to the app's
/// <see cref="AppPool"/>, which the data plane reads without asking this actor anything.
/// </summary>
public sealed class AppSupervisor : ReceiveActor, IWithTimers
{
    /// <summary>Restart the app (the request path asks through the pool's event).</summary>
    private sealed record Restart(RestartMethod? Method, TaskCompletionSource? Done);

    private sealed record Reconcile;
    private sealed record HealthyCheck(IActorRef Process);
    private sealed record Queued;
    private sealed record RecycleDue(ProcessEndpoint Endpoint);
    private sealed record IdleTick;
    private sealed record MemoryTick;
    private sealed record DrainTick;

    private enum ChildState { Starting, Enabled, Disabling, ShuttingDown }

    /// <summary>What the supervisor knows about one of its processes.</summary>
    private sealed class Child(IActorRef actor, int generation, DateTimeOffset spawnedAt)
    {
        public IActorRef Actor { get; } = actor;
        public int Generation { get; } = generation;
        public ChildState State { get; set; } = ChildState.Starting;
        public ProcessEndpoint? Endpoint { get; set; }
        public DateTimeOffset StartedAt { get; set; } = spawnedAt;
        public Child? Predecessor { get; set; }
        public Child? Successor { get; set; }
        /// <summary>Why it must be replaced (max-requests, max-memory); null while it may keep serving.</summary>
        public string? ReplaceReason { get; set; }
        /// <summary>The pending slot request for its successor.</summary>
        public long? SlotRequest { get; set; }
        /// <summary>Stopped before its successor starts, because the pool had no room for both.</summary>
        public bool StopFirst { get; set; }
        /// <summary>Stopped to make room for another app; its slot goes back to the pool manager.</summary>
        public bool Yielded { get; set; }
        public DateTimeOffset DisablingSince { get; set; }
        public ProcessId? Pid => Endpoint?.Pid;
        /// <summary>
        /// Serves or will serve requests, and no successor is taking its place yet. A process stopped first to make
        /// room for its successor still counts: its slot starts the successor once it is gone.
        /// </summary>
        public bool CountsAsCapacity => (State is ChildState.Starting or ChildState.Enabled && Successor is null) || StopFirst;
    }

    private readonly AppOptions _app;
    private readonly AppPool _pool;
    private readonly Func<SpawnPlan> _plan;
    private readonly Func<SpawnPlan, Props> _processProps;
    private readonly IActorRef _slots;
    private readonly ILogger _logger;
    private readonly SupervisorSettings _settings;
    private readonly RestartBackoff _backoff;
    private readonly Dictionary<IActorRef, Child> _children = new();
    private readonly HashSet<long> _generalRequests = new();
    private readonly Dictionary<long, Child> _replacementRequests = new();
    private readonly List<TaskCompletionSource> _restartWaiters = new();
    private int _freeSlots;
    private long _nextRequestId;
    private int _spawnCounter;
    private int _generation;
    private bool _blockingRestart;
    private bool _restartUnfinished;
    private DateTimeOffset _spawnBlockedUntil = DateTimeOffset.MinValue;
    private int _queuedSignalPending;
    private Action? _onQueued;
    private Action<ProcessEndpoint>? _onRecycleDue;
    private Action<AppPool.RestartRequest>? _onRestart;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="plan">Builds the spawn plan; throws when the app type cannot be detected.</param>
    /// <param name="processProps">Props of the actor owning one process (an <see cref="AppProcess"/>; tests pass a stand-in).</param>
    /// <param name="slots">Grants max-pool-size slots: the <see cref="PoolManager"/>.</param>
    public AppSupervisor(AppOptions app, AppPool pool, Func<SpawnPlan> plan, Func<SpawnPlan, Props> processProps,
        IActorRef slots, ILogger logger, SupervisorSettings settings)
    {
        _app = app;
        _pool = pool;
        _plan = plan;
        _processProps = processProps;
        _slots = slots;
        _logger = logger;
        _settings = settings;
        _backoff = new RestartBackoff(settings.Backoff);

        Receive<AppProcess.Ready>(OnReady);
        Receive<AppProcess.Failed>(failed => OnGone(Sender, failed));
        Receive<AppProcess.Stopped>(_ => OnGone(Sender, null));
        Receive<Terminated>(t =>
        {
            // A process actor that stopped without reporting (it threw) still needs replacing.
            if (_children.ContainsKey(t.ActorRef)) OnGone(t.ActorRef, new AppProcess.Failed(null, "process actor stopped", []));
        });
        Receive<PoolSlots.Granted>(OnGranted);
        Receive<PoolSlots.Denied>(OnDenied);
        Receive<PoolSlots.YieldIdle>(OnYieldIdle);
        Receive<Reconcile>(_ => Apply());
        Receive<Queued>(_ =>
        {
            Interlocked.Exchange(ref _queuedSignalPending, 0);
            Apply();
        });
        Receive<RecycleDue>(due => OnRecycleDue(due.Endpoint));
        Receive<Restart>(OnRestart);
        Receive<PoolProtocol.RestartApp>(restart =>
        {
            OnRestart(new Restart(restart.Method, null));
            Sender.Tell(new PoolProtocol.RestartStarted(_app.AppName, restart.Method ?? _app.RestartMethod));
        });
        Receive<PoolProtocol.GetPoolState>(_ => Sender.Tell(State()));
        Receive<HealthyCheck>(check =>
        {
            if (_children.TryGetValue(check.Process, out var child) && child.State == ChildState.Enabled) _backoff.RecordHealthy();
        });
        Receive<IdleTick>(_ => StopIdleProcesses());
        Receive<MemoryTick>(_ => CheckMemory());
        Receive<DrainTick>(_ => Drain());
    }

    public static Props Props(AppOptions app, AppPool pool, Func<SpawnPlan> plan, Func<SpawnPlan, Props> processProps,
        IActorRef slots, ILogger logger, SupervisorSettings settings) =>
        Akka.Actor.Props.Create(() => new AppSupervisor(app, pool, plan, processProps, slots, logger, settings));

    // A failing process actor is replaced by this supervisor's own logic, never restarted in place.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        // The data plane signals by Tell only: a request never waits for this actor.
        var self = Self;
        _onQueued = () =>
        {
            if (Interlocked.Exchange(ref _queuedSignalPending, 1) == 0) self.Tell(new Queued());
        };
        _onRecycleDue = endpoint => self.Tell(new RecycleDue(endpoint));
        _onRestart = request => self.Tell(new Restart(request.Method, request.Done));
        _pool.Queued += _onQueued;
        _pool.RecycleDue += _onRecycleDue;
        _pool.RestartRequested += _onRestart;

        if (_app.PoolIdleTime > 0)
        {
            var interval = TimeSpan.FromSeconds(Math.Clamp(_app.PoolIdleTime / 2, 0.25, 10));
            Timers.StartPeriodicTimer("idle", new IdleTick(), interval);
        }
        if (_app.MaxMemory > 0) Timers.StartPeriodicTimer("memory", new MemoryTick(), _settings.MemoryCheckInterval);
        Apply();
    }

    protected override void PostRestart(Exception reason)
    {
        // The processes went with the failed instance; so did the slots they held.
        _slots.Tell(new PoolSlots.Reset(_app.AppName));
        base.PostRestart(reason);
    }

    protected override void PostStop()
    {
        _pool.Queued -= _onQueued;
        _pool.RecycleDue -= _onRecycleDue;
        _pool.RestartRequested -= _onRestart;
        CompleteRestartWaiters();
    }

    private DateTimeOffset Now => DateTimeOffset.UtcNow;

    private int Concurrency =>
        _children.Values.FirstOrDefault(c => c.Endpoint is not null)?.Endpoint!.Concurrency ?? _app.Concurrency ?? 0;

    // ---- deciding how many processes there should be ------------------------------------------------------------

    /// <summary>
    /// Brings the processes towards what the app needs now: successors for processes being replaced, then enough
    /// processes for min-instances and the queue. Every start needs a slot from the pool manager; slots not needed
    /// go back to it. Called after every event that can change the answer.
    /// </summary>
    private void Apply()
    {
        if (_blockingRestart && !_children.Values.Any(c => c.Generation < _generation)) _blockingRestart = false;

        var now = Now;
        if (_blockingRestart || now < _spawnBlockedUntil)
        {
            // Nothing starts while old processes are still stopping (blocking restart) or during backoff. The
            // scheduler may fire a tick early: re-arm the backoff timer for whatever is left of it.
            if (now < _spawnBlockedUntil) Timers.StartSingleTimer("backoff", new Reconcile(), _spawnBlockedUntil - now);
            ReleaseFreeSlots();
            return;
        }

        foreach (var child in ReplacementsDue())
        {
            if (_freeSlots > 0)
            {
                _freeSlots--;
                if (!Spawn(child)) return;
            }
            else
            {
                var id = ++_nextRequestId;
                child.SlotRequest = id;
                _replacementRequests[id] = child;
                _slots.Tell(new PoolSlots.Request(_app.AppName, id, Replacement: true));
            }
        }

        var current = _children.Values.Count(c => c.CountsAsCapacity);
        var starting = _children.Values.Count(c => c.State == ChildState.Starting);
        var target = ScalingPolicy.Target(_app.MinInstances, _app.MaxInstances, current + _generalRequests.Count,
            starting + _generalRequests.Count, _pool.ScalableQueueLength, Concurrency);
        var missing = target - current - _generalRequests.Count;
        for (; missing > 0 && _freeSlots > 0; missing--)
        {
            _freeSlots--;
            if (!Spawn(null)) return;
        }
        for (; missing > 0; missing--)
        {
            var id = ++_nextRequestId;
            _generalRequests.Add(id);
            _slots.Tell(new PoolSlots.Request(_app.AppName, id, Replacement: false));
        }
        ReleaseFreeSlots();

        // A restart is over once nothing from before it is left and its new processes are up.
        if (_restartUnfinished && _generalRequests.Count == 0
            && !_children.Values.Any(c => c.Generation < _generation || c.State == ChildState.Starting))
            _restartUnfinished = false;
    }

    /// <summary>
    /// Processes whose successor should be started now. Recycled ones all at once; those from before a rolling
    /// restart one at a time, and only while nothing else is starting, so capacity never dips.
    /// </summary>
    private List<Child> ReplacementsDue()
    {
        var enabled = _children.Values
            .Where(c => c.State == ChildState.Enabled && c.Successor is null && c.SlotRequest is null)
            .OrderBy(c => c.StartedAt)
            .ToList();
        var due = enabled.Where(c => c.ReplaceReason is not null && c.Generation == _generation).ToList();
        var rollingBusy = _children.Values.Any(c =>
                c.State == ChildState.Starting
                || (c.Generation < _generation && (c.SlotRequest is not null || c.Successor is not null))
                || (c.StopFirst && c.State is ChildState.Disabling or ChildState.ShuttingDown))
            || _generalRequests.Count > 0;
        if (!rollingBusy && enabled.FirstOrDefault(c => c.Generation < _generation) is { } next) due.Add(next);
        return due;
    }

    private void ReleaseFreeSlots()
    {
        for (; _freeSlots > 0; _freeSlots--) _slots.Tell(new PoolSlots.Release(_app.AppName, null));
    }

    /// <summary>Starts a process with a slot already held; false (after backoff) when the app cannot be started.</summary>
    private bool Spawn(Child? predecessor)
    {
        SpawnPlan plan;
        try
        {
            plan = _plan();
        }
        catch (AppTypeDetector.UndetectableAppException e)
        {
            _freeSlots++;
            Crashed(null, new AppPool.Failure(e.Message, []));
            return false;
        }
        var actor = Context.ActorOf(_processProps(plan), $"process-{++_spawnCounter}");
        Context.Watch(actor);
        var child = new Child(actor, _generation, Now);
        _children[actor] = child;
        if (predecessor is not null)
        {
            child.Predecessor = predecessor;
            predecessor.Successor = child;
        }
        return true;
    }

    // ---- slots ---------------------------------------------------------------------------------------------------

    private void OnGranted(PoolSlots.Granted granted)
    {
        _generalRequests.Remove(granted.RequestId);
        if (_replacementRequests.Remove(granted.RequestId, out var child)) child.SlotRequest = null;
        // Slots are interchangeable: Apply gives it to the most urgent need, or returns it.
        _freeSlots++;
        Apply();
    }

    private void OnDenied(PoolSlots.Denied denied)
    {
        _generalRequests.Remove(denied.RequestId);
        if (!_replacementRequests.Remove(denied.RequestId, out var child)) return;
        child.SlotRequest = null;
        if (child.State != ChildState.Enabled || child.Successor is not null) return;
        // No room for both: this process goes first and its slot starts the successor.
        child.StopFirst = true;
        Retire(child, $"{child.ReplaceReason ?? "restarting"}; the pool has no room to start its successor first");
        Apply();
    }

    private void OnYieldIdle(PoolSlots.YieldIdle yield)
    {
        var current = _children.Values.Count(c => c.CountsAsCapacity);
        var child = _children.Values.FirstOrDefault(c => c.Pid == yield.Pid);
        if (child is not { State: ChildState.Enabled, Successor: null, Endpoint.Sessions: 0 } || current <= _app.MinInstances)
        {
            Sender.Tell(new PoolSlots.YieldRefused(_app.AppName, yield.Pid));
            return;
        }
        child.Yielded = true;
        Retire(child, "idle, making room for another app (max-pool-size)");
    }

    // ---- process lifecycle ---------------------------------------------------------------------------------------

    private void OnReady(AppProcess.Ready ready)
    {
        if (!_children.TryGetValue(Sender, out var child)) return;
        child.State = ChildState.Enabled;
        child.Endpoint = ready.Endpoint;
        child.StartedAt = ready.StartedAt;
        _pool.Add(ready.Endpoint);
        _logger.LogInformation("{App} process {Pid} is ready on port {Port}", _app.Name, ready.Endpoint.Pid.Value, ready.Endpoint.Port);
        Timers.StartSingleTimer(("healthy", Sender), new HealthyCheck(Sender), _backoff.Parameters.HealthyReset);
        if (child.Predecessor is { } predecessor)
        {
            // The successor takes requests before its predecessor stops taking them: no gap in capacity.
            child.Predecessor = null;
            predecessor.Successor = null;
            Retire(predecessor, predecessor.ReplaceReason ?? "restarting");
        }
        Apply();
    }

    /// <summary>
    /// Takes a process out of rotation for good and stops it once its in-flight requests are done (bounded by the
    /// stop grace). Intentional: its exit is not a crash.
    /// </summary>
    private void Retire(Child child, string reason)
    {
        if (child.Successor is { } successor)
        {
            successor.Predecessor = null;
            child.Successor = null;
        }
        if (child.Predecessor is { } predecessor)
        {
            predecessor.Successor = null;
            child.Predecessor = null;
        }
        switch (child.State)
        {
            case ChildState.Starting:
                _logger.LogInformation("{App} stopping a starting process: {Reason}", _app.Name, reason);
                child.State = ChildState.ShuttingDown;
                child.Actor.Tell(AppProcess.Stop.Instance);
                break;
            case ChildState.Enabled:
                _logger.LogInformation("{App} process {Pid} leaves rotation: {Reason}", _app.Name, child.Pid?.Value, reason);
                _pool.Remove(child.Endpoint!);
                child.State = ChildState.Disabling;
                child.DisablingSince = Now;
                if (!Timers.IsTimerActive("drain")) Timers.StartPeriodicTimer("drain", new DrainTick(), TimeSpan.FromMilliseconds(50));
                Drain();
                break;
        }
    }

    /// <summary>Stops disabled processes whose requests have finished, or whose grace ran out.</summary>
    private void Drain()
    {
        var now = Now;
        var disabling = _children.Values.Where(c => c.State == ChildState.Disabling).ToList();
        foreach (var child in disabling)
        {
            if (child.Endpoint!.Sessions > 0 && now - child.DisablingSince < _settings.StopGrace) continue;
            if (child.Endpoint.Sessions > 0)
                _logger.LogWarning("{App} process {Pid} still has {Sessions} requests after {Grace} s; stopping it anyway",
                    _app.Name, child.Pid?.Value, child.Endpoint.Sessions, _settings.StopGrace.TotalSeconds);
            child.State = ChildState.ShuttingDown;
            child.Actor.Tell(AppProcess.Stop.Instance);
        }
        if (!_children.Values.Any(c => c.State == ChildState.Disabling)) Timers.Cancel("drain");
    }

    /// <summary>A process is gone: stopped on purpose (<paramref name="failed"/> null or while stopping) or crashed.</summary>
    private void OnGone(IActorRef actor, AppProcess.Failed? failed)
    {
        if (!_children.Remove(actor, out var child)) return;
        Context.Unwatch(actor);
        Timers.Cancel(("healthy", actor));
        var wasServing = child.State == ChildState.Enabled;
        if (wasServing) _pool.Remove(child.Endpoint!);
        if (child.Predecessor is { } predecessor) predecessor.Successor = null;
        if (child.Successor is { } successor) successor.Predecessor = null;
        if (child.SlotRequest is { } request) _replacementRequests.Remove(request);

        if (child.Yielded)
            _slots.Tell(new PoolSlots.Release(_app.AppName, child.Pid));
        else
            _freeSlots++;

        var intentional = failed is null || child.State is ChildState.Disabling or ChildState.ShuttingDown;
        if (intentional)
        {
            _logger.LogInformation("{App} process {Pid} has stopped", _app.Name, (failed?.Pid ?? child.Pid)?.Value);
            Apply();
        }
        else
        {
            Crashed(failed!.Pid ?? child.Pid, new AppPool.Failure($"the application process {failed.Reason}", failed.StderrTail));
        }
    }

    /// <summary>Backoff before the next start; a crash loop marks the app failing (503 until a process is ready).</summary>
    private void Crashed(ProcessId? pid, AppPool.Failure failure)
    {
        var now = Now;
        var delay = _backoff.RecordCrash(now);
        var until = now + delay;
        if (until > _spawnBlockedUntil) _spawnBlockedUntil = until;
        _logger.LogWarning("{App} process {Pid}: {Reason}; next start in {Delay} s",
            _app.Name, pid?.Value, failure.Reason, delay.TotalSeconds);
        if (_backoff.IsCrashLoop(now))
        {
            _logger.LogError("{App} is crash-looping ({Crashes} crashes within {Window} s): serving 503 until a process starts",
                _app.Name, _backoff.Parameters.CrashLoopCrashes, _backoff.Parameters.CrashLoopWindow.TotalSeconds);
            _pool.MarkFailing(failure);
        }
        else if (!_children.Values.Any(c => c.State == ChildState.Enabled))
        {
            // Nothing can serve until the replacement is up: tell waiting requests why if they give up.
            _pool.NoteFailure(failure);
        }
        Apply();
    }

    // ---- recycling, idle clean-up, restarts ----------------------------------------------------------------------

    private void OnRecycleDue(ProcessEndpoint endpoint)
    {
        var child = _children.Values.FirstOrDefault(c => ReferenceEquals(c.Endpoint, endpoint));
        if (child is not { State: ChildState.Enabled, ReplaceReason: null }) return;
        child.ReplaceReason = $"served {endpoint.MaxRequests} requests (max-requests)";
        _logger.LogInformation("{App} process {Pid} is recycled: {Reason}", _app.Name, endpoint.Pid.Value, child.ReplaceReason);
        Apply();
    }

    private void CheckMemory()
    {
        var limit = _app.MaxMemory * 1024L * 1024L;
        foreach (var child in _children.Values.Where(c => c is { State: ChildState.Enabled, ReplaceReason: null }).ToList())
        {
            if (_settings.ReadMetrics(child.Pid!.Value) is not { } sample || sample.RssBytes <= limit) continue;
            child.ReplaceReason = $"uses {sample.RssBytes / (1024 * 1024)} MB, more than max-memory {_app.MaxMemory} MB";
            child.Endpoint!.MarkRecycling();
            _logger.LogWarning("{App} process {Pid} is recycled: {Reason}", _app.Name, child.Pid.Value.Value, child.ReplaceReason);
        }
        Apply();
    }

    private void StopIdleProcesses()
    {
        var current = _children.Values.Count(c => c.CountsAsCapacity);
        var candidates = _children.Values
            .Where(c => c is { State: ChildState.Enabled, Successor: null, ReplaceReason: null })
            .Select(c => new ScalingPolicy.ProcessLoad<Child>(c, c.Endpoint!.Sessions, c.Endpoint.LastUsed));
        var idleTime = TimeSpan.FromSeconds(_app.PoolIdleTime);
        foreach (var child in ScalingPolicy.IdleToStop(candidates, current, _app.MinInstances, idleTime, Now))
            Retire(child, $"idle for more than {_app.PoolIdleTime} s (pool-idle-time)");
    }

    private void OnRestart(Restart restart)
    {
        var method = restart.Method ?? _app.RestartMethod;
        if (restart.Done is { } done) _restartWaiters.Add(done);
        if (_restartUnfinished)
        {
            // As Passenger: a restart asked for during a restart joins it rather than starting over. The old
            // processes already left rotation (blocking) or are being replaced (rolling), so waiters may go on.
            CompleteRestartWaiters();
            return;
        }
        _generation++;
        _restartUnfinished = true;
        _blockingRestart = method == RestartMethod.Blocking;
        _logger.LogInformation("{App} restarts ({Method})", _app.Name, method.ToString().ToLowerInvariant());
        foreach (var child in _children.Values.Where(c => c.Generation < _generation).ToList())
        {
            // A process still starting would come up with the old code: stop it now in either method.
            if (child.State == ChildState.Starting || _blockingRestart) Retire(child, "restarting");
        }
        // Blocking: the old processes are out of rotation now, so waiting requests will reach new ones.
        CompleteRestartWaiters();
        Apply();
    }

    private void CompleteRestartWaiters()
    {
        foreach (var waiter in _restartWaiters) waiter.TrySetResult();
        _restartWaiters.Clear();
    }

    // ---- status ----------------------------------------------------------------------------------------------------

    private AppPoolState State()
    {
        var now = Now;
        var processes = _children.Values
            .Where(c => c.Endpoint is not null)
            .OrderBy(c => c.StartedAt)
            .Select(c =>
            {
                var endpoint = c.Endpoint!;
                var sample = _settings.ReadMetrics(endpoint.Pid);
                var uptime = now - c.StartedAt;
                var cpu = sample is { } s && uptime > TimeSpan.Zero ? Math.Round(s.CpuTime / uptime * 100, 1) : 0;
                return new ProcessState(endpoint.Pid, endpoint.RouteId, Lifecycle(c.State), endpoint.Sessions,
                    endpoint.Concurrency, endpoint.Processed, c.StartedAt, uptime, cpu, sample?.RssBytes, endpoint.LastUsed);
            })
            .ToList();
        return new AppPoolState(_app.AppName, _app.MinInstances, _app.MaxInstances, _pool.QueueLength,
            _children.Values.Count(c => c.State == ChildState.Starting), _restartUnfinished, _pool.CurrentFailure?.Reason, processes);
    }

    private static ProcessLifecycle Lifecycle(ChildState state) => state switch
    {
        ChildState.Enabled => ProcessLifecycle.Enabled,
        ChildState.Disabling => ProcessLifecycle.Disabling,
        _ => ProcessLifecycle.ShuttingDown,
    };
}
