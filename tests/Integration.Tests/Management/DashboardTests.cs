using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Management;

/// <summary>The dashboard on the management port: its live event stream, and the page itself in a real headless Chromium.</summary>
public sealed class DashboardTests
{
    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_standalone_node_serves_the_page_without_a_token_and_streams_snapshots_of_itself()
    {
        await using var node = await PorterProcess.StartAsync([Repo.TestApp]);
        using (var page = await node.Management.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.StartsWith("text/html", page.Content.Headers.ContentType?.ToString());
            Assert.Contains("/dashboard/dashboard.js", await page.Content.ReadAsStringAsync());
        }
        using (var script = await node.Management.GetAsync("/dashboard/dashboard.js"))
            Assert.Contains("EventSource", await script.Content.ReadAsStringAsync());
        // Never on the public port.
        using (var publicPage = await node.Client.GetAsync("/dashboard/events"))
            Assert.NotEqual("text/event-stream", publicPage.Content.Headers.ContentType?.MediaType);

        var pid = Assert.Single(node.RecordedAppPids());
        for (var i = 0; i < 5; i++) (await node.Client.GetAsync("/")).Dispose();
        using var stream = await node.Management.GetAsync("/dashboard/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        // Snapshots come every few seconds: read until one shows the five requests (bounded by the poll).
        var snapshot = await Poll.UntilAsync(async () =>
        {
            var line = await reader.ReadLineAsync();
            if (line is null || !line.StartsWith("data: ", StringComparison.Ordinal)) return null;
            var json = JsonNode.Parse(line["data: ".Length..])!;
            // The first snapshots may come before the node is Up (no pool, no traffic report yet).
            var processed = (json["pool"]?["nodes"] as JsonArray)?.FirstOrDefault()?["apps"]?[0]?["processes"]?.AsArray().Sum(p => (long)p!["processed"]!) ?? 0;
            var traffic = (json["traffic"]?["nodes"] as JsonArray)?.FirstOrDefault()?["apps"]?.AsArray().Count ?? 0;
            return processed >= 5 && traffic > 0 ? json : null;
        }, TimeSpan.FromSeconds(60), "a snapshot with the requests");

        var member = Assert.Single(snapshot["members"]!.AsArray());
        Assert.Equal("Up", (string)member!["status"]!);
        Assert.Equal(["cache", "gateway", "worker"], member["roles"]!.AsArray().Select(r => (string)r!));
        Assert.Contains(pid, snapshot["pool"]!["nodes"]![0]!["apps"]![0]!["processes"]!.AsArray().Select(p => (int)p!["pid"]!));
        var traffic = snapshot["traffic"]!["nodes"]![0]!["apps"]![0]!;
        Assert.Equal("testapp", (string)traffic["name"]!);
        Assert.True((long)traffic["requests"]! >= 5);
        Assert.True((double)traffic["p95Seconds"]! > 0);
        Assert.NotNull(snapshot["oob"]!["maxConcurrent"]);
        Assert.NotEmpty(snapshot["history"]!.AsArray());
    }

    [SkippableFact]
    public async Task The_page_in_chromium_shows_a_two_node_clusters_members_pids_and_a_counter_that_moves_with_requests_and_survives_a_killed_worker()
    {
        HeadlessChromium.SkipUnlessInstalled();
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1, gateways: 1);
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync($"http://{cluster.Gateway.Address}:{Text(cluster.ManagementPort)}/dashboard");

        // Live: the stream is open and the page rendered both members.
        await Poll.UntilAsync(async () =>
            (string?)await browser.EvaluateAsync("document.getElementById('connection').dataset.connection") == "live"
            && (int?)await browser.EvaluateAsync("document.querySelectorAll('[data-member]').length") == 2 ? "" : null,
            TimeSpan.FromSeconds(60), "the page to show both members live");
        var members = (await browser.EvaluateAsync("[...document.querySelectorAll('[data-member]')].map(r => r.dataset.member + ' ' + r.dataset.status)"))!.AsArray()
            .Select(m => (string)m!).ToList();
        Assert.Equal([cluster.NodeAddress(cluster.Gateway.Address) + " Up", cluster.NodeAddress(cluster.Workers[0].Address) + " Up"], members.Order(StringComparer.Ordinal));

        // The worker's app processes, by the PIDs its data dir records.
        var recorded = cluster.Workers[0].RecordedAppPids();
        Assert.Equal(2, recorded.Count);
        await Poll.UntilAsync(async () =>
        {
            var shown = (await browser.EvaluateAsync("[...document.querySelectorAll('[data-pid]')].map(r => Number(r.dataset.pid))"))?.AsArray().Select(p => (int)p!).ToHashSet();
            return shown is not null && recorded.All(shown.Contains) ? shown : null;
        }, TimeSpan.FromSeconds(30), "the page to list the worker's app PIDs");

        // A counter that follows requests through the gateway.
        const string processed = "Number(document.querySelector('[data-app-processed=\"testapp\"]').textContent)";
        var before = (long)(await browser.EvaluateAsync(processed))!;
        for (var i = 0; i < 25; i++) (await cluster.Gateway.Client.GetAsync("/")).Dispose();
        await Poll.UntilAsync(async () => (long?)await browser.EvaluateAsync(processed) >= before + 25 ? "" : null,
            TimeSpan.FromSeconds(30), $"the processed counter to move from {before} by the 25 requests");
        await Poll.UntilAsync(async () => (double?)await browser.EvaluateAsync("parseFloat(document.querySelector('[data-summary=\"rps\"]').textContent)") > 0 ? "" : null,
            TimeSpan.FromSeconds(30), "requests/s over the last minute");

        // A button that mutates sends the token typed into the page.
        await browser.EvaluateAsync($"document.getElementById('token').value = '{LoopbackCluster.Token}'; document.querySelector('[data-action=\"restart\"][data-app=\"testapp\"]').click()");
        var result = await Poll.UntilAsync(async () => (string?)await browser.EvaluateAsync("document.getElementById('action-result').textContent") is { } text && text.Contains(": 2", StringComparison.Ordinal) ? text : null,
            TimeSpan.FromSeconds(30), "the restart button's answer");
        Assert.Contains("restart testapp: 202", result);

        // kill -9 of the worker: the page stays live and shows it unreachable (or gone, once it is downed), never stalls.
        var worker = cluster.NodeAddress(cluster.Workers[0].Address);
        await cluster.Workers[0].KillHardAsync();
        var snapshots = (int)(await browser.EvaluateAsync("Number(document.body.dataset.snapshots)"))!;
        await Poll.UntilAsync(async () => (string?)await browser.EvaluateAsync(
                $"(r => r ? r.dataset.reachable : 'gone')(document.querySelector('[data-member=\"{worker}\"]'))") is "false" or "gone" ? "" : null,
            TimeSpan.FromSeconds(60), "the page to show the killed worker unreachable or gone");
        await Poll.UntilAsync(async () => (int?)await browser.EvaluateAsync("Number(document.body.dataset.snapshots)") > snapshots + 1 ? "" : null,
            TimeSpan.FromSeconds(30), "snapshots to keep coming after the kill");
        Assert.Equal("live", (string?)await browser.EvaluateAsync("document.getElementById('connection').dataset.connection"));

        var screenshot = await browser.ScreenshotAsync();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], screenshot.Take(4));
        var artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(artifacts);
        await File.WriteAllBytesAsync(Path.Combine(artifacts, "dashboard.png"), screenshot);
    }
}
