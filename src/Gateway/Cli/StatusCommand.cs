using Porter.Hosting.Cli;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Porter.Gateway.Cli;

/// <summary>
/// <c>porter status</c>: what <c>passenger-status</c> prints, read from a node's management API — cluster members,
/// general pool information, then each app's processes with their counters, turbocache hit ratio and OOB state.
/// </summary>
public static class StatusCommand
{
    // "requests" only when asked for: the default report stays passenger-status's.
    private static readonly string[] Sections = ["cluster", "pool", "cache", "oob", "requests"];

    public static async Task<int> RunAsync(string[] args)
    {
        var url = "http://127.0.0.1:8558/";
        var json = false;
        string? show = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (TakeValue(args, ref i, "--url") is { } urlValue)
            {
                url = urlValue;
                continue;
            }
            if (TakeValue(args, ref i, "--show") is { } showValue)
            {
                show = showValue;
                continue;
            }
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "-h" or "--help":
                    Console.WriteLine("Usage: porter status [--url http://host:8558] [--json] [--show=cluster|pool|cache|oob|requests]");
                    return NodeProgram.ExitOk;
                default:
                    Console.Error.WriteLine($"porter: unknown status option '{args[i]}' (see 'porter status --help')");
                    return NodeProgram.ExitUsage;
            }
        }
        if (show is not null && !Sections.Contains(show))
        {
            Console.Error.WriteLine($"porter: --show must be one of {string.Join(", ", Sections)}, not '{show}'");
            return NodeProgram.ExitUsage;
        }
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            Console.Error.WriteLine($"porter: --url '{url}' is not an http(s) URL");
            return NodeProgram.ExitUsage;
        }

        using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
        var documents = new Dictionary<string, JsonElement?>();
        try
        {
            foreach (var (section, path) in new[] { ("cluster", "cluster/members"), ("pool", "pool"), ("cache", "cache"), ("oob", "oob"), ("requests", "requests") })
            {
                if (show is null ? section == "requests" : show != section) continue;
                documents[section] = await GetAsync(client, path);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"porter: cannot reach the management API at {baseUri}: {e.Message}");
            return NodeProgram.ExitFailure;
        }

        if (json)
        {
            var raw = documents.ToDictionary(d => d.Key, d => d.Value);
            Console.WriteLine(JsonSerializer.Serialize(raw, new JsonSerializerOptions { WriteIndented = true }));
            return NodeProgram.ExitOk;
        }
        Console.Write(Render(documents, DateTimeOffset.Now));
        return NodeProgram.ExitOk;
    }

    /// <summary>The value of <paramref name="flag"/> given as "--flag VALUE" or "--flag=VALUE", or null when args[i] is another word.</summary>
    private static string? TakeValue(string[] args, ref int i, string flag)
    {
        if (args[i] == flag && i + 1 < args.Length) return args[++i];
        return args[i].StartsWith(flag + "=", StringComparison.Ordinal) ? args[i][(flag.Length + 1)..] : null;
    }

    private static async Task<JsonElement?> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        // A node without that part (no OOB coordinator yet, for instance) answers 404: show it as unavailable.
        if (!response.IsSuccessStatusCode) return null;
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>The human-readable report, passenger-status style.</summary>
    public static string Render(IReadOnlyDictionary<string, JsonElement?> documents, DateTimeOffset now)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Version : Porter {typeof(StatusCommand).Assembly.GetName().Version}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Date    : {now:yyyy-MM-dd HH:mm:ss zzz}");

        if (documents.GetValueOrDefault("cluster") is { } cluster)
        {
            var members = cluster.GetProperty("members").EnumerateArray().ToList();
            var unreachable = cluster.GetProperty("unreachable").GetArrayLength();
            text.AppendLine("----------- Cluster -----------");
            text.AppendLine(CultureInfo.InvariantCulture, $"Leader  : {Str(cluster, "leader")}");
            var byRole = members.SelectMany(m => m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))
                .GroupBy(r => r).Select(g => $"{g.Key}: {g.Count()}");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"Members : {members.Count(m => Str(m, "status") == "Up")} Up of {members.Count} ({string.Join(", ", byRole)}), {unreachable} unreachable");
            foreach (var m in members)
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  {Str(m, "node"),-45} {Str(m, "status"),-8} {string.Join(",", m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))}");
        }

        var cacheByApp = documents.GetValueOrDefault("cache") is { } cache ? CacheCountersByApp(cache) : [];
        if (documents.GetValueOrDefault("pool") is { } pool)
        {
            var allNodes = pool.GetProperty("nodes").EnumerateArray().ToList();
            // A worker that did not answer is listed with its address and the reason, not its pool.
            var nodes = allNodes.Where(n => n.TryGetProperty("apps", out _)).ToList();
            var apps = nodes.SelectMany(n => n.GetProperty("apps").EnumerateArray()).ToList();
            text.AppendLine("----------- General information -----------");
            text.AppendLine(CultureInfo.InvariantCulture, $"Max pool size     : {string.Join(", ", nodes.Select(n => n.GetProperty("maxPoolSize").GetInt32()))}");
            text.AppendLine(CultureInfo.InvariantCulture, $"App groups        : {apps.Select(a => Str(a, "name")).Distinct().Count()}");
            text.AppendLine(CultureInfo.InvariantCulture, $"Processes         : {nodes.Sum(n => n.GetProperty("processCount").GetInt32())}");
            text.AppendLine(CultureInfo.InvariantCulture, $"Requests in queue : {apps.Sum(a => a.GetProperty("queueLength").GetInt32())}");
            foreach (var silent in allNodes.Where(n => !n.TryGetProperty("apps", out _)))
                text.AppendLine(CultureInfo.InvariantCulture, $"Worker {Str(silent, "node")}: {Str(silent, "error")}");
            text.AppendLine();
            text.AppendLine("----------- Application groups -----------");
            foreach (var node in nodes)
            {
                foreach (var app in node.GetProperty("apps").EnumerateArray())
                {
                    var name = Str(app, "name") ?? "?";
                    text.AppendLine(CultureInfo.InvariantCulture, $"{name} (node {Str(node, "node")}):");
                    text.AppendLine(CultureInfo.InvariantCulture, $"  Requests in queue: {app.GetProperty("queueLength").GetInt32()}");
                    if (app.GetProperty("spawning").GetInt32() > 0 || app.GetProperty("restarting").GetBoolean())
                        text.AppendLine(CultureInfo.InvariantCulture,
                            $"  Spawning: {app.GetProperty("spawning").GetInt32()}, restarting: {(app.GetProperty("restarting").GetBoolean() ? "yes" : "no")}");
                    if (Str(app, "failure") is { Length: > 0 } failure) text.AppendLine(CultureInfo.InvariantCulture, $"  Failing: {failure}");
                    if (app.TryGetProperty("oobDropped", out var dropped) && dropped.GetInt64() > 0)
                        text.AppendLine(CultureInfo.InvariantCulture, $"  Out-of-band runs dropped (no token in time): {dropped.GetInt64()}");
                    if (cacheByApp.TryGetValue(name, out var counters))
                        text.AppendLine(CultureInfo.InvariantCulture,
                            $"  Turbocache (all gateways): {counters.Lookups} lookups, {counters.HitRatio * 100:0.0}% hits, {counters.Stores} stores");
                    foreach (var p in app.GetProperty("processes").EnumerateArray())
                    {
                        var rss = p.GetProperty("rssBytes").ValueKind == JsonValueKind.Number ? $"{p.GetProperty("rssBytes").GetInt64() / (1024 * 1024)}M" : "?";
                        var lastUsed = (DateTimeOffset.Now - p.GetProperty("lastUsed").GetDateTimeOffset()).TotalSeconds;
                        text.AppendLine(CultureInfo.InvariantCulture,
                            $"  * PID: {p.GetProperty("pid").GetInt32(),-8} Sessions: {p.GetProperty("sessions").GetInt32(),-6} Processed: {p.GetProperty("processed").GetInt64(),-8} Uptime: {Duration(p.GetProperty("uptimeSeconds").GetDouble())}");
                        text.AppendLine(CultureInfo.InvariantCulture,
                            $"    CPU: {p.GetProperty("cpuPercent").GetDouble():0}%{"",-6} Memory  : {rss,-8} Last used: {Duration(Math.Max(0, lastUsed))} ago");
                        var oobPhase = Str(p, "oob") is { } phase ? $" (out-of-band work: {phase})" : "";
                        text.AppendLine(CultureInfo.InvariantCulture, $"    State: {Str(p, "state")}{oobPhase}");
                    }
                    text.AppendLine();
                }
            }
        }
        else if (documents.ContainsKey("pool"))
        {
            text.AppendLine("----------- Pool: not available on this node -----------");
        }

        if (documents.TryGetValue("oob", out var oob))
        {
            text.AppendLine("----------- Out-of-band work -----------");
            if (oob is { } o) RenderOob(text, o);
            else text.AppendLine("not available on this node");
        }
        if (documents.TryGetValue("requests", out var requests))
        {
            if (requests is { } r) RequestsReport.Render(text, r);
            else text.AppendLine("----------- Requests: not available on this node -----------");
        }
        return text.ToString();
    }

    /// <summary>The OOB coordinator's state: holders and queue per scope, then runs, durations and waits cluster-wide and per app.</summary>
    private static void RenderOob(StringBuilder text, JsonElement oob)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"Tokens per scope : {oob.GetProperty("maxConcurrent").GetInt32()}");
        var scopes = oob.GetProperty("scopes").EnumerateArray().ToList();
        if (scopes.Count == 0) text.AppendLine("Holders          : none (queue empty)");
        foreach (var scope in scopes)
        {
            var holders = scope.GetProperty("holders").EnumerateArray()
                .Select(h => $"{Str(h, "app")} PID {h.GetProperty("pid").GetInt32()} on {Str(h, "node")} (token {h.GetProperty("tokenId").GetInt64()}, {Ms(h, "heldMs")})")
                .ToList();
            text.AppendLine(CultureInfo.InvariantCulture, $"Scope {Str(scope, "scope")}:");
            text.AppendLine(CultureInfo.InvariantCulture, $"  Holder : {(holders.Count == 0 ? "none" : string.Join("; ", holders))}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  Queue  : {scope.GetProperty("queueLength").GetInt32()}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"Cluster          : {OobCounters(oob.GetProperty("cluster"))}");
        foreach (var app in oob.GetProperty("apps").EnumerateArray())
            text.AppendLine(CultureInfo.InvariantCulture, $"  {Str(app, "app")}: {OobCounters(app.GetProperty("counters"))}");
    }

    private static string OobCounters(JsonElement c) =>
        $"{c.GetProperty("runs").GetInt64()} runs, mean {Ms(c, "meanDurationMs")}, max {Ms(c, "maxDurationMs")}, " +
        $"mean wait {Ms(c, "meanWaitMs")}, {c.GetProperty("reclaims").GetInt64()} reclaimed";

    private static string Ms(JsonElement element, string name) =>
        string.Create(CultureInfo.InvariantCulture, $"{element.GetProperty(name).GetDouble():0.#} ms");

    private sealed record CacheCounters(long Lookups, long Hits, long Stores)
    {
        public double HitRatio => Lookups == 0 ? 0 : (double)Hits / Lookups;
    }

    /// <summary>Each app's turbocache counters summed over every cache node's report.</summary>
    private static Dictionary<string, CacheCounters> CacheCountersByApp(JsonElement cache)
    {
        var sums = new Dictionary<string, CacheCounters>(StringComparer.Ordinal);
        foreach (var node in cache.GetProperty("nodes").EnumerateArray())
        {
            if (!node.TryGetProperty("apps", out var apps)) continue;
            foreach (var app in apps.EnumerateObject())
            {
                var c = app.Value;
                var add = new CacheCounters(c.GetProperty("lookups").GetInt64(),
                    c.GetProperty("hits").GetInt64() + c.GetProperty("staleHits").GetInt64(), c.GetProperty("stores").GetInt64());
                sums[app.Name] = sums.TryGetValue(app.Name, out var sum)
                    ? new CacheCounters(sum.Lookups + add.Lookups, sum.Hits + add.Hits, sum.Stores + add.Stores)
                    : add;
            }
        }
        return sums;
    }

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m {t.Seconds}s" : $"{t.Seconds}s";
    }
}
