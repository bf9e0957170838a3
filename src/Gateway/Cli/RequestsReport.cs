using System.Globalization;
using System.Text;
using System.Text.Json;
using Porter.Workers.Management;

namespace Porter.Gateway.Cli;

/// <summary>
/// <c>porter status --show=requests</c>: what every worker holds right now, from <c>GET /requests</c>. Per app the
/// requests each process serves and the ones waiting in the queue, the oldest first, so "what is hanging" is the top
/// line; at most <see cref="ShownPerApp"/> per app, with how many more there are.
/// </summary>
public static class RequestsReport
{
    public const int ShownPerApp = 20;

    public static void Render(StringBuilder text, JsonElement requests)
    {
        text.AppendLine("----------- Requests in flight -----------");
        var nodes = requests.GetProperty("nodes").EnumerateArray().ToList();
        var lines = new List<(string App, double Age, string Line)>();
        var omittedByNode = 0;
        foreach (var node in nodes)
        {
            var name = Str(node, "node") ?? "?";
            if (!node.TryGetProperty("apps", out var apps))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"Worker {name}: {Str(node, "error")}");
                continue;
            }
            omittedByNode += node.GetProperty("omitted").GetInt32();
            foreach (var app in apps.EnumerateArray())
            {
                var appName = Str(app, "name") ?? "?";
                foreach (var process in app.GetProperty("processes").EnumerateArray())
                {
                    var pid = process.GetProperty("pid").GetInt32();
                    foreach (var r in process.GetProperty("requests").EnumerateArray())
                    {
                        var age = r.GetProperty("ageSeconds").GetDouble();
                        lines.Add((appName, age, string.Create(CultureInfo.InvariantCulture,
                            $"  {Age(age),8}  PID {pid,-7} {Str(r, "method"),-6} {Str(r, "path")}  from {Str(r, "client") ?? "?"}  in {Bytes(r, "bytesIn")} out {Bytes(r, "bytesOut")}  (node {name})")));
                    }
                }
                foreach (var q in app.GetProperty("queued").EnumerateArray())
                {
                    var wait = q.GetProperty("waitSeconds").GetDouble();
                    lines.Add((appName, wait, string.Create(CultureInfo.InvariantCulture,
                        $"  {Age(wait),8}  QUEUED      {Str(q, "method"),-6} {Str(q, "path")}  from {Str(q, "client") ?? "?"}  (node {name})")));
                }
            }
        }
        if (lines.Count == 0) text.AppendLine("none");
        foreach (var app in lines.GroupBy(l => l.App).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var sorted = app.OrderByDescending(l => l.Age).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{app.Key}: {sorted.Count(l => !l.Line.Contains(" QUEUED ", StringComparison.Ordinal))} with a process, {sorted.Count(l => l.Line.Contains(" QUEUED ", StringComparison.Ordinal))} queued (age, process, request, client, bytes)");
            foreach (var line in sorted.Take(ShownPerApp)) text.AppendLine(line.Line);
            if (sorted.Count > ShownPerApp) text.AppendLine(CultureInfo.InvariantCulture, $"  ... {sorted.Count - ShownPerApp} more not shown (porter status --show=requests --json lists them)");
        }
        if (omittedByNode > 0)
            text.AppendLine(CultureInfo.InvariantCulture, $"{omittedByNode} more not shown: each worker lists its {InFlightRequests.ShownPerNode} oldest");
    }

    private static string Age(double seconds) =>
        seconds >= 60 ? string.Create(CultureInfo.InvariantCulture, $"{(int)(seconds / 60)}m {(int)(seconds % 60)}s") : string.Create(CultureInfo.InvariantCulture, $"{seconds:0.0}s");

    private static string Bytes(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64().ToString(CultureInfo.InvariantCulture) : "-";

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
