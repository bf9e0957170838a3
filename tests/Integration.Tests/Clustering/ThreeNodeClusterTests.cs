using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Clustering;

/// <summary>
/// One gateway node and two worker nodes as pods on loopback (127.0.0.2, .3, .4; same ports each), real processes:
/// routing across workers, the cluster-wide management API and status, and losing a worker hard or gracefully.
/// </summary>
public sealed class ThreeNodeClusterTests
{
    private static int Pid(LoadLoop.Outcome outcome) => int.Parse(outcome.Body, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Gateway_routes_to_both_workers_and_management_sees_the_whole_cluster()
    {
        await using var cluster = await LoopbackCluster.StartAsync();

        // Requests reach both workers (StartAsync already waited for that); members are three, Up, with their roles.
        var members = await cluster.UpMembersAsync();
        Assert.Equal(3, members.Count);
        var roles = members.ToDictionary(m => m.GetProperty("node").GetString()!, m => string.Join(",", m.GetProperty("roles").EnumerateArray().Select(r => r.GetString())));
        Assert.Equal("cache,gateway", roles[cluster.NodeAddress("127.0.0.2")]);
        Assert.Equal("worker", roles[cluster.NodeAddress("127.0.0.3")]);
        Assert.Equal("worker", roles[cluster.NodeAddress("127.0.0.4")]);

        // /pool on the gateway gathers both workers' pools, each with its own processes.
        using var poolResponse = await cluster.Gateway.Management.GetAsync("/pool");
        var poolNodes = JsonDocument.Parse(await poolResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal([cluster.NodeAddress("127.0.0.3"), cluster.NodeAddress("127.0.0.4")], poolNodes.Select(n => n.GetProperty("node").GetString()));
        foreach (var (node, worker) in poolNodes.Zip(cluster.Workers))
        {
            var pids = node.GetProperty("apps")[0].GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("pid").GetInt32());
            Assert.Subset(worker.RecordedAppPids().ToHashSet(), pids.ToHashSet());
        }

        // porter status, pointed at the gateway's management port, lists both workers' processes.
        var status = await PorterCommand.RunAsync("status", "--url", $"http://127.0.0.2:{cluster.ManagementPort}");
        Assert.Equal(0, status.ExitCode);
        foreach (var worker in cluster.Workers)
        {
            Assert.Contains($"(node {cluster.NodeAddress(worker.Address)})", status.Stdout);
            foreach (var pid in worker.RecordedAppPids()) Assert.Contains($"PID: {pid}", status.Stdout);
        }

        // The app sees the client's Host and address, and nothing of Porter's internal hop.
        using var echo = new HttpRequestMessage(HttpMethod.Get, "/echo-request") { Headers = { Host = "shop.example" } };
        echo.Headers.TryAddWithoutValidation("X-Porter-App", "forged");
        using var echoed = await cluster.Gateway.Client.SendAsync(echo);
        var headers = JsonDocument.Parse(await echoed.Content.ReadAsStringAsync()).RootElement.GetProperty("headers");
        Assert.Equal("shop.example", headers.GetProperty("host").GetString());
        Assert.Equal("127.0.0.1", headers.GetProperty("x-forwarded-for").GetString());
        Assert.Equal("shop.example", headers.GetProperty("x-forwarded-host").GetString());
        Assert.False(headers.TryGetProperty("x-porter-app", out _));

        // Header bytes 0x80-0xFF (obs-text) cross the gateway-to-worker hop unchanged, both ways.
        var obsText = await RawHttp.ExchangeAsync(cluster.Gateway.Address, cluster.Port,
            "GET /echo-request HTTP/1.1\r\nHost: shop.example\r\nX-Obs: caf\u00e9\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, RawHttp.StatusOf(obsText));
        Assert.Equal("caf\u00e9", JsonDocument.Parse(RawHttp.BodyOf(obsText)).RootElement.GetProperty("headers").GetProperty("x-obs").GetString());
        var obsAnswer = await RawHttp.ExchangeAsync(cluster.Gateway.Address, cluster.Port,
            "GET /headers?h=" + Uri.EscapeDataString("ETag:\"\u00e9\"") + " HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, RawHttp.StatusOf(obsAnswer));
        Assert.True(RawHttp.Contains(obsAnswer, "\r\nETag: \"\u00e9\"\r\n"));

        // A worker's process asks for OOB work; the gateway, which only has the coordinator's proxy, reports the run.
        using (var oobRequest = await cluster.Gateway.Client.GetAsync("/pid?oob=1"))
            Assert.Equal(HttpStatusCode.OK, oobRequest.StatusCode);
        await Poll.UntilAsync(async () =>
        {
            using var oob = await cluster.Gateway.Management.GetAsync("/oob");
            if (!oob.IsSuccessStatusCode) return null;
            var runs = JsonDocument.Parse(await oob.Content.ReadAsStringAsync()).RootElement.GetProperty("cluster").GetProperty("runs").GetInt64();
            return runs >= 1 ? "" : null;
        }, TimeSpan.FromSeconds(30), "the gateway's /oob to report a run");

        // /metrics is Prometheus text with the gateway's request counter.
        using var metrics = await cluster.Gateway.Management.GetAsync("/metrics");
        Assert.Contains(PrometheusText.Parse(await metrics.Content.ReadAsStringAsync()), s => s.Name.StartsWith("porter_requests", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cluster_wide_restart_needs_the_token_and_restarts_the_app_on_every_worker()
    {
        await using var cluster = await LoopbackCluster.StartAsync();
        const string restart = "/pool/apps/testapp/restart";

        using (var anonymous = await cluster.Gateway.Management.PostAsync(restart, null))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Post, restart) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "wrong") } })
        using (var refused = await cluster.Gateway.Management.SendAsync(wrong))
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        var before = cluster.Workers.Select(w => w.RecordedAppPids().ToHashSet()).ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, restart) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", LoopbackCluster.Token) } };
        using var accepted = await cluster.Gateway.Management.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var nodes = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetString());
        Assert.Equal([cluster.NodeAddress("127.0.0.3"), cluster.NodeAddress("127.0.0.4")], nodes.Order());

