using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Management;

/// <summary>"What is hanging": GET /requests and porter status --show=requests list in-flight and queued requests with their age.</summary>
public sealed class RequestsApiTests
{
    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_slow_request_shows_with_its_process_and_age_and_the_next_one_waits_in_the_queue()
    {
        // One process taking one request at a time: the second slow request has to queue.
        await using var node = await PorterProcess.StartAsync([Repo.TestApp, "--concurrency", "1", "--max-instances", "1", "--max-pool-size", "1"]);
        var pid = Assert.Single(node.RecordedAppPids());
        using (var idle = await node.Management.GetAsync("/requests"))
        {
            var nodes = JsonDocument.Parse(await idle.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes");
            Assert.Equal(0, nodes[0].GetProperty("total").GetInt32());
        }

        using var cancel = new CancellationTokenSource();
        var slow = node.Client.GetAsync("/slow?ms=60000&token=secret", cancel.Token);
        JsonElement app = await Poll.UntilAsync(async () =>
        {
            using var response = await node.Management.GetAsync("/requests");
            var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var apps = root.GetProperty("nodes")[0].GetProperty("apps");
            return apps.GetArrayLength() == 1 && apps[0].GetProperty("processes").GetArrayLength() == 1 ? (JsonElement?)apps[0].Clone() : null;
        }, TimeSpan.FromSeconds(30), "the slow request in /requests") ?? default;
        var process = app.GetProperty("processes")[0];
        Assert.Equal(pid, process.GetProperty("pid").GetInt32());
        var held = Assert.Single(process.GetProperty("requests").EnumerateArray());
        Assert.Equal("GET", held.GetProperty("method").GetString());
        // Without the query: it may carry secrets.
        Assert.Equal("/slow", held.GetProperty("path").GetString());
        Assert.Equal("127.0.0.1", held.GetProperty("client").GetString());

        var queued = node.Client.GetAsync("/slow?ms=60000", cancel.Token);
        JsonElement root = await Poll.UntilAsync(async () =>
        {
            using var response = await node.Management.GetAsync("/requests");
            var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var apps = doc.GetProperty("nodes")[0].GetProperty("apps");
            return apps.GetArrayLength() == 1 && apps[0].GetProperty("queued").GetArrayLength() == 1
                && apps[0].GetProperty("processes")[0].GetProperty("requests")[0].GetProperty("ageSeconds").GetDouble() > 1
                ? (JsonElement?)doc.Clone() : null;
        }, TimeSpan.FromSeconds(30), "the second request queued, the first older than a second") ?? default;
        var nodeReport = root.GetProperty("nodes")[0];
        Assert.Equal(2, nodeReport.GetProperty("total").GetInt32());
        Assert.Equal(0, nodeReport.GetProperty("omitted").GetInt32());
        var waiting = nodeReport.GetProperty("apps")[0].GetProperty("queued")[0];
        Assert.Equal("/slow", waiting.GetProperty("path").GetString());
        var first = nodeReport.GetProperty("apps")[0].GetProperty("processes")[0].GetProperty("requests")[0].GetProperty("ageSeconds").GetDouble();
        Assert.True(first > waiting.GetProperty("waitSeconds").GetDouble(), "the one with the process came first, so it is older");

        var status = await PorterCommand.RunAsync("status", "--url", $"http://127.0.0.1:{Text(node.ManagementPort)}", "--show=requests");
        Assert.Equal(0, status.ExitCode);
        var lines = status.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var header = lines.FindIndex(l => l.StartsWith("testapp: 1 with a process, 1 queued", StringComparison.Ordinal));
        Assert.True(header >= 0, status.Stdout);
        // Oldest first: the one with the process, then the queued one.
        Assert.Matches($@"^\s+\d+\.\ds\s+PID {Text(pid)}\s+GET\s+/slow  from 127\.0\.0\.1", lines[header + 1]);
        Assert.Matches(@"^\s+\d+\.\ds\s+QUEUED\s+GET\s+/slow  from 127\.0\.0\.1", lines[header + 2]);
        Assert.DoesNotContain("token=secret", status.Stdout);

        // Gone once answered (here: once the clients give up).
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        await Poll.UntilAsync(async () =>
        {
            using var response = await node.Management.GetAsync("/requests");
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes")[0].GetProperty("total").GetInt32() == 0 ? "" : null;
        }, TimeSpan.FromSeconds(30), "the requests to leave /requests when their clients go");
    }
}
