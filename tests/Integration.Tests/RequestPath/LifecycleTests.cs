using System.Net;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>Supervision and shutdown with real processes: restarts, orphans, and failures that must show as 503.</summary>
public sealed class LifecycleTests
{
    private static async Task<int> PidAsync(PorterProcess porter)
    {
        using var response = await porter.Client.GetAsync("/pid");
        response.EnsureSuccessStatusCode();
        return int.Parse(await response.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Killed_app_process_is_replaced_and_the_next_request_reaches_a_new_pid()
    {
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp]);
        var first = await PidAsync(porter);
        PorterProcess.Kill(first, 9);
        var second = await Poll.UntilAsync<int?>(async () =>
        {
            var pid = await PidAsync(porter);
            return pid != first ? pid : null;
        }, TimeSpan.FromSeconds(30), "a new app process");
        Assert.NotEqual(first, second);
        Assert.True(PorterProcess.IsAlive(second!.Value));
    }

    [Fact]
    public async Task Graceful_stop_leaves_no_app_process_behind()
    {
        var porter = await PorterProcess.StartAsync([Repo.TestApp, "--min-instances", "3"]);
        await Poll.UntilAsync(() => porter.RecordedAppPids().Count == 3, TimeSpan.FromSeconds(30), "three app processes");
        var pids = porter.RecordedAppPids();
        Assert.All(pids, pid => Assert.True(PorterProcess.IsAlive(pid)));

        var exitCode = await porter.StopAsync();
        await porter.DisposeAsync();

        Assert.Equal(0, exitCode);
        Assert.All(pids, pid => Assert.False(PorterProcess.IsAlive(pid), $"app process {pid} outlived porter"));
    }

    [Fact]
    public async Task In_flight_request_finishes_during_graceful_stop()
    {
        var porter = await PorterProcess.StartAsync([Repo.TestApp]);
        var slow = porter.Client.GetAsync("/slow?ms=1500");
        await Poll.UntilAsync(async () =>
        {
            // Make sure the slow request reached the app before stopping.
            using var count = await porter.Client.GetAsync("/count");
            return int.Parse(await count.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture) >= 1 ? "" : null;
        }, TimeSpan.FromSeconds(10), "the slow request to arrive");
        var stopping = porter.StopAsync();
        using var response = await slow;
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}; porter said:\n{porter.Output}");
        Assert.Equal(0, await stopping);
        await porter.DisposeAsync();
    }

    [Fact]
    public async Task Next_start_ends_processes_left_by_a_hard_killed_node()
    {
        var dataDir = Repo.TempDir("orphans");
        var first = await PorterProcess.StartAsync([Repo.TestApp], dataDir: dataDir);
        await Poll.UntilAsync(() => first.RecordedAppPids().Count == 1, TimeSpan.FromSeconds(30), "a recorded app process");
        var orphan = first.RecordedAppPids().Single();
        await first.KillHardAsync();
        Assert.True(PorterProcess.IsAlive(orphan), "the app should outlive a SIGKILLed node");

        await using var second = await PorterProcess.StartAsync([Repo.TestApp], dataDir: dataDir);
        await Poll.UntilAsync(() => !PorterProcess.IsAlive(orphan), TimeSpan.FromSeconds(30), "the orphan to be ended");
        await first.DisposeAsync();
    }

    [Theory]
    [InlineData("development", true)]
    [InlineData("production", false)]
    public async Task App_that_exits_at_once_gets_503_that_names_the_cause_only_in_development(string environment, bool showsCause)
    {
        await using var porter = await PorterProcess.StartAsync(
            [Repo.TestApp, "--environment", environment, "--request-wait-timeout", "3"], waitForApp: false,
            environment: new Dictionary<string, string> { ["EXIT_AT_START"] = "1" });
        using var response = await porter.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter is not null, "503 must carry Retry-After");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(showsCause, body.Contains("exited during start with code 3"));
        Assert.Equal(showsCause, body.Contains("EXIT_AT_START"));
        // The node's log has the app's stderr in every environment.
        await Poll.UntilAsync(() => porter.Output.Contains("EXIT_AT_START"), TimeSpan.FromSeconds(10), "stderr in the log");
    }

    [Fact]
    public async Task App_that_never_listens_gets_503_after_the_start_timeout()
    {
        await using var porter = await PorterProcess.StartAsync(
            [Repo.TestApp, "--environment", "development", "--start-timeout", "1", "--request-wait-timeout", "3"], waitForApp: false,
            environment: new Dictionary<string, string> { ["NEVER_LISTEN"] = "1" });
        using var response = await porter.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("did not accept connections", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Missing_start_command_never_takes_the_node_down()
    {
        await using var porter = await PorterProcess.StartAsync(
            [Repo.TestApp, "--environment", "development", "--app-start-command", "/nonexistent/server --port $PORT", "--request-wait-timeout", "2"],
            waitForApp: false);
        using var response = await porter.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.False(porter.HasExited);
    }
}