        // Every worker replaces all of its processes (rolling: new ones first).
        for (var i = 0; i < before.Length; i++)
        {
            var worker = cluster.Workers[i];
            var old = before[i];
            await Poll.UntilAsync(() => worker.RecordedAppPids() is { Count: >= 2 } now && !now.Intersect(old).Any(),
                TimeSpan.FromSeconds(60), $"worker {worker.Address} to replace its processes");
        }

        using var unknown = new HttpRequestMessage(HttpMethod.Post, "/pool/apps/nope/restart") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", LoopbackCluster.Token) } };
        using var notFound = await cluster.Gateway.Management.SendAsync(unknown);
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
    }

    [Fact]
    public async Task A_killed_worker_is_removed_and_the_other_serves_its_app()
    {
        await using var cluster = await LoopbackCluster.StartAsync();
        var (killed, survivor) = (cluster.Workers[0], cluster.Workers[1]);
        var survivorPids = survivor.RecordedAppPids().ToHashSet();

        await using var load = new LoadLoop(cluster.Gateway.Client, "/pid", clients: 4);
        await load.WaitForMoreAsync(50);
        await killed.KillHardAsync();
        var killedAt = load.Outcomes.Count;

        // The split brain resolver downs it (keep-majority: two of three remain) and it leaves the member list.
        await cluster.WaitForUpMembersAsync(2);
        await Poll.UntilAsync(async () =>
        {
            using var response = await cluster.Gateway.Management.GetAsync("/cluster/members");
            return (await response.Content.ReadAsStringAsync()).Contains(cluster.NodeAddress(killed.Address), StringComparison.Ordinal) ? null : "";
        }, TimeSpan.FromSeconds(60), "the killed worker to be removed");
        var removedAt = load.Outcomes.Count;
        await load.WaitForMoreAsync(100);
        var outcomes = await load.StopAsync();

        // Only requests in flight on the killed node when it died may fail (at most one per client).
        var failed = outcomes.Skip(killedAt).Where(o => o.Status != 200).ToList();
        Assert.True(failed.Count <= 4, $"{failed.Count} requests failed after the kill: {string.Join("; ", failed.Take(5).Select(f => $"{f.Status} {f.Error}"))}");
        // Once it is removed, every request succeeds, on the survivor's processes.
        var after = outcomes.Skip(removedAt).ToList();
        Assert.All(after, o => Assert.Equal(200, o.Status));
        Assert.All(after, o => Assert.Contains(Pid(o), survivor.RecordedAppPids().Concat(survivorPids)));
    }

    [Fact]
    public async Task A_worker_stopped_with_SIGTERM_under_load_loses_no_request()
    {
        await using var cluster = await LoopbackCluster.StartAsync();
        var (leaving, staying) = (cluster.Workers[0], cluster.Workers[1]);

        await using var load = new LoadLoop(cluster.Gateway.Client, "/pid", clients: 4);
        await load.WaitForMoreAsync(50);
        Assert.Equal(0, await leaving.StopAsync());
        await cluster.WaitForUpMembersAsync(2);
        await load.WaitForMoreAsync(100);
        var outcomes = await load.StopAsync();

        Assert.All(outcomes, o => Assert.True(o.Status == 200, $"{o.Status} {o.Error} {o.Body}"));
        var stayingPids = staying.RecordedAppPids();
        Assert.All(outcomes.TakeLast(50), o => Assert.Contains(Pid(o), stayingPids));
        Assert.False(leaving.Output.Contains("Stopping app processes with requests still in flight", StringComparison.Ordinal), leaving.Output);
    }
}

