using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using System.Text.Json;
using Porter.Contracts.Nodes;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Hosting.Management;
using Porter.Workers.Hosting;
using Porter.Workers.Pool;

namespace Porter.Workers.Management;

/// <summary>
/// The worker's side of the management API: its pool as a <c>pool</c> report (gathered cluster-wide by
/// <c>GET /pool</c>), its endpoint for gateways, and app restarts asked by <c>POST /pool/apps/{name}/restart</c>.
/// </summary>
/// <remarks>A standalone node has no <see cref="WorkerEndpoint"/>: it serves its own gateway in process, not other gateways.</remarks>
public sealed class WorkerManagement(ActorSystem system, IRequiredActor<PoolManager> pool, WorkerEndpoint? endpoint = null) : INodeReportSource, IWorkerNode
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(8);

    public string Kind => "pool";

    public NodeProtocol.WorkerInfo? Info => endpoint?.Info;

    public async Task<string> JsonAsync(CancellationToken cancellationToken)
    {
        var state = await pool.ActorRef.Ask<PoolState>(PoolProtocol.GetPoolState.Instance, AskTimeout, cancellationToken);
        return JsonSerializer.Serialize(NodeDocument(Cluster.Get(system).SelfAddress.ToString(), state));
    }

    public async Task<NodeProtocol.RestartResult> RestartAsync(NodeProtocol.RestartApp restart, CancellationToken cancellationToken)
    {
        RestartMethod? method = restart.Method is null ? null : Enum.Parse<RestartMethod>(restart.Method, ignoreCase: true);
        var reply = await pool.ActorRef.Ask<IPoolMessage>(new PoolProtocol.RestartApp(new(restart.App), method), AskTimeout, cancellationToken);
        return reply is PoolProtocol.RestartStarted started
            ? new NodeProtocol.RestartResult(true, started.Method.ToString().ToLowerInvariant())
            : new NodeProtocol.RestartResult(false, null);
    }

    /// <summary>The JSON of one node's pool: plain strings and numbers, ready for <c>porter status</c>.</summary>
    public static object NodeDocument(string node, PoolState state) => new
    {
        node,
        maxPoolSize = state.MaxPoolSize,
        processCount = state.ProcessCount,
        apps = state.Apps.Select(app => new
        {
            name = app.App.Value,
            minInstances = app.MinInstances,
            maxInstances = app.MaxInstances,
            queueLength = app.QueueLength,
            spawning = app.Spawning,
            restarting = app.Restarting,
            failure = app.Failure,
            oobDropped = app.OobDropped,
            processes = app.Processes.Select(p => new
            {
                pid = p.Pid.Value,
                state = p.State.ToString().ToLowerInvariant(),
                sessions = p.Sessions,
                concurrency = p.Concurrency,
                processed = p.Processed,
                startedAt = p.StartedAt,
                uptimeSeconds = Math.Round(p.Uptime.TotalSeconds, 1),
                cpuPercent = Math.Round(p.CpuPercent, 1),
                rssBytes = p.RssBytes,
                lastUsed = p.LastUsed,
                oob = p.Oob,
            }),
        }),
    };
}
