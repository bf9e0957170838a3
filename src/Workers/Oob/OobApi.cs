using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Porter.Contracts.Oob;
using Porter.Hosting.Management.Dashboard;

namespace Porter.Workers.Oob;

/// <summary>
/// <c>GET /oob</c> on the management port: the OOB coordinator's state (holders and queue per scope, counters per app and
/// cluster-wide), asked through the singleton proxy, so any node with a proxy answers it.
/// </summary>
public static class OobApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Maps the route; pass it to <c>UseManagement</c> on nodes that register the coordinator or its proxy.</summary>
    public static void MapOobApi(IEndpointRouteBuilder routes)
    {
        // The dashboard's OOB holders and queue, read the same way.
        var coordinatorProxy = routes.ServiceProvider.GetRequiredService<IRequiredActor<OobCoordinator>>();
        routes.ServiceProvider.GetRequiredService<DashboardSections>().Register("oob", async ct =>
        {
            var proxy = await coordinatorProxy.GetAsync(ct);
            return JsonSerializer.SerializeToNode(Document(await proxy.Ask<OobProtocol.OobState>(OobProtocol.GetOobState.Instance, AskTimeout, ct)));
        });
        routes.MapGet("/oob", async (IRequiredActor<OobCoordinator> coordinator, CancellationToken ct) =>
        {
            OobProtocol.OobState state;
            try
            {
                var proxy = await coordinator.GetAsync(ct);
                state = await proxy.Ask<OobProtocol.OobState>(OobProtocol.GetOobState.Instance, AskTimeout, ct);
            }
            catch (AskTimeoutException)
            {
                // The singleton is starting or moving to another node: say so rather than fail opaquely.
                return Results.Json(new { error = $"the OOB coordinator did not answer within {AskTimeout.TotalSeconds} s (it may be moving to another node)" },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            return Results.Json(Document(state));
        });
    }

    /// <summary>The JSON of the coordinator's state: plain strings and numbers (durations in milliseconds), ready for <c>porter status</c>.</summary>
    public static object Document(OobProtocol.OobState state) => new
    {
        maxConcurrent = state.MaxConcurrent,
        at = state.At,
        scopes = state.Scopes.Select(scope => new
        {
            scope = scope.Scope,
            holders = scope.Holders.Select(h => new
            {
                tokenId = h.TokenId,
                node = h.Node,
                app = h.App.Value,
                pid = h.Pid.Value,
                grantedAt = h.GrantedAt,
                heldMs = Ms(state.At - h.GrantedAt),
                leaseExpiresAt = h.LeaseExpiresAt,
            }),
            queueLength = scope.QueueLength,
            queue = scope.Queue.Select(w => new
            {
                node = w.Node,
                app = w.App.Value,
                pid = w.Pid.Value,
                waitingMs = Ms(state.At - w.RequestedAt),
            }),
        }),
        cluster = Counters(state.Cluster),
        apps = state.Apps.Select(a => new { app = a.App.Value, counters = Counters(a.Counters) }),
    };

    private static object Counters(OobCounters c) => new
    {
        runs = c.Runs,
        grants = c.Grants,
        reclaims = c.Reclaims,
        meanDurationMs = Ms(c.MeanDuration),
        maxDurationMs = Ms(c.MaxDuration),
        meanWaitMs = Ms(c.MeanWait),
    };

    private static double Ms(TimeSpan span) => Math.Round(span.TotalMilliseconds, 1);
}
