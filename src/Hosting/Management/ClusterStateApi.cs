using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Porter.Contracts.Nodes;
using Porter.Contracts.Options;

namespace Porter.Hosting.Management;

/// <summary>
/// The cluster-wide views of the management API: <c>GET /pool</c> (every worker node's pool), <c>GET /cache</c>
/// (every cache node's turbocache counters), <c>GET /requests</c> (every worker's in-flight and queued requests) and <c>POST /pool/apps/{name}/restart</c> (a restart on every worker
/// node serving the app). Any node answers them by asking the node agents of the members with the role.
/// </summary>
public static class ClusterStateApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapClusterStateApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/pool", (ActorSystem system, CancellationToken ct) => GatherAsync(system, "worker", "pool", ct));
        routes.MapGet("/cache", (ActorSystem system, CancellationToken ct) => GatherAsync(system, "cache", "cache", ct));
        routes.MapGet("/requests", (ActorSystem system, CancellationToken ct) => GatherAsync(system, "worker", "requests", ct));

        routes.MapPost("/pool/apps/{name}/restart", async (string name, HttpRequest request, ActorSystem system, CancellationToken ct) =>
        {
            string? method = null;
            if (request.Query["method"].ToString() is { Length: > 0 } text)
            {
                if (!Enum.TryParse<RestartMethod>(text, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                    return ManagementErrors.BadRequest($"method must be 'rolling' or 'blocking', not '{text}'");
                method = parsed.ToString().ToLowerInvariant();
            }
            var answers = await ClusterGather.AskAllAsync<NodeProtocol.RestartResult>(system, "worker",
                new NodeProtocol.RestartApp(name, method), AskTimeout, ct);
            var started = answers.Where(a => a.Reply is { Started: true }).ToArray();
            if (started.Length == 0)
                return answers.Any(a => a.Error is not null)
                    ? Results.Json(new { error = $"no worker node restarted '{name}'", nodes = Failures(answers) }, statusCode: StatusCodes.Status503ServiceUnavailable)
                    : ManagementErrors.NotFound($"no app named '{name}' on any worker node");
            var used = started[0].Reply!.Method ?? "rolling";
            return Results.Json(new
            {
                message = $"{used} restart of {name} started on {started.Length} worker node{(started.Length == 1 ? "" : "s")}",
                nodes = started.Select(a => a.Member.Address.ToString()),
                failed = Failures(answers),
            }, statusCode: StatusCodes.Status202Accepted);
        }).AddEndpointFilter<BearerTokenFilter>();
    }

    private static IEnumerable<object> Failures<T>(IEnumerable<ClusterGather.Answer<T>> answers) where T : class =>
        answers.Where(a => a.Error is not null).Select(a => new { node = a.Member.Address.ToString(), error = a.Error });

    private static async Task<IResult> GatherAsync(ActorSystem system, string role, string kind, CancellationToken ct) =>
        Results.Json(await GatherReportsAsync(system, role, kind, ct));

    /// <summary><c>{"nodes": [...]}</c>: each node's own document, or its address and why it did not answer.</summary>
    public static async Task<JsonObject> GatherReportsAsync(ActorSystem system, string role, string kind, CancellationToken ct)
    {
        var answers = await ClusterGather.AskAllAsync<NodeProtocol.Report>(system, role, new NodeProtocol.GetReport(kind), AskTimeout, ct);
        var nodes = new JsonArray();
        foreach (var answer in answers)
        {
            if (answer.Reply?.Json is { } json) nodes.Add(JsonNode.Parse(json));
            else nodes.Add(new JsonObject { ["node"] = answer.Member.Address.ToString(), ["error"] = answer.Error ?? $"no {kind} report" });
        }
        return new JsonObject { ["nodes"] = nodes };
    }
}
