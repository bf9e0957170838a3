using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>
/// Two gateways with the turbocache on and a worker, real processes on loopback: a gateway killed hard or stopped
/// gracefully under load costs no request and stalls none, and the cache hits again afterwards. The figures (how long
/// until hits resume, the slowest request) are the fault benchmark's (bench/faults.py); these tests catch stalls of
/// the old kind (a 10-15 s wait on a shard that is gone) with a generous bound.
/// </summary>
public sealed class GatewayFaultTests
{
    /// <summary>Far above a budgeted lookup (~100 ms), far below the old 15 s lookup timeout.</summary>
    internal static readonly TimeSpan Stall = TimeSpan.FromSeconds(5);

    [Fact]
    public Task Killing_the_oldest_gateway_costs_the_other_no_request_and_stalls_none() => KillUnderLoadAsync(killOldest: true);

    [Fact]
    public Task Killing_a_gateway_that_is_not_the_oldest_costs_the_other_no_request_and_stalls_none() => KillUnderLoadAsync(killOldest: false);

    private static async Task KillUnderLoadAsync(bool killOldest)
    {
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1, gateways: 2, turbocache: true);
        // The oldest member (the first gateway, the seed) hosts the shard coordinator.
        var (killed, survivor) = killOldest ? (cluster.Gateways[0], cluster.Gateways[1]) : (cluster.Gateways[1], cluster.Gateways[0]);
        var pages = Pages("kill", 64);
        await WarmAsync(survivor, pages);
        await WaitUntilBothGatewaysHostShardsAsync(cluster, survivor);

        // Cached pages and uncacheable requests through the survivor, before, during and after the kill.
        await using var load = new LoadLoop(survivor.Client, PagesAndPids(pages), clients: 4, maxRequests: 200_000, maxTime: TimeSpan.FromSeconds(150));
        await load.WaitForMoreAsync(100);
        await killed.KillHardAsync();
        var killedAt = Stopwatch.GetTimestamp();

        await cluster.WaitForUpMembersAsync(2, via: survivor);
        // Every page is a hit again: the killed gateway's shards have a new home (their entries start empty there).
        await WaitUntilEveryPageHitsAsync(load, pages, killedAt, survivor);
        var outcomes = await load.StopAsync();

