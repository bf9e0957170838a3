using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Pool;

/// <summary>Crashes with real processes: growing backoff, the crash loop's 503, recovery, and garbage output.</summary>
public sealed partial class CrashLoopTests
{
    [GeneratedRegex(@"next start in ([0-9.]+) s")]
    private static partial Regex NextStart();

    [Fact]
    public async Task Repeated_crashes_back_off_longer_each_time_then_503_until_the_app_is_fixed()
    {
        var marker = Path.Combine(Repo.TempDir("crash-marker"), "broken");
        await File.WriteAllTextAsync(marker, "");
        await using var porter = await PorterProcess.StartAsync(
            [Repo.TestApp, "--environment", "development", "--crash-loop-crashes", "3"], waitForApp: false,
            environment: new Dictionary<string, string> { ["EXIT_AT_START_IF_EXISTS"] = marker });

        // Three crashes in a row: the delays before each next start double (0.5, 1, 2 s), then the app is failing.
        await Poll.UntilAsync(() => porter.Output.Contains("is crash-looping"), TimeSpan.FromSeconds(30), "the crash loop");
        var delays = NextStart().Matches(porter.Output).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal([0.5, 1, 2], delays.Take(3));

        // Failing: 503 at once with Retry-After, and in development the cause and the app's stderr.
        using (var failing = await porter.Client.GetAsync("/pid"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
            Assert.NotNull(failing.Headers.RetryAfter);
            var page = await failing.Content.ReadAsStringAsync();
            Assert.Contains("exited during start with code 4", page);
            Assert.Contains("EXIT_AT_START_IF_EXISTS", page);
        }

        // Fixed: the next attempt (still backing off, never in a hot loop) starts a process that serves.
        File.Delete(marker);
        await Poll.UntilAsync(async () =>
        {
            using var response = await porter.Client.GetAsync("/pid");
            return response.StatusCode == HttpStatusCode.OK ? "" : null;
        }, TimeSpan.FromSeconds(30), "the fixed app to serve");
        Assert.False(porter.HasExited);
    }

    [Fact]
    public async Task Garbage_on_stdout_is_logged_sanitised_and_the_node_keeps_serving()
    {
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp], waitForApp: true,
            environment: new Dictionary<string, string> { ["GARBAGE"] = "1" });
        using var response = await porter.Client.GetAsync("/pid");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Poll.UntilAsync(() => porter.Output.Contains("AAAAAAAAAAAAAAAA"), TimeSpan.FromSeconds(10), "the garbage in the log");
        // Escape sequences and NULs never reach the node's log as they were.
        Assert.DoesNotContain('\u001b', porter.Output);
        Assert.DoesNotContain('\0', porter.Output);
        Assert.False(porter.HasExited);
    }
}
