using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Cli;

/// <summary>What a newcomer reads on the console of a real node: one banner, Porter's lines, no Akka chatter.</summary>
public sealed class ConsoleOutputTests
{
    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_standalone_node_prints_the_banner_and_no_akka_info_lines_by_default()
    {
        await using var node = await PorterProcess.StartAsync([Repo.TestApp]);
        await Poll.UntilAsync(() => node.Output.Contains("Stop Porter by pressing Ctrl-C", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the start-up banner");
        // Akka logs its cluster join at info a moment after start: give those lines time to appear, if they would.
        using (var pool = await node.Management.GetAsync("/pool")) pool.EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromSeconds(2));

        var output = node.Output;
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains(lines, l => l.Contains(" Porter standalone node started ", StringComparison.Ordinal));
        Assert.Contains($"Accessible via: http://127.0.0.1:{Text(node.Port)}/", lines);
        Assert.Contains(lines, l => l.StartsWith($"Management:     http://127.0.0.1:{Text(node.ManagementPort)}/ (dashboard:", StringComparison.Ordinal));
        Assert.Contains($"Data dir:       {node.DataDir}", lines);
        Assert.Contains(lines, l => l.StartsWith("Environment:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Log level:      information, Akka.NET warning", StringComparison.Ordinal));
        Assert.DoesNotContain("Porter is serving on", output);
        Assert.DoesNotContain("Now listening on", output);
        // Lines read "HH:mm:ss.fff LEVEL: Category[id] message": no Akka category at info, and no second stamp from Akka.
        Assert.DoesNotContain(lines, l => l.Contains(" info: Akka", StringComparison.Ordinal));
        Assert.DoesNotContain("[INFO][", output);
        // App output stays tagged with its app and PID.
        var pid = Assert.Single(node.RecordedAppPids());
        Assert.Contains(lines, l => l.Contains($"[testapp {Text(pid)} stdout]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Akka_lines_when_asked_for_carry_one_timestamp_under_their_class()
    {
        await using var node = await PorterProcess.StartAsync([Repo.TestApp],
            environment: new Dictionary<string, string> { ["PORTER__Logging__LogLevel__Akka"] = "information" });
        await Poll.UntilAsync(() => node.Output.Contains(" info: Akka.Cluster", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "an Akka info line");

        var akka = node.Output.Split('\n').Where(l => l.Contains(" info: Akka.", StringComparison.Ordinal)).ToList();
        Assert.Contains(akka, l => l.Contains("Akka.Cluster", StringComparison.Ordinal));
        Assert.All(akka, l =>
        {
            Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3} info: Akka\.", l);
            Assert.DoesNotContain("[INFO][", l);
            Assert.DoesNotMatch(@"\d\d/\d\d/\d{4}", l);
        });
    }

    [Fact]
    public async Task Json_log_format_prints_only_json_lines_with_the_start_as_one_entry()
    {
        await using var node = await PorterProcess.StartAsync([Repo.TestApp, "--log-format", "json"]);
        var pid = Assert.Single(node.RecordedAppPids());
        await Poll.UntilAsync(() => node.Output.Contains($"[testapp {Text(pid)} stdout]", StringComparison.Ordinal) && node.Output.Contains("node started", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the start entry and the app's output");

        var entries = node.Output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(entries, e =>
        {
            Assert.True(e.TryGetProperty("Timestamp", out _));
            Assert.True(e.TryGetProperty("LogLevel", out _));
            Assert.True(e.TryGetProperty("Category", out _));
        });
        var start = Assert.Single(entries, e => e.GetProperty("Message").GetString()!.Contains("node started", StringComparison.Ordinal));
        Assert.Equal($"http://127.0.0.1:{Text(node.Port)}/", start.GetProperty("State").GetProperty("Urls").GetString());
        Assert.Equal("testapp", start.GetProperty("State").GetProperty("Apps").GetString());
        Assert.Contains(entries, e => e.GetProperty("State").TryGetProperty("Pid", out var p) && p.ValueKind == JsonValueKind.Number && p.GetInt32() == pid
            && e.GetProperty("Category").GetString() == "Porter.Workers.Pool");
    }
}