        AssertNoFailureAndNoStall(outcomes, survivor);
        Assert.Contains(outcomes, o => o.Started > killedAt && o.Cache == "BYPASS");
    }

    [Fact]
    public async Task A_gateway_stopped_with_SIGTERM_answers_its_keep_alive_load_without_stalls()
    {
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1, gateways: 2, turbocache: true);
        // The oldest stops: its shards and the shard coordinator hand over while its own clients are still sending.
        var (leaving, staying) = (cluster.Gateways[0], cluster.Gateways[1]);
        var pages = Pages("stop", 64);
        await WarmAsync(leaving, pages);
        await WaitUntilBothGatewaysHostShardsAsync(cluster, staying);

        await using var load = new LoadLoop(leaving.Client, PagesAndPids(pages), clients: 4, maxRequests: 200_000, maxTime: TimeSpan.FromSeconds(120));
        await using var other = new LoadLoop(staying.Client, n => pages[n % pages.Length], clients: 2,
            maxRequests: 200_000, maxTime: TimeSpan.FromSeconds(120));
        await load.WaitForMoreAsync(100);
        var stop = Stopwatch.StartNew();
        Assert.Equal(0, await leaving.StopAsync(TimeSpan.FromSeconds(60)));
        stop.Stop();
        await cluster.WaitForUpMembersAsync(2, via: staying);
        await other.WaitForMoreAsync(200);
        var outcomes = await load.StopAsync();
        var others = await other.StopAsync();

        // Its clients are answered until it closes their connections; only new connections are refused after that.
        var answered = outcomes.Where(o => o.Error is null || !o.Error.Contains("Connection refused", StringComparison.Ordinal)).ToList();
        AssertNoFailureAndNoStall(answered, leaving);
        AssertNoFailureAndNoStall(others, staying);
        // It stops within its grace (10 s) instead of waiting on shards that are handing over.
        Assert.True(stop.Elapsed < TimeSpan.FromSeconds(15), $"the stop took {stop.Elapsed.TotalSeconds:F1} s\n{leaving.Output}");
    }

    /// <summary>Every page in turn, and an uncacheable /pid after every fourth.</summary>
    private static Func<int, string> PagesAndPids(string[] pages) => n =>
    {
        var i = n % (pages.Length + pages.Length / 4);
        return i < pages.Length ? pages[i] : "/pid";
    };

    internal static string[] Pages(string test, int count) =>
        Enumerable.Range(0, count).Select(i => CacheUrls.Headers($"{test}{i}", $"page {i} v{{hit}}", null, "Cache-Control:public, max-age=600")).ToArray();

    /// <summary>Requests every page until it is a hit.</summary>
    internal static async Task WarmAsync(PorterProcess gateway, IEnumerable<string> pages)
    {
        foreach (var page in pages)
            await Poll.UntilAsync(async () =>
            {
                using var response = await gateway.Client.GetAsync(page);
                return response.Headers.TryGetValues("X-Cache", out var cache) && cache.Single() == "HIT" ? "" : null;
            }, TimeSpan.FromSeconds(60), $"a hit on {page}");
    }

    /// <summary>Both gateways hold turbocache shards, so either one's loss takes keys the other one asks for.</summary>
    internal static Task WaitUntilBothGatewaysHostShardsAsync(LoopbackCluster cluster, PorterProcess via) =>
        Poll.UntilAsync(async () =>
        {
            using var response = await via.Management.GetAsync("/cluster/shards/turbocache");
            if (!response.IsSuccessStatusCode) return null;
            var regions = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("regions").EnumerateArray()
                .Where(r => r.GetProperty("shards").GetArrayLength() > 0).Select(r => r.GetProperty("address").GetString()).ToHashSet();
            return cluster.Gateways.All(g => regions.Contains(cluster.NodeAddress(g.Address))) ? "" : null;
        }, TimeSpan.FromSeconds(60), "both gateways to host turbocache shards");

    private static async Task WaitUntilEveryPageHitsAsync(LoadLoop load, string[] pages, long since, PorterProcess via)
    {
        // The latest answer of every page since the kill is a hit.
        List<string> NotHitting()
        {
            var latest = new Dictionary<string, string?>();
            foreach (var outcome in load.Outcomes.Where(o => o.Started > since)) latest[outcome.Path] = outcome.Cache ?? outcome.Error;
            return pages.Where(p => latest.GetValueOrDefault(p) != "HIT").Select(p => $"{latest.GetValueOrDefault(p) ?? "unasked"} {p}").ToList();
        }
        try
        {
            await Poll.UntilAsync(() => NotHitting().Count == 0, TimeSpan.FromSeconds(90), "every page to be a hit again");
        }
        catch (TimeoutException e)
        {
            var missing = NotHitting();
            throw new TimeoutException($"{e.Message}: {missing.Count} are not ({string.Join("; ", missing.Take(5))})\n{Tail(via)}");
        }
    }

    internal static void AssertNoFailureAndNoStall(IReadOnlyList<LoadLoop.Outcome> outcomes, PorterProcess? via = null)
    {
        Assert.NotEmpty(outcomes);
        var failed = outcomes.Where(o => o.Status != (int)HttpStatusCode.OK).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {outcomes.Count} requests failed: "
            + string.Join("; ", failed.Take(5).Select(f => $"{f.Status} {f.Error} {f.Path}")) + (via is null ? "" : "\n" + Tail(via)));
        var slowest = outcomes.MaxBy(o => o.Elapsed)!;
        Assert.True(slowest.Elapsed < Stall, $"a request waited {slowest.Elapsed.TotalSeconds:F1} s ({slowest.Cache} {slowest.Path}); "
            + $"{outcomes.Count(o => o.Elapsed > TimeSpan.FromSeconds(1))} of {outcomes.Count} took over 1 s" + (via is null ? "" : "\n" + Tail(via)));
    }

    /// <summary>The last lines a node printed, for a failure message.</summary>
    private static string Tail(PorterProcess node) => string.Join('\n', node.Output.Split('\n').TakeLast(60));

    internal static int Version(string body) =>
        int.Parse(body[(body.LastIndexOf('v') + 1)..].Trim(), CultureInfo.InvariantCulture);
}

