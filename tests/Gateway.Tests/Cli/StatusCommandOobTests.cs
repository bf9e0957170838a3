using System.Text.Json;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Gateway.Cli;
using Porter.Workers.Oob;

namespace Porter.Gateway.Tests.Cli;

public sealed class StatusCommandOobTests
{
    private static JsonElement Json(object document) => JsonDocument.Parse(JsonSerializer.Serialize(document)).RootElement.Clone();

    [Fact]
    public void Oob_section_shows_holder_queue_runs_durations_and_wait()
    {
        var at = DateTimeOffset.UtcNow;
        var holder = new OobHolder(17, "cluster", new AppName("shop"), "akka.tcp://porter@10.0.0.3:4053", new ProcessId(42),
            at.AddSeconds(-2), at.AddMilliseconds(-30), at.AddMinutes(2));
        var waiter = new OobWaiter(new AppName("blog"), "akka.tcp://porter@10.0.0.4:4053", new ProcessId(7), at.AddMilliseconds(-5));
        var counters = new OobCounters(10, 9, 1, TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(450), TimeSpan.FromMilliseconds(120));
        var state = new OobProtocol.OobState(1, at, [new OobScopeState("cluster", [holder], [waiter])], counters,
            [new OobAppCounters(new AppName("shop"), counters)]);

        var text = StatusCommand.Render(new Dictionary<string, JsonElement?> { ["oob"] = Json(OobApi.Document(state)) }, at);

        Assert.Contains("Holder : shop PID 42 on akka.tcp://porter@10.0.0.3:4053 (token 17, 30 ms)", text);
        Assert.Contains("Queue  : 1", text);
        Assert.Contains("Cluster          : 9 runs, mean 50 ms, max 120 ms, mean wait 100 ms, 1 reclaimed", text);
        Assert.Contains("  shop: 9 runs", text);
    }

    [Fact]
    public void Oob_section_says_when_the_node_has_no_coordinator_state()
    {
        var text = StatusCommand.Render(new Dictionary<string, JsonElement?> { ["oob"] = null }, DateTimeOffset.UtcNow);
        Assert.Contains("Out-of-band work", text);
        Assert.Contains("not available on this node", text);
    }
}
