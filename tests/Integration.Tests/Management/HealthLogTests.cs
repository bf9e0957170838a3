using System.Net;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Management;

/// <summary>Probes poll /ready every few seconds while a node waits to join: the log says so once, not once per poll.</summary>
public sealed class HealthLogTests
{
    [Fact]
    public async Task Ready_polls_before_the_node_joins_log_one_line_not_a_failure_each()
    {
        // Its only seed never answers, so the node stays not ready for as long as the test polls.
        var nowhere = Repo.FreePortOnAll("127.0.0.7");
        await using var gateway = await PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Gateway,
            ["--seed-nodes", $"akka.tcp://porter@127.0.0.7:{nowhere.ToString(System.Globalization.CultureInfo.InvariantCulture)}"], waitForApp: false);

        for (var poll = 0; poll < 5; poll++)
        {
            using var ready = await gateway.Management.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
            await Task.Delay(200);
        }
        using (var alive = await gateway.Management.GetAsync("/alive")) Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        // The console logger writes from a queue: wait for the last route's line before counting.
        await Poll.UntilAsync(() => gateway.Output.Contains("Health check /alive: Healthy", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the /alive line in the log");

        var lines = gateway.Output.Split('\n');
        // Lines read "HH:mm:ss.fff LEVEL: Category[id] message".
        Assert.DoesNotContain(lines, l => l.Contains(" fail: ", StringComparison.Ordinal) && l.Contains("Health", StringComparison.Ordinal));
        // A node that has never been ready is starting, not failing: one information line.
        var readiness = Assert.Single(lines, l => l.Contains("Health check /ready: Unhealthy", StringComparison.Ordinal));
        Assert.Contains(" info: ", readiness);
        Assert.Single(lines, l => l.Contains("Health check /alive: Healthy", StringComparison.Ordinal));
    }
}
