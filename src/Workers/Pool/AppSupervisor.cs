using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Workers.Oob;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>
/// One per app per worker node: owns the app's <see cref="AppProcess"/> children and decides how many there are.
/// It keeps min-instances up, scales up when requests queue, stops idle processes, recycles processes after
/// max-requests or above max-memory (successor first), restarts rolling or blocking, replaces crashed processes with
/// backoff and marks the app failing in a crash loop. It publishes routable processes to the app's
/// <see cref="AppPool"/>, which the data plane reads without asking this actor anything.
/// It also takes processes that asked for out-of-band work through their run, giving up capacity only once the
/// cluster-wide token is in hand: an <see cref="OobRunner"/> asks for the token while the process keeps serving (after a
/// spare is up, or once the queue is empty, when it is the last routable one); once granted the process leaves rotation,
/// drains (bounded by the stop grace, token held), works, and comes back (or is recycled). No token within the token wait
/// bound drops the run, and the process never left.
/// </summary>
public sealed class AppSupervisor : ReceiveActor, IWithTimers
{
    /// <summary>Restart the app (the request path asks through the pool's event).</summary>
    private sealed record Restart(RestartMethod? Method, TaskCompletionSource? Done);

    private sealed record Reconcile;
    private sealed record HealthyCheck(IActorRef Process);
    private sealed record Queued;
    private sealed record RecycleDue(ProcessEndpoint Endpoint);
    private sealed record OverMaxRequestTime(ProcessEndpoint Endpoint);
    private sealed record IdleTick;
    private sealed record MemoryTick;
    private sealed record DrainTick;
    private sealed record OobWanted(ProcessEndpoint Endpoint);
    private sealed record OobTick;

    /// <summary>OutOfBand: out of rotation for out-of-band work; it comes back (unlike Disabling, which ends in a stop).</summary>
    private enum ChildState { Starting, Enabled, OutOfBand, Disabling, ShuttingDown }

    /// <summary>
    /// Where a process's out-of-band work run is. It serves until its token is granted: Pending (waiting for a spare, for
    /// the queue to empty, or for its previous run's release to be acknowledged), WaitingForToken, Granted (token held,
    /// leaving as soon as another process serves or the queue is empty); then out of rotation: Draining, Working.
    /// </summary>
    private enum OobPhase { Pending, WaitingForToken, Granted, Draining, Working }

    /// <summary>One process's pending or running out-of-band work.</summary>
    private sealed class OobRun(DateTimeOffset since)
    {
        public OobPhase Phase { get; set; } = OobPhase.Pending;
        /// <summary>When the current phase began; from the grant on, when the token was granted (the bound of leaving and draining).</summary>
        public DateTimeOffset Since { get; set; } = since;
        /// <summary>It is the last routable process and the pool may start a spare to serve while it works.</summary>
        public bool WantsSpare { get; set; }
        /// <summary>No spare can start (pool full, max-instances, backoff): it leaves once the app's queue is empty.</summary>
        public bool NoRoomForSpare { get; set; }
        public Child? Spare { get; set; }
        public long? SpareRequest { get; set; }
    }

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
        /// <summary>Its out-of-band work run, from the request that asked until it is back in rotation.</summary>
        public OobRun? Oob { get; set; }
        /// <summary>The runner of its current or last run, told when the process exits (a recycled run holds its token until then).</summary>
        public IActorRef? OobRunner { get; set; }
        public ProcessId? Pid => Endpoint?.Pid;
        /// <summary>
        /// Serves or will serve requests, and no successor is taking its place yet. A process stopped first to make
        /// room for its successor still counts: its slot starts the successor once it is gone.
        /// </summary>
        public bool CountsAsCapacity =>
            (State is ChildState.Starting or ChildState.Enabled or ChildState.OutOfBand && Successor is null) || StopFirst;
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
    private readonly Dictionary<long, Child> _spareRequests = new();
    private readonly Func<ProcessEndpoint, Props>? _oobRunner;
    private int _oobCounter;
    /// <summary>Runs dropped because no token came in time, since the supervisor started (shown by /pool).</summary>
    private long _oobDropped;
    /// <summary>Runs dropped since the last grant: only the first of a streak is logged as a warning.</summary>
    private long _oobDropStreak;
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
    private Action<ProcessEndpoint>? _onOverMaxRequestTime;
    private Action<AppPool.RestartRequest>? _onRestart;
    private Action<ProcessEndpoint>? _onOobWanted;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="plan">Builds the spawn plan; throws when the app type cannot be detected.</param>
    /// <param name="processProps">Props of the actor owning one process (an <see cref="AppProcess"/>; tests pass a stand-in).</param>
    /// <param name="slots">Grants max-pool-size slots: the <see cref="PoolManager"/>.</param>
    /// <param name="oobRunner">Props of the runner of one process's out-of-band work; null turns OOB work off.</param>
    public AppSupervisor(AppOptions app, AppPool pool, Func<SpawnPlan> plan, Func<SpawnPlan, Props> processProps,
        IActorRef slots, ILogger logger, SupervisorSettings settings, Func<ProcessEndpoint, Props>? oobRunner = null)
    {
        _oobRunner = oobRunner;
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
            else OnOobRunnerStopped(t.ActorRef);
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
        Receive<OverMaxRequestTime>(over => OnOverMaxRequestTime(over.Endpoint));
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
        Receive<OobWanted>(wanted => OnOobWanted(wanted.Endpoint));
        Receive<OobTick>(_ => Apply());
        Receive<OobRunner.Granted>(_ => OnOobGranted(Sender));
        Receive<OobRunner.TokenWaitExpired>(expired => OnOobTokenWaitExpired(Sender, expired));
        Receive<OobRunner.Finished>(finished => OnOobFinished(Sender, finished));
    }

