using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Pool;

/// <summary>
/// One porter node serving several instances of tests/apps/testapp, each configured for one pool behaviour and
/// reached by its own host name, so the tests of a class share a single node start.
/// </summary>
public sealed class PoolFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var config = PoolApps.Config(
            """ "MaxPoolSize": 24, "MemoryCheckInterval": 0.5, "TrustedProxies": ["127.0.0.1"] """,
            Repo.TestApp,
            """{ "Name": "spread", "Hosts": ["spread.test"], "MinInstances": 3 }""",
            """{ "Name": "queue", "Hosts": ["queue.test"], "Concurrency": 1, "MaxInstances": 1, "MaxRequestQueueSize": 1 }""",
            """{ "Name": "queuetime", "Hosts": ["queuetime.test"], "Concurrency": 1, "MaxInstances": 1, "MaxRequestQueueTime": 1 }""",
            """{ "Name": "recycle", "Hosts": ["recycle.test"], "MinInstances": 2, "MaxRequests": 5 }""",
            """{ "Name": "leak", "Hosts": ["leak.test"], "MaxMemory": 150 }""",
            """{ "Name": "sticky", "Hosts": ["sticky.test"], "MinInstances": 3, "StickySessions": true }""",
            """{ "Name": "scale", "Hosts": ["scale.test"], "MinInstances": 1, "MaxInstances": 3, "Concurrency": 1, "PoolIdleTime": 1 }""",
            """{ "Name": "crash", "Hosts": ["crash.test"] }""");
        Porter = await PorterProcess.StartAsync(["--config", config, "--disable-turbocaching"], waitForApp: false);
    }

    public async Task DisposeAsync()
    {
        var pids = Porter.RecordedAppPids();
        await Porter.DisposeAsync();
        // No orphans after a graceful stop, whatever the tests left starting, draining or recycling.
        Assert.All(pids, pid => Assert.False(PorterProcess.IsAlive(pid), $"app process {pid} outlived porter"));
    }
}
