using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Workers.Management;
using Porter.Workers.Oob;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>
/// The worker node's pool: starts one <see cref="AppSupervisor"/> per configured app, enforces max-pool-size across
/// them with a <see cref="PoolArbiter"/> (asking idle processes of other apps to make room), and answers
/// <see cref="PoolProtocol"/> messages: restarts and <see cref="PoolState"/> snapshots.
/// </summary>
public sealed class PoolManager : ReceiveActor, IWithTimers
{
    private sealed record RetryEvictions;

    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(5);

    private readonly PoolRegistry _pools;
    private readonly PoolArbiter _arbiter;
    private readonly List<(AppName App, IActorRef Supervisor)> _supervisors = new();

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="supervisorProps">Props of an app's supervisor, given the app, its pool and this manager (the slot owner).</param>
    public PoolManager(PorterOptions options, PoolRegistry pools, Func<AppOptions, AppPool, IActorRef, Props> supervisorProps)
    {
        _pools = pools;
        _arbiter = new PoolArbiter(options.MaxPoolSize, options.Apps.ToDictionary(a => a.AppName, a => a.MinInstances));
        foreach (var app in options.Apps)
        {
            var supervisor = Context.ActorOf(supervisorProps(app, pools.Find(app.AppName)!, Self), "app-" + Uri.EscapeDataString(app.Name));
            _supervisors.Add((app.AppName, supervisor));
        }

        Receive<PoolSlots.Request>(r => Execute(_arbiter.RequestSlot(r.App, r.RequestId, r.Replacement, IdleProcesses)));
        Receive<PoolSlots.Release>(r => Execute(_arbiter.ReleaseSlot(r.App, r.Pid, IdleProcesses)));
        Receive<PoolSlots.YieldRefused>(r => Execute(_arbiter.EvictionRefused(r.Pid, IdleProcesses)));
        Receive<PoolSlots.Reset>(r => Execute(_arbiter.Reset(r.App, IdleProcesses)));
        Receive<RetryEvictions>(_ => Execute(_arbiter.Retry(IdleProcesses)));
        Receive<PoolProtocol.RestartApp>(restart =>
        {
            if (Supervisor(restart.App) is { } supervisor) supervisor.Forward(restart);
            else Sender.Tell(new PoolProtocol.UnknownApp(restart.App));
        });
        Receive<PoolProtocol.GetPoolState>(_ =>
        {
            var (max, used) = (_arbiter.MaxPoolSize, _arbiter.Used);
            Task.WhenAll(_supervisors.Select(s => s.Supervisor.Ask<AppPoolState>(PoolProtocol.GetPoolState.Instance, StateTimeout)))
                .PipeTo(Sender, success: apps => new PoolState(max, used, apps));
        });
    }

    public static Props Props(PorterOptions options, PoolRegistry pools, Func<AppOptions, AppPool, IActorRef, Props> supervisorProps) =>
        Akka.Actor.Props.Create(() => new PoolManager(options, pools, supervisorProps));

    private IActorRef? Supervisor(AppName app) => _supervisors.Find(s => s.App == app).Supervisor;

    /// <summary>Enabled processes without sessions, read from the data plane's snapshots.</summary>
    private IEnumerable<PoolArbiter.IdleProcess> IdleProcesses() =>
        _pools.All.SelectMany(pool => pool.Routable
            .Where(e => e.Sessions == 0 && !e.IsDisabled)
            .Select(e => new PoolArbiter.IdleProcess(pool.App, e.Pid, e.LastUsed)));

    private void Execute(IReadOnlyList<PoolArbiter.Action> actions)
    {
        foreach (var action in actions)
        {
            switch (action)
            {
                case PoolArbiter.Grant grant:
                    Supervisor(grant.App)?.Tell(new PoolSlots.Granted(grant.RequestId));
                    break;
                case PoolArbiter.Deny deny:
                    Supervisor(deny.App)?.Tell(new PoolSlots.Denied(deny.RequestId));
                    break;
                case PoolArbiter.Evict evict:
                    Supervisor(evict.App)?.Tell(new PoolSlots.YieldIdle(evict.Pid));
                    break;
            }
        }
        // Processes turn idle without telling anyone: while requests wait for room, look again now and then.
        if (_arbiter.Waiting == 0) Timers.Cancel("retry");
        else if (!Timers.IsTimerActive("retry")) Timers.StartPeriodicTimer("retry", new RetryEvictions(), TimeSpan.FromMilliseconds(500));
    }
}

/// <summary>Akka.Hosting registration of the worker pool.</summary>
public static class PoolManagerHostingExtensions
{
    /// <summary>How often an OOB runner re-sends a command the coordinator has not answered (it may be moving).</summary>
    private static readonly TimeSpan OobRetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Starts the pool manager (and so every app's supervisor) and registers it as <c>IRequiredActor&lt;PoolManager&gt;</c>.
    /// Out-of-band work runs when the OOB coordinator's proxy is registered first (<c>WithOobCoordinator</c>).
    /// </summary>
    public static AkkaConfigurationBuilder AddPoolManager(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
        {
            var options = resolver.GetService<PorterOptions>();
            var processes = resolver.GetService<ProcessRegistry>();
            var settings = resolver.GetService<SupervisorSettings>();
            var logger = resolver.GetService<ILoggerFactory>().CreateLogger("Porter.Workers.Pool");
            resolver.GetService<PoolMetrics>(); // its gauges exist from the moment the pool does
            var wsgiLoader = Path.Combine(AppContext.BaseDirectory, "wsgi_loader.py");
            OobRunnerSettings? oob = null;
            if (registry.TryGet<OobCoordinator>(out var coordinator))
            {
                oob = new OobRunnerSettings(coordinator, Cluster.Get(system).SelfAddress.ToString(), options.Oob, OobRetryInterval,
                    OobWorkClient.PostAsync, resolver.GetService<OobMetrics>());
            }
            var manager = system.ActorOf(PoolManager.Props(options, resolver.GetService<PoolRegistry>(), (app, pool, slots) =>
            {
                var environment = app.Environment ?? options.Environment;
                Func<ProcessEndpoint, Props>? oobRunner = oob is null ? null : endpoint => OobRunner.Props(app.AppName, endpoint, oob, logger);
                return AppSupervisor.Props(app, pool, () => AppTypeDetector.Plan(app, environment, wsgiLoader),
                    plan => AppProcess.Props(app, plan, processes, logger), slots, logger, settings, oobRunner);
            }), "pool");
            registry.Register<PoolManager>(manager);
        });

    /// <summary>The services the pool and dispatcher share.</summary>
    public static IServiceCollection AddWorkerPool(this IServiceCollection services)
    {
        services.AddSingleton<PoolRegistry>();
        services.AddSingleton<ProcessRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ProcessRegistry>());
        services.AddSingleton(sp => SupervisorSettings.From(sp.GetRequiredService<PorterOptions>()));
        services.AddSingleton<PoolMetrics>();
        return services;
    }
}