    public static Props Props(AppOptions app, AppPool pool, Func<SpawnPlan> plan, Func<SpawnPlan, Props> processProps,
        IActorRef slots, ILogger logger, SupervisorSettings settings, Func<ProcessEndpoint, Props>? oobRunner = null) =>
        Akka.Actor.Props.Create(() => new AppSupervisor(app, pool, plan, processProps, slots, logger, settings, oobRunner));

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
        _onOverMaxRequestTime = endpoint => self.Tell(new OverMaxRequestTime(endpoint));
        _onRestart = request => self.Tell(new Restart(request.Method, request.Done));
        _onOobWanted = endpoint => self.Tell(new OobWanted(endpoint));
        _pool.Queued += _onQueued;
        _pool.RecycleDue += _onRecycleDue;
        _pool.OverMaxRequestTime += _onOverMaxRequestTime;
        _pool.RestartRequested += _onRestart;
        _pool.OobWorkWanted += _onOobWanted;

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
        _pool.OverMaxRequestTime -= _onOverMaxRequestTime;
        _pool.RestartRequested -= _onRestart;
        _pool.OobWorkWanted -= _onOobWanted;
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
        AdvanceOobRuns();

        var now = Now;
        if (_blockingRestart || now < _spawnBlockedUntil)
        {
            // Nothing starts while old processes are still stopping (blocking restart) or during backoff. The
            // scheduler may fire a tick early: re-arm the backoff timer for whatever is left of it.
            if (now < _spawnBlockedUntil) Timers.StartSingleTimer("backoff", new Reconcile(), _spawnBlockedUntil - now);
            ReleaseFreeSlots();
            return;
        }

        foreach (var child in _children.Values.Where(c => c.Oob is { Phase: OobPhase.Pending or OobPhase.Granted, WantsSpare: true, NoRoomForSpare: false, Spare: null, SpareRequest: null }).ToList())
        {
            // A spare serves while the app's last routable process does its out-of-band work.
            if (_freeSlots > 0)
            {
                _freeSlots--;
                if (Spawn(null) is not { } spare) return;
                child.Oob!.Spare = spare;
                _logger.LogInformation("{App} starts a spare process so process {Pid} can do out-of-band work", _app.Name, child.Pid?.Value);
            }
            else
            {
                var id = ++_nextRequestId;
                child.Oob!.SpareRequest = id;
                _spareRequests[id] = child;
                _slots.Tell(new PoolSlots.Request(_app.AppName, id, Replacement: true));
            }
        }

