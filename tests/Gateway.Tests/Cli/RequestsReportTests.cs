using System.Text.Json;
using Porter.Gateway.Cli;

namespace Porter.Gateway.Tests.Cli;

/// <summary>porter status --show=requests: the oldest first per app, capped, with the count of the rest.</summary>
public sealed class RequestsReportTests
{
    private static JsonElement Json(object document) => JsonDocument.Parse(JsonSerializer.Serialize(document)).RootElement.Clone();

    private static object Request(double age) => new { method = "GET", path = $"/r{age}", client = "10.0.0.9", ageSeconds = age, queuedSeconds = 0.0, bytesIn = (long?)null, bytesOut = (long?)12 };

    [Fact]
    public void Lists_the_oldest_first_across_processes_and_queue_and_says_how_many_more()
    {
        var held = Enumerable.Range(1, 30).Select(i => Request(i)).ToArray();
        var document = new
        {
            nodes = new object[]
            {
                new
                {
                    node = "akka.tcp://porter@10.0.0.2:4053", total = 31, shown = 31, omitted = 0,
                    apps = new[]
                    {
                        new
                        {
                            name = "shop",
                            processes = new[] { new { pid = 41, requests = held.Take(15).ToArray() }, new { pid = 42, requests = held.Skip(15).ToArray() } },
                            queued = new[] { new { method = "POST", path = "/cart", client = "10.0.0.8", waitSeconds = 95.0, bytesIn = (long?)10 } },
                        },
                    },
                },
                new { node = "akka.tcp://porter@10.0.0.3:4053", error = "unreachable" },
            },
        };

        var text = StatusCommand.Render(new Dictionary<string, JsonElement?> { ["requests"] = Json(document) }, DateTimeOffset.UtcNow);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var header = lines.FindIndex(l => l == "shop: 30 with a process, 1 queued (age, process, request, client, bytes)");
        Assert.True(header >= 0, text);
        // The queued request has waited longest (95 s): it leads, then 30 s, 29 s, ...
        Assert.Equal("    1m 35s  QUEUED      POST   /cart  from 10.0.0.8  (node akka.tcp://porter@10.0.0.2:4053)", lines[header + 1]);
        Assert.Equal("     30.0s  PID 42      GET    /r30  from 10.0.0.9  in - out 12  (node akka.tcp://porter@10.0.0.2:4053)", lines[header + 2]);
        Assert.Contains("  ... 11 more not shown (porter status --show=requests --json lists them)", lines);
        Assert.DoesNotContain(lines, l => l.Contains("/r1  ", StringComparison.Ordinal));
        Assert.Contains("Worker akka.tcp://porter@10.0.0.3:4053: unreachable", lines);
    }
}
