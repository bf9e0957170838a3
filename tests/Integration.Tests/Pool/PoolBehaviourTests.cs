using System.Net;
using Porter.Integration.Tests.Infrastructure;
using static Porter.Integration.Tests.Pool.PoolApps;

namespace Porter.Integration.Tests.Pool;

/// <summary>Pool behaviour against real processes: one shared node, one app per behaviour (see <see cref="PoolFixture"/>).</summary>
public sealed class PoolBehaviourTests(PoolFixture fixture) : IClassFixture<PoolFixture>
{
    private PorterProcess Porter => fixture.Porter;

    [Fact]
    public async Task Least_busy_spreads_a_concurrent_burst_over_processes()
    {
        await WaitForProcessesAsync(Porter, "spread", 3);
        // Until all three listen, a burst may find fewer: warm up until a small burst reaches three PIDs.
        await Poll.UntilAsync(async () =>
        {
            var warm = await BurstAsync(Porter, "spread.test", "/slow?ms=300", 3);
            return warm.Select(r => ParsePid(r.Body)).Distinct().Count() == 3 ? "" : null;
        }, TimeSpan.FromSeconds(30), "three spread processes to serve");

        var burst = await BurstAsync(Porter, "spread.test", "/slow?ms=1500", 6);
        Assert.All(burst, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var perProcess = burst.GroupBy(r => ParsePid(r.Body)).Select(g => g.Count()).ToList();
        Assert.Equal([2, 2, 2], perProcess);
    }

    [Fact]
    public async Task Full_queue_answers_503_queue_full_with_retry_after()
    {
        await Porter.WaitUntilServingAsync();
        await Poll.UntilAsync(async () => (await Porter.GetAsync("queue.test", "/pid")).StatusCode == HttpStatusCode.OK ? "" : null,
            TimeSpan.FromSeconds(30), "the queue app");
        // One process at concurrency 1 and a queue of one: of three concurrent requests, one runs, one waits, one is refused.
        var results = await BurstAsync(Porter, "queue.test", "/slow?ms=2000", 3);
        var refused = Assert.Single(results, r => r.Status == HttpStatusCode.ServiceUnavailable);
        Assert.Contains("queue full", refused.Body);
        Assert.NotNull(refused.Response.Headers.RetryAfter);
        Assert.Equal(2, results.Count(r => r.Status == HttpStatusCode.OK));
    }

    [Fact]
    public async Task Request_that_waited_longer_than_max_request_queue_time_gets_504()
    {
        await Poll.UntilAsync(async () => (await Porter.GetAsync("queuetime.test", "/pid")).StatusCode == HttpStatusCode.OK ? "" : null,
            TimeSpan.FromSeconds(30), "the queuetime app");
        // One process at concurrency 1: the second request waits for the first one's 2.5 s, longer than the 1 s allowed.
        var results = await BurstAsync(Porter, "queuetime.test", "/slow?ms=2500", 2);
        Assert.Single(results, r => r.Status == HttpStatusCode.OK);
        var late = Assert.Single(results, r => r.Status == HttpStatusCode.GatewayTimeout);
        Assert.Contains("waited too long", late.Body);
    }

    [Fact]
    public async Task Queued_requests_start_more_processes_and_idle_ones_stop_down_to_min_instances()
    {
        await WaitForProcessesAsync(Porter, "scale", 1);
        await Poll.UntilAsync(async () => (await Porter.GetAsync("scale.test", "/pid")).StatusCode == HttpStatusCode.OK ? "" : null,
            TimeSpan.FromSeconds(30), "the scale app");
        // Concurrency 1 and max-instances 3: three concurrent slow requests make the pool start two more processes.
        var burst = await BurstAsync(Porter, "scale.test", "/slow?ms=4000", 3);
        Assert.All(burst, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(3, burst.Select(r => ParsePid(r.Body)).Distinct().Count());

        // pool-idle-time 1 s: the two extra processes stop, min-instances (1) stays and serves.
        await Poll.UntilAsync(() => Porter.RecordedAppPids("scale").Count(PorterProcess.IsAlive) == 1, TimeSpan.FromSeconds(20),
            "idle scale processes to stop");
        // A stopped process's PID record may outlive it by a moment: the survivor is the live one.
        var survivor = Porter.RecordedAppPids("scale").Where(PorterProcess.IsAlive).Single();
        Assert.Contains(survivor, burst.Select(r => ParsePid(r.Body)));
        Assert.Equal(survivor, await PidAsync(Porter, "scale.test"));
        Assert.Contains("(pool-idle-time)", Porter.Output);
    }

    [Fact]
    public async Task Max_requests_recycles_processes_without_a_failed_request()
    {
        await WaitForProcessesAsync(Porter, "recycle", 2);
        var first = Porter.RecordedAppPids("recycle");
        var failures = new List<string>();
        var pids = new List<int>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        // Four clients against max-requests 5: processes are replaced again and again under load. The loop ends once
        // both first processes are gone and two more generations served, bounded in count and time either way.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (var i = 0; i < 100 && DateTime.UtcNow < deadline; i++)
            {
                lock (pids)
                    if (pids.Distinct().Count() >= 6 && first.All(pid => !PorterProcess.IsAlive(pid))) return;
                using var response = await Porter.GetAsync("recycle.test", "/slow?ms=20");
                var body = await response.Content.ReadAsStringAsync();
                lock (pids)
                {
                    if (response.StatusCode == HttpStatusCode.OK) pids.Add(ParsePid(body));
                    else failures.Add($"{(int)response.StatusCode} {body}");
                }
            }
        }));
        Assert.Empty(failures);
        Assert.True(pids.Distinct().Count() >= 6, $"expected recycled processes, saw PIDs {string.Join(", ", pids.Distinct())}");
        await Poll.UntilAsync(() => first.All(pid => !PorterProcess.IsAlive(pid)), TimeSpan.FromSeconds(15), "the first processes to stop");
        await WaitForProcessesAsync(Porter, "recycle", 2);
        Assert.Contains("served 5 requests (max-requests)", Porter.Output);
    }

    [Fact]
    public async Task Max_memory_recycles_a_process_whose_rss_grows_past_the_limit()
    {
        await WaitForProcessesAsync(Porter, "leak", 1);
        var leaking = await PidAsync(Porter, "leak.test");
        using (var leak = await Porter.GetAsync("leak.test", "/leak?mb=200"))
            Assert.Equal(HttpStatusCode.OK, leak.StatusCode);

        var successor = await Poll.UntilAsync(async () => await TryPidAsync(Porter, "leak.test") is { } pid && pid != leaking ? pid : (int?)null,
            TimeSpan.FromSeconds(20), "a new leak process");
        await Poll.UntilAsync(() => !PorterProcess.IsAlive(leaking), TimeSpan.FromSeconds(15), "the leaking process to stop");
        Assert.True(PorterProcess.IsAlive(successor!.Value));
        Assert.Contains("more than max-memory 150 MB", Porter.Output);
    }

    [Fact]
    public async Task Sticky_cookie_brings_a_client_back_to_its_process_until_that_process_is_gone()
    {
        await WaitForProcessesAsync(Porter, "sticky", 3);
        await Poll.UntilAsync(async () =>
        {
            var warm = await BurstAsync(Porter, "sticky.test", "/slow?ms=300", 3);
            return warm.Select(r => ParsePid(r.Body)).Distinct().Count() == 3 ? "" : null;
        }, TimeSpan.FromSeconds(30), "three sticky processes to serve");

        using var first = await Porter.GetAsync("sticky.test", "/pid");
        var setCookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("_porter_route=", setCookie);
        Assert.Contains("HttpOnly", setCookie);
        Assert.Contains("SameSite=Lax", setCookie);
        Assert.DoesNotContain("Secure", setCookie);
        var cookie = new Dictionary<string, string> { ["Cookie"] = setCookie.Split(';')[0] };
        var home = int.Parse(await first.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture);

        // Even while its process is the busiest one, the client goes back to it, and the cookie is not sent again.
        var busy = Porter.GetAsync("sticky.test", "/slow?ms=1500", cookie);
        for (var i = 0; i < 5; i++)
        {
            using var again = await Porter.GetAsync("sticky.test", "/pid", cookie);
            Assert.Equal(home, int.Parse(await again.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture));
            Assert.False(again.Headers.Contains("Set-Cookie"));
        }
        Assert.Equal(home, ParsePid(await (await busy).Content.ReadAsStringAsync()));

        // A client that came over https through a trusted proxy gets a Secure cookie.
        using var https = await Porter.GetAsync("sticky.test", "/pid", new Dictionary<string, string> { ["X-Forwarded-Proto"] = "https" });
        Assert.Contains("Secure", Assert.Single(https.Headers.GetValues("Set-Cookie")));

        // Its process dies: the request goes to another process and the cookie is reset.
        PorterProcess.Kill(home, 9);
        using var moved = await Porter.GetAsync("sticky.test", "/pid", cookie);
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.NotEqual(home, int.Parse(await moved.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture));
        var reset = Assert.Single(moved.Headers.GetValues("Set-Cookie"));
        Assert.NotEqual(cookie["Cookie"], reset.Split(';')[0]);
    }

    [Fact]
    public async Task Crashed_process_is_replaced_and_a_new_pid_serves()
    {
        await WaitForProcessesAsync(Porter, "crash", 1);
        var crashed = await PidAsync(Porter, "crash.test");
        using (await Porter.GetAsync("crash.test", "/crash?code=7")) { }
        var replacement = await Poll.UntilAsync(async () => await TryPidAsync(Porter, "crash.test") is { } pid && pid != crashed ? pid : (int?)null,
            TimeSpan.FromSeconds(20), "a replacement process");
        Assert.False(PorterProcess.IsAlive(crashed));
        Assert.True(PorterProcess.IsAlive(replacement!.Value));
        Assert.Contains($"crash process {crashed}: the application process exited with code 7", Porter.Output);
    }
}
