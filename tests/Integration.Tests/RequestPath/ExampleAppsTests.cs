using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>Each example app served by a real porter node: app responses, and static files that never reach the app.</summary>
public sealed class ExampleAppsTests
{
    public static TheoryData<string> Examples => new() { "hello-node", "hello-python", "hello-dotnet" };

    private static async Task<string[]> StartArgsAsync(string example)
    {
        if (example != "hello-dotnet") return [Repo.Example(example)];
        var dll = await HelloDotnetDllAsync();
        return [Repo.Example(example), "--app-start-command", $"dotnet {dll}"];
    }

    /// <summary>hello-dotnet is in Cluster.sln, so a solution build has built it; a lone test run builds it here.</summary>
    private static async Task<string> HelloDotnetDllAsync()
    {
        foreach (var configuration in new[] { "Debug", "Release" })
        {
            var dll = Path.Combine(Repo.Example("hello-dotnet"), "bin", configuration, "net10.0", "hello-dotnet.dll");
            if (File.Exists(dll)) return dll;
        }
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", Repo.Example("hello-dotnet"), "-c", "Debug", "-v", "q"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        await build.StandardOutput.ReadToEndAsync();
        await build.WaitForExitAsync();
        Assert.Equal(0, build.ExitCode);
        return Path.Combine(Repo.Example("hello-dotnet"), "bin", "Debug", "net10.0", "hello-dotnet.dll");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Serves_the_app_with_its_pid_and_a_counter(string example)
    {
        await using var porter = await PorterProcess.StartAsync(await StartArgsAsync(example));
        var first = await porter.Client.GetStringAsync("/");
        var second = await porter.Client.GetStringAsync("/");
        Assert.Contains(example, first);
        var pid = (await porter.Client.GetStringAsync("/pid")).Trim();
        Assert.Contains(pid, first);
        Assert.True(PorterProcess.IsAlive(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.NotEqual(first, second);

        using var cached = await porter.Client.GetAsync("/cached");
        Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
        Assert.NotNull(cached.Headers.CacheControl?.MaxAge);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Does_out_of_band_work_when_porter_asks(string example)
    {
        await using var porter = await PorterProcess.StartAsync([.. await StartArgsAsync(example), "--oob-work-every", "1"]);
        Assert.Contains(example, await porter.Client.GetStringAsync("/"));
        // The run is counted by outcome: "completed" means the app answered POST /.porter/oob-work with a 2xx.
        await Poll.UntilAsync(async () =>
        {
            var samples = PrometheusText.Parse(await porter.Management.GetStringAsync("/metrics"));
            return samples.Any(s => s.Name.StartsWith("porter_oob_runs", StringComparison.Ordinal)
                && s.Labels.GetValueOrDefault("outcome") == "completed" && s.Value >= 1) ? "" : null;
        }, TimeSpan.FromSeconds(30), $"a completed OOB run of {example}");
        // The process is back in rotation afterwards.
        Assert.Contains(example, await porter.Client.GetStringAsync("/"));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Serves_public_files_with_validators_and_ranges(string example)
    {
        await using var porter = await PorterProcess.StartAsync(await StartArgsAsync(example));
        var expected = await File.ReadAllTextAsync(Path.Combine(Repo.Example(example), "public", "hello.txt"));

        using var response = await porter.Client.GetAsync("/hello.txt");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, await response.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());

        var conditional = new HttpRequestMessage(HttpMethod.Get, "/hello.txt");
        conditional.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var notModified = await porter.Client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        var ranged = new HttpRequestMessage(HttpMethod.Get, "/hello.txt");
        ranged.Headers.Range = new RangeHeaderValue(0, 4);
        using var partial = await porter.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(expected[..5], await partial.Content.ReadAsStringAsync());
    }
}
