using System.Text.RegularExpressions;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Management;

/// <summary>/metrics as a Prometheus user reads it: conventional names, seconds buckets, bounded labels, and every series in the README's table.</summary>
public sealed partial class MetricsNamingTests
{
    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^\| `(?<name>porter_[a-z_]+)(\{[^`]*\})?` \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeRow();

    [Fact]
    public async Task Series_follow_the_exposition_conventions_and_are_the_ones_the_readme_lists()
    {
        await using var node = await PorterProcess.StartAsync([Repo.TestApp, "--disable-turbocaching"]);
        for (var i = 0; i < 3; i++) (await node.Client.GetAsync("/pid")).Dispose();
        (await node.Client.GetAsync("/headers?status=503")).Dispose();
        var text = await Poll.UntilAsync(async () =>
        {
            var scraped = await node.Management.GetStringAsync("/metrics");
            return scraped.Contains("porter_pool_queued_requests", StringComparison.Ordinal) && scraped.Contains("status=\"5xx\"", StringComparison.Ordinal) ? scraped : null;
        }, TimeSpan.FromSeconds(30), "the pool gauges and the 5xx request in /metrics");
        var samples = PrometheusText.Parse(text);

        var families = TypeLine().Matches(text).Where(m => m.Groups["name"].Value.StartsWith("porter_", StringComparison.Ordinal))
            .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["type"].Value);
        Assert.NotEmpty(families);
        foreach (var (name, type) in families)
        {
            if (type == "counter") Assert.EndsWith("_total", name);
            else Assert.DoesNotContain("_total", name);
            if (type == "histogram") Assert.Matches("_(seconds|bytes)$", name);
        }

        // Seconds buckets, not the SDK's millisecond defaults: a fast request lands below 1 s, and 1 ms and 60 s are bounds.
        var buckets = samples.Where(s => s.Name == "porter_request_duration_seconds_bucket").Select(s => s.Labels["le"]).ToHashSet();
        Assert.Contains("0.001", buckets);
        Assert.Contains("60", buckets);
        Assert.DoesNotContain("10000", buckets);

        // Bounded labels: status classes only.
        var statuses = samples.Where(s => s.Name == "porter_requests_total").Select(s => s.Labels["status"]).ToHashSet();
        Assert.Contains("2xx", statuses);
        Assert.Contains("5xx", statuses);
        Assert.All(statuses, s => Assert.Matches("^[1-5]xx$", s));
        Assert.Contains(samples, s => s.Name == "target_info" && s.Labels.GetValueOrDefault("service_name") == "porter");

        // Every family the node exposes is documented (a histogram's family is its base name).
        var documented = ReadmeRow().Matches(File.ReadAllText(Path.Combine(Repo.Root, "README.md"))).Select(m => m.Groups["name"].Value).ToHashSet();
        foreach (var name in families.Keys) Assert.Contains(name, documented);
        Assert.DoesNotContain("porter_pool_queue", families.Keys);
    }
}
