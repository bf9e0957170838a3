using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Hosting.Management;
using Porter.Workers.Pool;

namespace Porter.Workers.Management;

/// <summary><c>GET /pool</c> (the node's pool as passenger-status shows it) and <c>POST /pool/apps/{name}/restart</c>.</summary>
public static class PoolApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapPoolApi(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/pool", async (ActorSystem system, IRequiredActor<PoolManager> pool, CancellationToken ct) =>
        {
            var state = await pool.ActorRef.Ask<PoolState>(PoolProtocol.GetPoolState.Instance, AskTimeout, ct);
            return Results.Json(new { nodes = new[] { NodeDocument(Cluster.Get(system).SelfAddress.ToString(), state) } });
        });

        routes.MapPost("/pool/apps/{name}/restart", async (string name, HttpRequest request, IRequiredActor<PoolManager> pool, CancellationToken ct) =>
        {
            RestartMethod? method = null;
            if (request.Query["method"].ToString() is { Length: > 0 } text)
            {
                if (!Enum.TryParse<RestartMethod>(text, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                    return ManagementErrors.BadRequest($"method must be 'rolling' or 'blocking', not '{text}'");
                method = parsed;
            }
            var reply = await pool.ActorRef.Ask<IPoolMessage>(new PoolProtocol.RestartApp(new(name), method), AskTimeout, ct);
            return reply switch
            {
                PoolProtocol.RestartStarted started => Results.Json(new { message = $"{started.Method.ToString().ToLowerInvariant()} restart of {name} started" },
                    statusCode: StatusCodes.Status202Accepted),
                _ => ManagementErrors.NotFound($"no app named '{name}' on this node"),
            };
        }).AddEndpointFilter<BearerTokenFilter>();
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
            }),
        }),
    };
}