/// <summary>Two gateways with the turbocache on and one worker: a gateway rolled out with SIGTERM costs the other one nothing.</summary>
public sealed class GatewayRollingTests
{
    [Fact]
    public async Task A_gateway_stopped_with_SIGTERM_hands_over_its_cache_shards_and_the_other_loses_no_request()
    {
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1, gateways: 2, turbocache: true);
        var (staying, leaving) = (cluster.Gateways[0], cluster.Gateways[1]);
        // Cacheable pages spread over many keys, so both gateways host cache shards that the survivor asks for.
        var pages = Enumerable.Range(0, 64).Select(i => Caching.CacheUrls.Headers($"roll{i}", $"page{i}", null, "Cache-Control:public, max-age=1")).ToArray();
        var next = 0;
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = staying.Client.BaseAddress };
        await using var load = new LoadLoop(staying.Client, "/pid", clients: 2);
        var cached = Task.Run(async () =>
        {
            var failures = new List<string>();
            for (var i = 0; i < 3000; i++)
            {
                using var response = await client.GetAsync(pages[Interlocked.Increment(ref next) % pages.Length]);
                if (response.StatusCode != HttpStatusCode.OK) failures.Add($"{(int)response.StatusCode}");
                // Bounded: stop once the rolled gateway is gone from the cluster (or after 3000 requests).
                if (i > 300 && leaving.HasExited && (await cluster.UpMembersAsync()).Count == 2) break;
            }
            return failures;
        });

        await load.WaitForMoreAsync(50);
        Assert.Equal(0, await leaving.StopAsync());
        await cluster.WaitForUpMembersAsync(2);
        await load.WaitForMoreAsync(100);
        var outcomes = await load.StopAsync();

        Assert.All(outcomes, o => Assert.True(o.Status == 200, $"{o.Status} {o.Error} {o.Body}"));
        Assert.Empty(await cached);
    }
}
