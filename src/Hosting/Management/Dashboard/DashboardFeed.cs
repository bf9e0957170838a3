using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Porter.Hosting.Management.Dashboard;

/// <summary>
/// What the dashboard shows, gathered from the whole cluster every <see cref="Period"/> (as <c>/pool</c>, <c>/cache</c> and
/// <c>/oob</c> gather it), pushed to every open page's event stream, with 15 minutes of history in bounded rings and the
/// recent events (members joining and leaving, processes starting and exiting, restarts) found by comparing snapshots.
/// It gathers whether or not a page is open, so the charts have their history when someone looks.
/// </summary>
public sealed class DashboardFeed(ActorSystem system, DashboardSections sections, ILogger<DashboardFeed> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(3);

    /// <summary>15 minutes of samples.</summary>
    public const int HistoryLength = 300;

    public const int EventCount = 100;

    private readonly ConcurrentDictionary<Channel<string>, byte> _subscribers = new();
    private readonly Queue<JsonObject> _history = new();
    private readonly LinkedList<JsonObject> _events = new();
    private Snapshot? _previous;
    private volatile string? _latest;
    private bool _failing;

    /// <summary>The latest snapshot's JSON, or null before the first gather.</summary>
    public string? Latest => _latest;

    /// <summary>A stream of snapshots for one page: the latest at once, then each new one (a slow reader skips to the newest).</summary>
    public async IAsyncEnumerable<string> SubscribeAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        _subscribers[channel] = 0;
        try
        {
            if (_latest is { } latest) yield return latest;
            while (await channel.Reader.WaitToReadAsync(cancellationToken))
                while (channel.Reader.TryRead(out var json)) yield return json;
        }
        finally
        {
            _subscribers.TryRemove(channel, out _);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        do
        {
            try
            {
                var json = (await GatherAsync(stoppingToken)).ToJsonString();
                _latest = json;
                foreach (var subscriber in _subscribers.Keys) subscriber.Writer.TryWrite(json);
                if (_failing) logger.LogInformation("Dashboard gather works again");
                _failing = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // One bad gather (a node leaving mid-ask) must not end the feed; a lasting failure is one line, not one every period.
                if (!_failing) logger.LogWarning(e, "Dashboard gather failed: {Error}", e.Message);
                _failing = true;
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<JsonObject> GatherAsync(CancellationToken ct)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var at = DateTimeOffset.UtcNow;
        var pool = ClusterStateApi.GatherReportsAsync(system, "worker", "pool", ct);
        var cache = ClusterStateApi.GatherReportsAsync(system, "cache", "cache", ct);
        var traffic = ClusterStateApi.GatherReportsAsync(system, "gateway", "traffic", ct);
        var extra = sections.ReadAllAsync(ct);

        var members = new JsonArray();
        foreach (var m in state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal))
        {
            members.Add(new JsonObject
            {
                ["node"] = m.Address.ToString(),
                ["status"] = m.Status.ToString(),
                ["roles"] = new JsonArray(m.Roles.Order(StringComparer.Ordinal).Select(r => (JsonNode)r).ToArray()),
                ["reachable"] = !state.Unreachable.Contains(m),
                ["leader"] = m.Address.Equals(state.Leader),
                ["self"] = m.Address.Equals(cluster.SelfAddress),
            });
        }

        JsonObject poolReport = await pool, cacheReport = await cache, trafficReport = await traffic;
        var snapshot = new Snapshot(at, Members(members), Processes(poolReport), Nodes(poolReport).Select(n => (string)n["node"]!).ToHashSet(),
            Restarting(poolReport), Counters(cacheReport), Requests(trafficReport));
        var document = new JsonObject
        {
            ["at"] = at.ToString("O"),
            ["self"] = cluster.SelfAddress.ToString(),
            ["members"] = members,
            ["pool"] = poolReport,
            ["cache"] = cacheReport,
            ["traffic"] = trafficReport,
        };
        foreach (var (name, section) in await extra) document[name] = section;

        lock (_history)
        {
            // A worker that did not answer this time (busy, or unreachable) says nothing about its processes: they are
            // taken as they were, so a slow gather reports no false exits (and no false starts after it).
            if (_previous is not null)
                foreach (var (pid, process) in _previous.Processes)
                    if (!snapshot.Workers.Contains(process.Node) && snapshot.Members.ContainsKey(process.Node)) snapshot.Processes.TryAdd(pid, process);
            var sample = Sample(snapshot, _previous, trafficReport);
            _history.Enqueue(sample);
            while (_history.Count > HistoryLength) _history.Dequeue();
            foreach (var e in Events(snapshot, _previous)) AddEvent(e);
            _previous = snapshot;
            document["history"] = new JsonArray(_history.Select(h => h.DeepClone()).ToArray());
            document["events"] = new JsonArray(_events.Select(e => e.DeepClone()).ToArray());
        }
        return document;
    }

    private void AddEvent(JsonObject e)
    {
        _events.AddFirst(e);
        while (_events.Count > EventCount) _events.RemoveLast();
    }

    /// <summary>What the event finder and the charts compare between two gathers.</summary>
    /// <remarks><see cref="Workers"/> are the worker nodes whose pool answered this time.</remarks>
    private sealed record Snapshot(DateTimeOffset At, Dictionary<string, string> Members, Dictionary<long, (string App, string Node, string State)> Processes,
        HashSet<string> Workers, HashSet<string> Restarting, (long Lookups, long Hits) Cache, long Requests);

    private static Dictionary<string, string> Members(JsonArray members) =>
        members.ToDictionary(m => (string)m!["node"]!, m => (string)m!["status"]! + ((bool)m["reachable"]! ? "" : " (unreachable)"));

    private static IEnumerable<JsonObject> Nodes(JsonObject report) =>
        report["nodes"] is JsonArray nodes ? nodes.OfType<JsonObject>().Where(n => n["error"] is null) : [];

    private static IEnumerable<JsonObject> Apps(JsonObject node) => node["apps"] is JsonArray apps ? apps.OfType<JsonObject>() : [];

    private static Dictionary<long, (string, string, string)> Processes(JsonObject pool)
    {
        var processes = new Dictionary<long, (string, string, string)>();
        foreach (var node in Nodes(pool))
            foreach (var app in Apps(node))
                foreach (var p in app["processes"] is JsonArray list ? list.OfType<JsonObject>() : [])
                    processes[(long)p["pid"]!] = ((string)app["name"]!, (string)node["node"]!, (string?)p["state"] ?? "");
        return processes;
    }

    private static HashSet<string> Restarting(JsonObject pool) =>
        Nodes(pool).SelectMany(n => Apps(n).Where(a => a["restarting"] is JsonValue v && (bool)v).Select(a => $"{(string)a["name"]!} on {(string)n["node"]!}")).ToHashSet();

    private static (long, long) Counters(JsonObject cache)
    {
        long lookups = 0, hits = 0;
        foreach (var node in Nodes(cache))
            if (node["apps"] is JsonObject apps)
                foreach (var (_, app) in apps)
                {
                    lookups += (long?)app?["lookups"] ?? 0;
                    hits += ((long?)app?["hits"] ?? 0) + ((long?)app?["staleHits"] ?? 0);
                }
        return (lookups, hits);
    }

    private static long Requests(JsonObject traffic) => Nodes(traffic).SelectMany(Apps).Sum(a => (long?)a["total"] ?? 0);

    /// <summary>One point of the charts: requests/s and cache hit ratio since the last gather, the worst gateway's p95 over the last minute.</summary>
    private static JsonObject Sample(Snapshot now, Snapshot? before, JsonObject traffic)
    {
        double? rate = null, hitRatio = null;
        if (before is not null)
        {
            var seconds = (now.At - before.At).TotalSeconds;
            // A gateway that left (or restarted) takes its count with it: no negative rates.
            if (seconds > 0) rate = Math.Round(Math.Max(0, now.Requests - before.Requests) / seconds, 2);
            var lookups = now.Cache.Lookups - before.Cache.Lookups;
            if (lookups > 0) hitRatio = Math.Round(Math.Clamp((now.Cache.Hits - before.Cache.Hits) / (double)lookups, 0, 1), 3);
        }
        var p95 = Nodes(traffic).SelectMany(Apps).Select(a => (double?)a["p95Seconds"]).Where(v => v is not null).DefaultIfEmpty(null).Max();
        return new JsonObject
        {
            ["at"] = now.At.ToString("O"),
            ["requestsPerSecond"] = rate,
            ["p95Seconds"] = p95,
            ["hitRatio"] = hitRatio,
        };
    }

    private static IEnumerable<JsonObject> Events(Snapshot now, Snapshot? before)
    {
        if (before is null) yield break;
        JsonObject Event(string kind, string text) => new() { ["at"] = now.At.ToString("O"), ["kind"] = kind, ["text"] = text };
        foreach (var (node, status) in now.Members)
        {
            if (!before.Members.TryGetValue(node, out var was)) yield return Event("member", $"{node} joined ({status})");
            else if (was != status) yield return Event("member", $"{node}: {was} → {status}");
        }
        foreach (var node in before.Members.Keys.Where(n => !now.Members.ContainsKey(n)))
            yield return Event("member", $"{node} left the cluster");
        foreach (var (pid, (app, node, state)) in now.Processes)
        {
            if (!before.Processes.TryGetValue(pid, out var was)) yield return Event("process", $"{app} process {pid} started on {node}");
            else if (was.State != state) yield return Event("process", $"{app} process {pid}: {was.State} → {state}");
        }
        foreach (var (pid, (app, node, _)) in before.Processes.Where(p => !now.Processes.ContainsKey(p.Key)))
            yield return Event("process", $"{app} process {pid} exited on {node}");
        foreach (var restart in now.Restarting.Where(r => !before.Restarting.Contains(r)))
            yield return Event("restart", $"restart of {restart} started");
    }
}