        foreach (var child in ReplacementsDue())
        {
            if (_freeSlots > 0)
            {
                _freeSlots--;
                if (Spawn(child) is null) return;
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
            if (Spawn(null) is null) return;
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

    /// <summary>Starts a process with a slot already held; null (after backoff) when the app cannot be started.</summary>
    private Child? Spawn(Child? predecessor)
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
            return null;
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
        return child;
    }

    // ---- slots ---------------------------------------------------------------------------------------------------

    private void OnGranted(PoolSlots.Granted granted)
    {
        _generalRequests.Remove(granted.RequestId);
        if (_replacementRequests.Remove(granted.RequestId, out var child)) child.SlotRequest = null;
        if (_spareRequests.Remove(granted.RequestId, out var waiting) && waiting.Oob is { } run) run.SpareRequest = null;
        // Slots are interchangeable: Apply gives it to the most urgent need, or returns it.
        _freeSlots++;
        Apply();
    }

    private void OnDenied(PoolSlots.Denied denied)
    {
        _generalRequests.Remove(denied.RequestId);
        if (_spareRequests.Remove(denied.RequestId, out var waiting))
        {
            if (waiting.Oob is { } run)
            {
                run.SpareRequest = null;
                run.NoRoomForSpare = true;
            }
            Apply();
            return;
        }
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
        AbandonOob(child);
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
            case ChildState.Enabled or ChildState.OutOfBand:
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
        AbandonOob(child);
        child.OobRunner?.Tell(OobRunner.ProcessExited.Instance);
        foreach (var waiting in _children.Values.Where(c => c.Oob?.Spare == child))
        {
            // The spare died before serving: the process waiting for it falls back to an empty queue.
            waiting.Oob!.Spare = null;
            waiting.Oob.NoRoomForSpare = true;
        }

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
        // A process doing out-of-band work is replaced once it is back in rotation.
        if (child is not { State: ChildState.Enabled or ChildState.OutOfBand, ReplaceReason: null }) return;
        child.ReplaceReason = $"served {endpoint.MaxRequests} requests (max-requests)";
        _logger.LogInformation("{App} process {Pid} is recycled: {Reason}", _app.Name, endpoint.Pid.Value, child.ReplaceReason);
        Apply();
    }

    /// <summary>
    /// A request ran past max-request-time: the process is taken to hang and leaves rotation at once (no successor
    /// first: it would keep taking requests it cannot answer); its other requests get the stop grace, then it is ended.
    /// </summary>
    private void OnOverMaxRequestTime(ProcessEndpoint endpoint)
    {
        var child = _children.Values.FirstOrDefault(c => ReferenceEquals(c.Endpoint, endpoint));
        if (child is not { State: ChildState.Enabled or ChildState.OutOfBand }) return;
        child.ReplaceReason = $"a request took longer than max-request-time ({_app.MaxRequestTime} s)";
        Retire(child, child.ReplaceReason);
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

    // ---- out-of-band work ------------------------------------------------------------------------------------------

    private void OnOobWanted(ProcessEndpoint endpoint)
    {
        var child = _children.Values.FirstOrDefault(c => ReferenceEquals(c.Endpoint, endpoint));
        if (_oobRunner is null || child is not { State: ChildState.Enabled, Oob: null, ReplaceReason: null, Successor: null }
            || child.Generation < _generation)
        {
            // A process on its way out gets no run; clearing lets a later request ask again if it stays.
            endpoint.ClearOobWanted();
            return;
        }
        _logger.LogDebug("{App} process {Pid} asked for out-of-band work", _app.Name, endpoint.Pid.Value);
        child.Oob = new OobRun(Now);
        Apply();
    }

    /// <summary>Moves every run as far as it can go now; called by <see cref="Apply"/>, so after every event.</summary>
    private void AdvanceOobRuns()
    {
        if (_oobRunner is null) return;
        // In start order: when several processes ask at once, the last of them is the one that stays routable.
        foreach (var child in _children.Values.Where(c => c.Oob is { Phase: not (OobPhase.WaitingForToken or OobPhase.Working) })
                     .OrderBy(c => c.StartedAt).ToList())
            AdvanceOob(child, child.Oob!);
        // Waiting for the token needs no polling: the runner reports the grant (or gives up).
        var polling = _children.Values.Any(c => c.Oob is { Phase: not (OobPhase.WaitingForToken or OobPhase.Working) });
        if (!polling) Timers.Cancel("oob");
        else if (!Timers.IsTimerActive("oob")) Timers.StartPeriodicTimer("oob", new OobTick(), TimeSpan.FromMilliseconds(50));
    }

    // Per-run steps log at Debug: an app asking on every response would otherwise fill the log; the runner logs each run once.
    private void AdvanceOob(Child child, OobRun run)
    {
        var endpoint = child.Endpoint!;
        switch (run.Phase)
        {
            case OobPhase.Pending:
                // The coordinator knows a process by (node, app, PID): while its previous run's token is not acknowledged as
                // released, asking again would be answered with that same token, and the late release would then end the new
                // run's token under it. So the next run asks only once the previous runner is gone.
                if (child.OobRunner is not null) return;
                // Asked only when the process could leave at once if granted, so a token is never held waiting for a spare.
                if (!MayLeaveRotation(child, run)) return;
                run.Phase = OobPhase.WaitingForToken;
                run.Since = Now;
                child.OobRunner = Context.ActorOf(_oobRunner!(endpoint), $"oob-{endpoint.Pid.Value}-{++_oobCounter}");
                Context.Watch(child.OobRunner);
                _logger.LogDebug("{App} process {Pid} asks for an out-of-band work token and keeps serving", _app.Name, endpoint.Pid.Value);
                return;
            case OobPhase.Granted:
                if (!MayLeaveRotation(child, run))
                {
                    if (Now - run.Since >= _settings.StopGrace)
                        SkipOob(child, $"it is still the app's last routable process with requests queued {_settings.StopGrace.TotalSeconds} s after its token was granted");
                    return;
                }
                _pool.Remove(endpoint);
                child.State = ChildState.OutOfBand;
                run.Phase = OobPhase.Draining;
                _logger.LogDebug("{App} process {Pid} has its token and leaves rotation for out-of-band work", _app.Name, endpoint.Pid.Value);
                goto case OobPhase.Draining;
            case OobPhase.Draining:
                if (endpoint.Sessions > 0)
                {
                    // A long request (a WebSocket, a stream) must not keep the process out of rotation, nor the token from others.
                    if (Now - run.Since >= _settings.StopGrace)
                        SkipOob(child, $"it still has {endpoint.Sessions} requests {_settings.StopGrace.TotalSeconds} s after its token was granted");
                    return;
                }
                run.Phase = OobPhase.Working;
                child.OobRunner!.Tell(OobRunner.Proceed.Instance);
                return;
        }
    }

    /// <summary>The token arrived: the process may leave rotation (checked by <see cref="AdvanceOob"/>), holding it meanwhile.</summary>
    private void OnOobGranted(IActorRef runner)
    {
        if (_children.Values.FirstOrDefault(c => runner.Equals(c.OobRunner)) is not { Oob: { Phase: OobPhase.WaitingForToken } run })
        {
            // The run was given up meanwhile (the process is leaving, or gone): the token goes straight back.
            runner.Tell(OobRunner.Skip.Instance);
            return;
        }
        if (_oobDropStreak > 0)
        {
            _logger.LogInformation("{App} gets out-of-band work tokens again, after {Dropped} runs were dropped", _app.Name, _oobDropStreak);
            _oobDropStreak = 0;
        }
        run.Phase = OobPhase.Granted;
        run.Since = Now;
        Apply();
    }

    /// <summary>No token within the bound: the run is dropped; the process never left rotation. The runner withdraws the request.</summary>
    private void OnOobTokenWaitExpired(IActorRef runner, OobRunner.TokenWaitExpired expired)
    {
        if (_children.Values.FirstOrDefault(c => runner.Equals(c.OobRunner)) is not { Oob.Phase: OobPhase.WaitingForToken } child) return;
        _oobDropped++;
        // Logged once per streak: with OOB work on every response, an outage would otherwise log one line per process and run.
        if (_oobDropStreak++ == 0)
            _logger.LogWarning("{App} process {Pid} got no out-of-band work token within {Timeout} s (the coordinator may be unreachable " +
                "or moving); its run is dropped and it keeps serving. Further drops are counted in /pool and porter.oob.runs, not logged",
                _app.Name, expired.Pid.Value, Math.Round(expired.Waited.TotalSeconds, 1));
        else
            _logger.LogDebug("{App} process {Pid} dropped its out-of-band work run: no token within {Timeout} s", _app.Name, expired.Pid.Value,
                Math.Round(expired.Waited.TotalSeconds, 1));
        EndOob(child);
        Apply();
    }

    /// <summary>A granted run that cannot leave or drain in time: the token goes back unused and the process serves on.</summary>
    private void SkipOob(Child child, string why)
    {
        _logger.LogWarning("{App} process {Pid} skips its out-of-band work: {Reason}", _app.Name, child.Pid?.Value, why);
        child.OobRunner?.Tell(OobRunner.Skip.Instance);
        EndOob(child);
    }

    /// <summary>A runner stops once its token is given back (or its request withdrawn): the process may start its next run.</summary>
    private void OnOobRunnerStopped(IActorRef runner)
    {
        if (_children.Values.FirstOrDefault(c => runner.Equals(c.OobRunner)) is not { } child) return;
        child.OobRunner = null;
        Apply();
    }

    /// <summary>
    /// A process leaves rotation for its work only when another one serves meanwhile. The app's last routable
    /// process waits for a spare when the pool has room (as Passenger spawns one), otherwise until the queue is empty.
    /// While another process is out for its own run it comes back soon: no spare is started for that.
    /// </summary>
    private bool MayLeaveRotation(Child child, OobRun run)
    {
        if (_children.Values.Any(c => c != child && c.State == ChildState.Enabled)) return true;
        if (_children.Values.Any(c => c != child && c.State == ChildState.OutOfBand)) return false;
        if (!run.NoRoomForSpare)
        {
            if (run.Spare is not null || run.SpareRequest is not null) return false;
            var capacity = _children.Values.Count(c => c.CountsAsCapacity);
            var spawnBlocked = _blockingRestart || Now < _spawnBlockedUntil;
            if (!spawnBlocked && (_app.MaxInstances == 0 || capacity < _app.MaxInstances))
            {
                run.WantsSpare = true;
                return false;
            }
            run.NoRoomForSpare = true;
        }
        return _pool.QueueLength == 0;
    }

    private void OnOobFinished(IActorRef runner, OobRunner.Finished finished)
    {
        var child = _children.Values.FirstOrDefault(c => runner.Equals(c.OobRunner));
        if (child is null)
        {
            // The process is gone already: the runner may give its token back.
            runner.Tell(OobRunner.ProcessExited.Instance);
            return;
        }
        if (finished.Recycle)
        {
            child.ReplaceReason = $"its out-of-band work {(finished.Outcome == OobOutcome.TimedOut ? "timed out" : "failed to connect")}";
            Retire(child, child.ReplaceReason);
        }
        else
        {
            EndOob(child);
        }
        Apply();
    }

    /// <summary>The run is over (or skipped): the process takes requests again and may ask for another run.</summary>
    private void EndOob(Child child)
    {
        ForgetSpare(child);
        child.Oob = null;
        if (child.State == ChildState.OutOfBand)
        {
            child.State = ChildState.Enabled;
            _pool.Restore(child.Endpoint!);
            _logger.LogDebug("{App} process {Pid} is back in rotation after out-of-band work", _app.Name, child.Pid?.Value);
        }
        child.Endpoint?.ClearOobWanted();
    }

    /// <summary>The process leaves for good: its runner gives up (and never leaks a token).</summary>
    private void AbandonOob(Child child)
    {
        if (child.Oob is null) return;
        ForgetSpare(child);
        child.Oob = null;
        child.OobRunner?.Tell(OobRunner.Abort.Instance);
    }

    private void ForgetSpare(Child child)
    {
        // A spare already started stays: it is capacity like any other process (pool-idle-time stops it later).
        if (child.Oob?.SpareRequest is { } request) _spareRequests.Remove(request);
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
                    endpoint.Concurrency, endpoint.Processed, c.StartedAt, uptime, cpu, sample?.RssBytes, endpoint.LastUsed, OobPhaseName(c.Oob));
            })
            .ToList();
        return new AppPoolState(_app.AppName, _app.MinInstances, _app.MaxInstances, _pool.QueueLength,
            _children.Values.Count(c => c.State == ChildState.Starting), _restartUnfinished, _pool.CurrentFailure?.Reason, processes, _oobDropped);
    }

    private static string? OobPhaseName(OobRun? run) => run switch
    {
        null => null,
        { Phase: OobPhase.Pending } => "pending",
        { Phase: OobPhase.WaitingForToken } => "waiting-for-token",
        { Phase: OobPhase.Granted } => "granted",
        { Phase: OobPhase.Draining } => "draining",
        _ => "working",
    };

    private static ProcessLifecycle Lifecycle(ChildState state) => state switch
    {
        ChildState.Enabled => ProcessLifecycle.Enabled,
        ChildState.OutOfBand => ProcessLifecycle.Disabled,
        ChildState.Disabling => ProcessLifecycle.Disabling,
        _ => ProcessLifecycle.ShuttingDown,
    };
}
