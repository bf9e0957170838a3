using System.Globalization;
using System.Text.RegularExpressions;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Cli;

/// <summary><c>porter memory-stats</c> against a real node and its app processes, read from /proc.</summary>
public sealed partial class MemoryStatsTests
{
    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);

    // "PID PPID VMSize Private Resident Name", sizes as "12.3 MB".
    [GeneratedRegex(@"^(?<pid>\d+)\s+(?<ppid>\d+)\s+(?<vm>[\d.]+) MB\s+(?<private>[\d.]+) MB\s+(?<rss>[\d.]+) MB\s+(?<name>.+)$")]
    private static partial Regex Row();

    private sealed record Line(string Section, int Pid, int Ppid, double VmSize, double Private, double Resident, string Name);

    private static List<Line> Parse(string output)
    {
        var rows = new List<Line>();
        var section = "";
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("---------", StringComparison.Ordinal)) section = line.Trim('-', ' ');
            else if (Row().Match(line) is { Success: true } m)
                rows.Add(new Line(section, int.Parse(m.Groups["pid"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["ppid"].Value, CultureInfo.InvariantCulture),
                    double.Parse(m.Groups["vm"].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups["private"].Value, CultureInfo.InvariantCulture),
                    double.Parse(m.Groups["rss"].Value, CultureInfo.InvariantCulture), m.Groups["name"].Value));
        }
        return rows;
    }

    [Fact]
    public async Task Lists_the_node_and_its_app_processes_with_sane_numbers_and_totals()
    {
        await using var node = await PorterProcess.StartAsync([Repo.TestApp, "--min-instances", "2"]);
        await Poll.UntilAsync(() => node.RecordedAppPids().Count == 2, TimeSpan.FromSeconds(60), "two app processes");
        var appPids = node.RecordedAppPids();

        var result = await PorterCommand.RunAsync("memory-stats");
        Assert.Equal(0, result.ExitCode);
        var rows = Parse(result.Stdout);

        var nodeRow = Assert.Single(rows, r => r.Pid == node.Pid);
        Assert.Equal("Porter node processes", nodeRow.Section);
        Assert.StartsWith("porter standalone node (", nodeRow.Name);
        // A .NET node with an actor system: tens of MB resident, more mapped, private within resident.
        Assert.InRange(nodeRow.Resident, 20, 4096);
        Assert.True(nodeRow.VmSize >= nodeRow.Resident, result.Stdout);
        Assert.InRange(nodeRow.Private, 1, nodeRow.Resident + 0.1);
        // The command itself is no node.
        Assert.DoesNotContain(rows, r => r.Name.Contains("memory-stats", StringComparison.Ordinal) && r.Section == "Porter node processes");

        foreach (var pid in appPids)
        {
            var app = Assert.Single(rows, r => r.Pid == pid);
            Assert.Equal("Application processes", app.Section);
            Assert.Equal(node.Pid, app.Ppid);
            Assert.StartsWith("[testapp] ", app.Name);
            Assert.Contains("app.js", app.Name);
            Assert.InRange(app.Resident, 5, 2048);
            Assert.InRange(app.Private, 0.1, app.Resident + 0.1);
        }
        var appRows = rows.Where(r => r.Section == "Application processes").ToList();
        Assert.Contains($"### Processes: {Text(appRows.Count)}", result.Stdout);
        var total = appRows.Sum(r => r.Resident);
        var totalLine = result.Stdout.Split('\n').Where(l => l.StartsWith("### Total private:", StringComparison.Ordinal)).Last();
        var stated = double.Parse(Regex.Match(totalLine, @"resident: ([\d.]+) MB").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(stated, total - 0.1 * appRows.Count - 0.1, total + 0.1 * appRows.Count + 0.1);
    }

    [Fact]
    public async Task An_unknown_option_is_a_one_line_usage_error()
    {
        var result = await PorterCommand.RunAsync("memory-stats", "--bogus");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("porter: unknown memory-stats option '--bogus' (see 'porter memory-stats --help')", result.Stderr.Trim());
    }
}
