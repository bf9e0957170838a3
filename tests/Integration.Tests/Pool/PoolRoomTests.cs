using System.Net;
using Porter.Integration.Tests.Infrastructure;
using static Porter.Integration.Tests.Pool.PoolApps;

namespace Porter.Integration.Tests.Pool;

/// <summary>max-pool-size across apps on one node: idle processes of one app make room for another.</summary>
public sealed class PoolRoomTests
{
    [Fact]
    public async Task Full_pool_stops_idle_processes_of_another_app_and_never_holds_more_than_max_pool_size()
    {
        var config = PoolApps.Config(""" "MaxPoolSize": 2 """, Repo.TestApp,
            """{ "Name": "a", "Hosts": ["a.test"], "MinInstances": 0 }""",
            """{ "Name": "b", "Hosts": ["b.test"], "MinInstances": 1, "MaxInstances": 2, "Concurrency": 1 }""");
        await using var porter = await PorterProcess.StartAsync(["--config", config], waitForApp: false);
        var most = 0;
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                most = Math.Max(most, porter.RecordedAppPids().Count(PorterProcess.IsAlive));
                await Task.Delay(20);
            }
        });

        // a has min-instances 0: its first request starts its process. The pool is then full (a + b).
        var pidA = await Poll.UntilAsync(() => TryPidAsync(porter, "a.test"), TimeSpan.FromSeconds(30), "app a");
        await WaitForProcessesAsync(porter, "b", 1);

        // Two concurrent requests to b at concurrency 1: b needs a second process, and a's idle one gives way.
        var burst = await BurstAsync(porter, "b.test", "/slow?ms=2000", 2);
        Assert.All(burst, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(2, burst.Select(r => ParsePid(r.Body)).Distinct().Count());
        Assert.False(PorterProcess.IsAlive(pidA!.Value));
        Assert.Contains("making room for another app", porter.Output);

        // Now a needs room again: one of b's processes (b is above its min-instances) makes way.
        var againA = await Poll.UntilAsync(() => TryPidAsync(porter, "a.test"), TimeSpan.FromSeconds(30), "app a again");
        Assert.NotEqual(pidA, againA);
        await WaitForProcessesAsync(porter, "b", 1);

        watching.Cancel();
        await watcher;
        Assert.True(most <= 2, $"the node ran {most} app processes with max-pool-size 2");
    }
}