/// <summary>
/// Read-after-write across gateways: once the answer to an unsafe request has arrived, no gateway serves the entry
/// from before it, also while readers keep that gateway's near cache hot.
/// </summary>
public sealed class ReadAfterWriteTests
{
    [Fact]
    public async Task A_get_through_another_gateway_after_an_unsafe_reply_never_gets_the_old_entry()
    {
        // One app process: its hit counter per URL is the resource's version.
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1, gateways: 2, turbocache: true, appProcesses: 1);
        var (writer, reader) = (cluster.Gateways[0], cluster.Gateways[1]);
        // Behind a load balancer both gateways see the site's own host name, so they share its cache keys.
        foreach (var gateway in cluster.Gateways) gateway.Client.DefaultRequestHeaders.Host = "shop.test";
        // Several resources, so that some live in the writer's shards and some in the reader's.
        var urls = Enumerable.Range(0, 8).Select(i => CacheUrls.Headers($"raw{i}", "v{hit}", null, "Cache-Control:public, max-age=600")).ToArray();
        await GatewayFaultTests.WarmAsync(reader, urls);

        // Many readers: a stale answer is a race (a request that lands in the moment after the reply), so give it many chances.
        await using var readers = new LoadLoop(reader.Client, n => urls[n % urls.Length], clients: 6, maxRequests: 200_000,
            maxTime: TimeSpan.FromSeconds(120));
        await readers.WaitForMoreAsync(20);
        var writes = new List<(string Url, long RepliedAt, int Version)>();
        var stale = new List<string>();
        for (var round = 0; round < 96; round++)
        {
            var url = urls[round % urls.Length];
            using (var post = await writer.Client.PostAsync(url, new StringContent("change")))
            {
                Assert.Equal(HttpStatusCode.OK, post.StatusCode);
                writes.Add((url, Stopwatch.GetTimestamp(), GatewayFaultTests.Version(await post.Content.ReadAsStringAsync())));
            }
            using var read = await reader.Client.GetAsync(url);
            var version = GatewayFaultTests.Version(await read.Content.ReadAsStringAsync());
            if (version < writes[^1].Version)
                stale.Add($"round {round}: v{version} ({read.Headers.GetValues("X-Cache").Single()}) after the write of v{writes[^1].Version}");
            // The readers make the new version hot again on the reader before the next write.
            await readers.WaitForMoreAsync(5);
        }
        var outcomes = await readers.StopAsync();

        // Concurrent readers too: a request sent after a write's reply never sees a version from before it.
        foreach (var outcome in outcomes.Where(o => o.Status == 200))
        {
            var before = writes.LastOrDefault(w => w.Url == outcome.Path && w.RepliedAt < outcome.Started);
            if (before != default && GatewayFaultTests.Version(outcome.Body) < before.Version)
                stale.Add($"reader: v{GatewayFaultTests.Version(outcome.Body)} ({outcome.Cache}) after the write of v{before.Version}");
        }
        Assert.True(stale.Count == 0, $"{stale.Count} stale answers: {string.Join("; ", stale.Take(10))}");
        GatewayFaultTests.AssertNoFailureAndNoStall(outcomes, reader);
    }
}
