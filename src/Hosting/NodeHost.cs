using System.Net;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Hosting.Discovery;
using Porter.Hosting.ConsoleLog;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Hosting.Persistence;

namespace Porter.Hosting;

/// <summary>
/// What every node kind (standalone, gateway, worker) is built from: the web host with its logging, limits and
/// management listener, and the Akka cluster set-up (remoting, clustering, persistence, health checks).
/// Each kind's composition root adds its roles' actors, services and pipeline on top.
/// </summary>
public static class NodeHost
{
    /// <summary>The actor system name every Porter node uses, so nodes can join each other.</summary>
    public const string ActorSystemName = "porter";

    /// <summary>A web application builder with Porter's logging, Kestrel limits and management listener; no public listener yet.</summary>
    public static WebApplicationBuilder CreateBuilder(PorterOptions options)
    {
        Directory.CreateDirectory(options.DataDir!);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = options.DataDir,
            EnvironmentName = "Production",
        });
        builder.Configuration.Sources.Clear();
        builder.Logging.AddPorterConsole(options.Logging);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // One char per byte for every header, and a Connection value Kestrel would otherwise cut short (the edge must see what it lists).
            kestrel.RequestHeaderEncodingSelector = ConnectionHeaderEncoding.Selector;
            kestrel.ResponseHeaderEncodingSelector = static _ => HeaderBytes.Encoding;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize == 0 ? null : options.MaxRequestBodySize;
            kestrel.ListenForManagement(options, ListenAddress(options.ManagementListenAddress));
        });
        // Read each request straight into a pooled buffer instead of a zero-byte read first: one receive call fewer per
        // request (+4% uncacheable, +9% hits in an interleaved A/B), for a 4 KB block held by each idle keep-alive
        // connection.
        builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = false);
        // Kestrel drains in-flight requests, then app processes get SIGTERM and their grace period.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownGrace * 2 + 5));
        builder.Services.AddSingleton(options);
        builder.Services.AddManagement();
        return builder;
    }

    /// <summary>
    /// Remoting on the node address, clustering with the node's roles and the split brain resolver (joined through
    /// the seed nodes, Cluster Bootstrap, or as a cluster of its own), the SQL journal, the management health checks
    /// and the node agent.
    /// </summary>
    public static AkkaConfigurationBuilder WithPorterNode(this AkkaConfigurationBuilder akka, PorterOptions options, IReadOnlyList<string> roles) => akka
        .ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = NodeLogging.AkkaEventLevel(options.Logging);
            loggers.ClearLoggers();
            loggers.AddLogger<AkkaLogBridge>();
        })
        .WithRemoting(options.Hostname, options.RemotingPort)
        .WithClustering(new ClusterOptions
        {
            Roles = roles.ToArray(),
            SeedNodes = options.SeedNodes.ToArray(),
            // A crashed node is downed (and so removed) without a person, by the side that keeps the majority.
            SplitBrainResolver = options.Downing switch
            {
                "keep-majority" => new KeepMajorityOption(),
                "keep-oldest" => new KeepOldestOption(),
                _ => null,
            },
        })
        // "off": no downing provider at all (Akka 1.5 would otherwise default to its split brain resolver).
        .AddHocon(options.Downing == "off" ? "akka.cluster.downing-provider-class = \"\"" : "", HoconAddMode.Prepend)
        .AddHocon(RecoveryHocon(options.DowningStableAfter), HoconAddMode.Prepend)
        // The host, not Akka's own SIGTERM hook, runs the coordinated shutdown: its stopping signal first (a gateway's
        // lookups stop asking entities, a worker leaves the cluster), then Kestrel drains, then Akka.Hosting's stop
        // hands shards over and leaves. With the hook on, shards were handed over while Kestrel still served.
        .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
        .WithPorterPersistence(options)
        .WithPorterBootstrap(options)
        .AddStartup((system, _) =>
        {
            // Without seeds or discovery the node forms a cluster of its own (its remoting port may be chosen by the
            // OS); with discovery, Cluster Bootstrap decides who forms the cluster and the others join it.
            if (options.SeedNodes.Count == 0 && !BootstrapHosting.UsesBootstrap(options))
            {
                var cluster = Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            }
            return Task.CompletedTask;
        })
        .WithManagementHealthChecks()
        .WithNodeAgent();

    /// <summary>The margin between a node's removal and its singletons (and shard coordinator) starting elsewhere.</summary>
    public static readonly TimeSpan DownRemovalMargin = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Failure detection, downing and hand-over tuned for a LAN or a Kubernetes network, where a crashed pod should
    /// cost seconds, not minutes (the README's "Recovery after a node dies" explains the trade-off and the timeline).
    /// </summary>
    /// <remarks>
    /// The failure detector keeps Akka's defaults (a heartbeat a second, 3 s of silence tolerated): .NET GC pauses and a
    /// loaded node must not look like a crash. The split brain resolver decides after <paramref name="stableAfter"/>
    /// seconds of stable membership (5 by default instead of Akka's 20, which is sized for clusters of up to 100 nodes).
    /// Without <c>down-removal-margin</c> Akka waits stable-after once more before a removed node's singletons start
    /// elsewhere; 2 s covers the losing side of a partition stopping its own (it downs itself at about the same moment).
    /// A graceful hand-off of shards is bounded so that a stopping node never waits on it for a minute.
    /// </remarks>
    public static string RecoveryHocon(double stableAfter) => $$"""
        akka.cluster {
          failure-detector {
            heartbeat-interval = 1s
            acceptable-heartbeat-pause = 3s
            threshold = 8.0
          }
          split-brain-resolver.stable-after = {{stableAfter.ToString(System.Globalization.CultureInfo.InvariantCulture)}}s
          down-removal-margin = {{DownRemovalMargin.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}}s
          sharding {
            handoff-timeout = 10s
            coordinator-failure-backoff = 1s
          }
        }
        """;

    /// <summary>An address option as Kestrel takes it: "localhost", "*" (any) or an IP address.</summary>
    public static IPAddress ListenAddress(string address) => address switch
    {
        "localhost" => IPAddress.Loopback,
        "*" => IPAddress.Any,
        _ => IPAddress.Parse(address),
    };
}
