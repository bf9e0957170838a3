using System.Net;
using Porter.Integration.Tests.Infrastructure;
using static Porter.Integration.Tests.Pool.PoolApps;

namespace Porter.Integration.Tests.Pool;

/// <summary>Three apps, each in its own copy of testapp (they touch files in their tmp/), on one node.</summary>
public sealed class RestartFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;
    public string RollingRoot { get; } = CopyOfTestApp();
    public string BlockingRoot { get; } = CopyOfTestApp();
    public string AlwaysRoot { get; } = CopyOfTestApp();

    public async Task InitializeAsync()
    {
        var config = PoolApps.Config("", Repo.TestApp,
            $$"""{ "Name": "rolling", "Root": "{{RollingRoot}}", "Hosts": ["rolling.test"], "MinInstances": 2, "StatThrottleRate": 1 }""",
            $$"""{ "Name": "blocking", "Root": "{{BlockingRoot}}", "Hosts": ["blocking.test"], "MinInstances": 2, "StatThrottleRate": 0, "RestartMethod": "blocking" }""",
            $$"""{ "Name": "always", "Root": "{{AlwaysRoot}}", "Hosts": ["always.test"], "StatThrottleRate": 0 }""");
        Porter = await PorterProcess.StartAsync(["--config", config, "--disable-turbocaching"], waitForApp: false);
    }

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}

/// <summary>Restarts on demand through tmp/restart.txt and tmp/always_restart.txt, against real processes.</summary>
public sealed class RestartTests(RestartFixture fixture) : IClassFixture<RestartFixture>
{
    private PorterProcess Porter => fixture.Porter;

    [Fact]
    public async Task Touching_restart_txt_replaces_every_process_with_zero_failed_requests_under_load()
    {
        await WaitForProcessesAsync(Porter, "rolling", 2);
        var old = Porter.RecordedAppPids("rolling");
        var failures = new List<string>();
        var servedByNew = 0;
        var sent = 0;
        var deadline = DateTime.UtcNow.AddSeconds(25);
        var touched = false;

        // Four clients keep requests flowing; the restart is asked for in the middle of it. The loop ends once the
        // new processes served a while and the old ones are gone, and is bounded in count and time either way.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async client =>
        {
            while (DateTime.UtcNow < deadline && Volatile.Read(ref sent) < 2000)
            {
                if (Volatile.Read(ref servedByNew) >= 40 && old.All(pid => !PorterProcess.IsAlive(pid))) return;
                Interlocked.Increment(ref sent);
                using var response = await Porter.GetAsync("rolling.test", "/slow?ms=10");
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    lock (failures) failures.Add($"{(int)response.StatusCode} {body}");
                    continue;
                }
                if (!old.Contains(ParsePid(body))) Interlocked.Increment(ref servedByNew);
                if (client == 0 && !touched && Volatile.Read(ref sent) > 20)
                {
                    touched = true;
                    await File.WriteAllTextAsync(Path.Combine(fixture.RollingRoot, "tmp", "restart.txt"), "");
                }
            }
        }));

        Assert.Empty(failures);
        Assert.True(servedByNew >= 40, $"new processes served {servedByNew} of {sent} requests");
        Assert.All(old, pid => Assert.False(PorterProcess.IsAlive(pid), $"old process {pid} still runs"));
        var now = Porter.RecordedAppPids("rolling");
        Assert.Equal(2, now.Count);
        Assert.Empty(now.Intersect(old));
    }

    [Fact]
    public async Task Blocking_restart_stops_the_old_processes_and_requests_wait_for_new_ones()
    {
        await WaitForProcessesAsync(Porter, "blocking", 2);
        var old = Porter.RecordedAppPids("blocking");
        File.WriteAllText(Path.Combine(fixture.BlockingRoot, "tmp", "restart.txt"), "");

        // stat-throttle-rate 0: this request sees the touch. Requests wait for the new processes instead of failing.
        for (var i = 0; i < 5; i++)
        {
            var pid = await PidAsync(Porter, "blocking.test");
            Assert.DoesNotContain(pid, old);
        }
        Assert.All(old, pid => Assert.False(PorterProcess.IsAlive(pid)));
        await WaitForProcessesAsync(Porter, "blocking", 2);
        Assert.Contains("blocking restarts (blocking)", Porter.Output);
    }

    [Fact]
    public async Task Always_restart_txt_serves_every_request_from_a_fresh_process_while_it_exists()
    {
        await WaitForProcessesAsync(Porter, "always", 1);
        var always = Path.Combine(fixture.AlwaysRoot, "tmp", "always_restart.txt");
        File.WriteAllText(always, "");
        var pids = new List<int>();
        for (var i = 0; i < 3; i++) pids.Add(await PidAsync(Porter, "always.test"));
        Assert.Equal(3, pids.Distinct().Count());

        File.Delete(always);
        var settled = await PidAsync(Porter, "always.test");
        Assert.Equal(settled, await PidAsync(Porter, "always.test"));
    }
}
