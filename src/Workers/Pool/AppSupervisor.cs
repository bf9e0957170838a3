using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>
/// One per app per worker node: keeps the app's processes running, replaces crashed ones with backoff,
/// marks the app failing in a crash loop, and publishes routable processes to the app's <see cref="AppPool"/>.
/// </summary>
public sealed class AppSupervisor : ReceiveActor, IWithTimers
{
    private sealed record SpawnReplacement;
    private sealed record HealthyCheck(IActorRef Process);

    private readonly AppOptions _app;
    private readonly AppPool _pool;
    private readonly Func<SpawnPlan> _plan;
    private readonly Func<SpawnPlan, Props> _processProps;
    private readonly ILogger _logger;
    private readonly RestartBackoff _backoff;
    private readonly Dictionary<IActorRef, ProcessEndpoint?> _children = new();
    private int _pendingRespawns;
    private int _spawnCounter;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="plan">Builds the spawn plan; throws when the app type cannot be detected.</param>
    /// <param name="processProps">Props of the actor owning one process (an <see cref="AppProcess"/>; tests pass a stand-in).</param>
    public AppSupervisor(AppOptions app, AppPool pool, Func<SpawnPlan> plan, Func<SpawnPlan, Props> processProps,
        ILogger logger, RestartBackoff.Settings backoff)
    {
        _app = app;
        _pool = pool;
        _plan = plan;
        _processProps = processProps;
        _logger = logger;
        _backoff = new RestartBackoff(backoff);

        Receive<AppProcess.Ready>(OnReady);
        Receive<AppProcess.Failed>(OnFailed);
        Receive<SpawnReplacement>(_ =>
        {
            _pendingRespawns--;
            EnsureMinimum();
        });
        Receive<HealthyCheck>(check =>
        {
            if (_children.TryGetValue(check.Process, out var endpoint) && endpoint is not null) _backoff.RecordHealthy();
        });
        Receive<Terminated>(t =>
        {
            // A process actor that stopped without reporting (it threw) still needs replacing.
            if (_children.ContainsKey(t.ActorRef)) OnFailed(t.ActorRef, new AppProcess.Failed(null, "process actor stopped", []));
        });
    }

    public static Props Props(AppOptions app, AppPool pool, Func<SpawnPlan> plan, Func<SpawnPlan, Props> processProps,
        ILogger logger, RestartBackoff.Settings backoff) =>
        Akka.Actor.Props.Create(() => new AppSupervisor(app, pool, plan, processProps, logger, backoff));

    // A failing process actor is replaced by this supervisor's own logic, never restarted in place.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart() => EnsureMinimum();

    private int Desired => Math.Max(1, _app.MinInstances);

    private void EnsureMinimum()
    {
        while (_children.Count + _pendingRespawns < Desired) Spawn();
    }

    private void Spawn()
    {
        SpawnPlan plan;
        try
        {
            plan = _plan();
        }
        catch (AppTypeDetector.UndetectableAppException e)
        {
            _pool.MarkFailing(new AppPool.Failure(e.Message, []));
            return;
        }
        var child = Context.ActorOf(_processProps(plan), $"process-{++_spawnCounter}");
        Context.Watch(child);
        _children[child] = null;
    }

    private void OnReady(AppProcess.Ready ready)
    {
        if (!_children.ContainsKey(Sender)) return;
        _children[Sender] = ready.Endpoint;
        _pool.Add(ready.Endpoint);
        _logger.LogInformation("{App} process {Pid} is ready on port {Port}", _app.Name, ready.Endpoint.Pid.Value, ready.Endpoint.Port);
        Timers.StartSingleTimer(("healthy", Sender), new HealthyCheck(Sender), _backoff.Parameters.HealthyReset);
    }

    private void OnFailed(AppProcess.Failed failed) => OnFailed(Sender, failed);

    private void OnFailed(IActorRef child, AppProcess.Failed failed)
    {
        if (!_children.Remove(child, out var endpoint)) return;
        Context.Unwatch(child);
        if (endpoint is not null) _pool.Remove(endpoint.Pid);

        var now = DateTimeOffset.UtcNow;
        var delay = _backoff.RecordCrash(now);
        _logger.LogWarning("{App} process {Pid} {Reason}; replacing it in {Delay} s",
            _app.Name, failed.Pid?.Value, failed.Reason, delay.TotalSeconds);
        if (_backoff.IsCrashLoop(now))
        {
            _logger.LogError("{App} is crash-looping ({Crashes} crashes within {Window} s): serving 503 until a process starts",
                _app.Name, _backoff.Parameters.CrashLoopCrashes, _backoff.Parameters.CrashLoopWindow.TotalSeconds);
            _pool.MarkFailing(new AppPool.Failure($"the application process {failed.Reason}", failed.StderrTail));
        }
        else if (_children.Values.All(e => e is null))
        {
            // Nothing can serve until the replacement is up: tell waiting requests why if they give up.
            _pool.NoteFailure(new AppPool.Failure($"the application process {failed.Reason}", failed.StderrTail));
        }
        _pendingRespawns++;
        Timers.StartSingleTimer(("respawn", ++_spawnCounter), new SpawnReplacement(), delay);
    }
}
