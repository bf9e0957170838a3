using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Pool;

/// <summary>Graceful stop ends every app process, including ones still starting.</summary>
public sealed class PoolShutdownTests
{
    [Fact]
    public async Task Stop_leaves_no_process_behind_even_while_processes_are_starting()
    {
        var porter = await PorterProcess.StartAsync([Repo.TestApp, "--min-instances", "3"], waitForApp: false,
            environment: new Dictionary<string, string> { ["START_DELAY_MS"] = "20000" });
        await Poll.UntilAsync(() => porter.RecordedAppPids().Count == 3, TimeSpan.FromSeconds(30), "three starting processes");
        var pids = porter.RecordedAppPids();

        var exitCode = await porter.StopAsync();
        await porter.DisposeAsync();

        Assert.Equal(0, exitCode);
        Assert.All(pids, pid => Assert.False(PorterProcess.IsAlive(pid), $"app process {pid} outlived porter"));
    }
}
