using Akka.Actor;
using Akka.Cluster;
using Akka;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Workers.Pool;

namespace Porter.Workers.Hosting;

/// <summary>
/// A worker's graceful stop on SIGTERM. First it leaves the cluster and waits until the leave has spread (its member
/// status reaches Exiting), so gateways stop sending it requests; then the web server drains what is in flight. The
/// actor system, whose end stops the app processes, waits until no request holds or waits for a process.
/// </summary>
public static class WorkerDrain
{
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Registers the drain with the host's stopping signal and the actor system's coordinated shutdown.</summary>
    public static AkkaConfigurationBuilder WithWorkerDrain(this AkkaConfigurationBuilder builder, PorterOptions options) => builder
        // The pools drain within the shutdown grace; the phase must not time out before that.
        .AddHocon($"akka.coordinated-shutdown.phases.before-actor-system-terminate.timeout = {options.ShutdownGrace + 5}s", HoconAddMode.Prepend)
        .WithActors((system, _, resolver) =>
        {
            var lifetime = resolver.GetService<IHostApplicationLifetime>();
            var pools = resolver.GetService<PoolRegistry>();
            var logger = resolver.GetService<ILoggerFactory>().CreateLogger("Porter.Workers.Drain");
            lifetime.ApplicationStopping.Register(() => LeaveAndWait(system, logger));
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "porter-drain-pools",
                () => WaitForIdlePoolsAsync(pools, TimeSpan.FromSeconds(options.ShutdownGrace), logger));
        });

    /// <summary>Leaves the cluster unless this node is alone in it, and waits (bounded) until the other members have seen it.</summary>
    private static void LeaveAndWait(ActorSystem system, ILogger logger)
    {
        var cluster = Cluster.Get(system);
        if (system.WhenTerminated.IsCompleted || !cluster.State.Members.Any(m => !m.Address.Equals(cluster.SelfAddress))) return;
        logger.LogInformation("Leaving the cluster so gateways stop routing to {Node}", cluster.SelfAddress);
        cluster.Leave(cluster.SelfAddress);
        var deadline = DateTime.UtcNow + LeaveTimeout;
        while (DateTime.UtcNow < deadline && !system.WhenTerminated.IsCompleted
               && cluster.SelfMember.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining or MemberStatus.Leaving)
            Thread.Sleep(PollInterval);
    }

    private static async Task<Done> WaitForIdlePoolsAsync(PoolRegistry pools, TimeSpan grace, ILogger logger)
    {
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && pools.All.Any(Busy)) await Task.Delay(PollInterval);
        if (pools.All.Any(Busy)) logger.LogWarning("Stopping app processes with requests still in flight after {Grace}", grace);
        return Done.Instance;
    }

    private static bool Busy(AppPool pool) => pool.QueueLength > 0 || pool.Routable.Any(e => e.Sessions > 0);
}
