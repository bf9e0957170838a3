using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Porter.Contracts.Pool;
using Porter.Contracts.Options;
using Porter.Integration.Tests.Infrastructure;
using Porter.Workers.Pool;
using Xunit.Abstractions;

namespace Porter.Integration.Tests.Oob;

/// <summary>
/// Out-of-band work across a real three-node cluster inside this test process: a seed node hosting the coordinator
/// singleton (one testapp process) and two worker nodes with three testapp processes each, whose every response asks
/// for OOB work. Each run appends its start and end (CLOCK_MONOTONIC) to one shared log. The nodes share one SQLite
/// journal file, so the singleton that moves after the seed crashes recovers the grants and counters its predecessor wrote.
/// </summary>
public sealed class OobClusterTests(ITestOutputHelper output)
{
    private sealed record Sample(long SentNs, int Status, string Body, string? Error, string Node);

    [Fact]
    public async Task Runs_never_overlap_all_happen_and_survive_the_crash_of_the_coordinator_node()
    {
        // The test compares its own clock with the apps' process.hrtime: both CLOCK_MONOTONIC in nanoseconds on Linux.
        Assert.Equal(1_000_000_000, Stopwatch.Frequency);
        var shared = Repo.TempDir("oob-journal");
        var journal = Path.Combine(shared, "porter.db");
        var log = Path.Combine(shared, "oob.log");
        File.WriteAllText(log, "");

        await using var seed = await InProcessNode.StartAsync(App(log, 1), configure: o => Configure(o, journal));
        await using var b = await InProcessNode.StartAsync(App(log, 3), seed, o => Configure(o, journal));
        await using var c = await InProcessNode.StartAsync(App(log, 3), seed, o => Configure(o, journal));
        await Poll.UntilAsync(() => Cluster.Get(seed.System).State.Members.Count(m => m.Status == MemberStatus.Up) == 3,
            TimeSpan.FromSeconds(30), "three Up members");
        // The oldest worker node (the seed) hosts the coordinator.
        await seed.System.ActorSelection("/user/oob-coordinator/oob-coordinator").ResolveOne(TimeSpan.FromSeconds(10));
        foreach (var node in new[] { b, c })
            await Poll.UntilAsync(() => Pool(node).Routable.Count >= 3, TimeSpan.FromSeconds(30), "three routable processes");

        // Runs are asked for by responses, so the load lasts until the runs after the crash are seen (bounded in time and count).
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var samples = new List<Sample>();
        var load = new[] { b, c }.SelectMany(node => Enumerable.Range(0, 3).Select(_ => Load(node, samples, 20_000, stop.Token))).ToArray();

        await Poll.UntilAsync(() => Runs(log).Count >= 10, TimeSpan.FromSeconds(30), "ten OOB runs before the crash");
        var runsBefore = await ClusterRunsAsync(b);
        output.WriteLine($"runs before the crash: log {Runs(log).Count}, coordinator {runsBefore}");

        var seedAddress = Cluster.Get(seed.System).SelfAddress;
        var crashedAt = Stopwatch.GetTimestamp();
        await seed.CrashAsync();
        // The survivors' split brain resolver (keep-majority, stable after 2 s) downs the crashed seed; the singleton moves.
        await Poll.UntilAsync(() => Cluster.Get(b.System).State.Members.All(m => m.Address != seedAddress),
            TimeSpan.FromSeconds(30), "the crashed seed to be removed");
        await Poll.UntilAsync(() => Runs(log).Count(r => r.StartNs > crashedAt) >= 10, TimeSpan.FromSeconds(30),
            "ten OOB runs after the crash");
        await b.System.ActorSelection("/user/oob-coordinator/oob-coordinator").ResolveOne(TimeSpan.FromSeconds(10));
        // The moved coordinator's counters start from what the journal holds, not from zero.
        var runsAfter = await ClusterRunsAsync(b);
        Assert.True(runsAfter >= runsBefore, $"the coordinator's run count went from {runsBefore} to {runsAfter} over the fail-over");

        await stop.CancelAsync();
        await Task.WhenAll(load);
        // Every process that served a request ends up with a run that started after it: poll until none is pending.
        await Poll.UntilAsync(async () => await SettledAsync(b) && await SettledAsync(c) ? "" : null, TimeSpan.FromSeconds(30),
            "every pending OOB run to finish");

        var runs = Runs(log);
        List<Sample> all;
        lock (samples) all = samples.ToList();
        output.WriteLine($"{all.Count} requests, {runs.Count} OOB runs, {runs.Count(r => r.StartNs > crashedAt)} after the crash");
        Assert.All(all, s => Assert.True(s.Status == 200, $"request to {s.Node} failed: {s.Status} {s.Error} {s.Body}"));

        OobRunLog.AssertNoOverlap(runs);

        // Each run began on a drained process, with its own token: ids never repeat, and the coordinator that took over
        // went on from the journal's last id instead of starting again at 1.
        Assert.All(runs, r => Assert.True(r.InFlight == 0, $"pid {r.Pid} began OOB work with {r.InFlight} requests in flight"));
        Assert.Equal(runs.Count, runs.Select(r => r.Token).Distinct().Count());
        var lastTokenBefore = runs.Where(r => r.EndNs < crashedAt).Max(r => r.Token);
        Assert.All(runs.Where(r => r.StartNs > crashedAt), r => Assert.True(r.Token > lastTokenBefore,
            $"token {r.Token} granted after the fail-over is not above the last one before it ({lastTokenBefore})"));

        foreach (var group in all.GroupBy(s => int.Parse(s.Body, CultureInfo.InvariantCulture)))
        {
            var lastSent = group.Max(s => s.SentNs);
            Assert.True(runs.Any(r => r.Pid == group.Key && r.StartNs > lastSent),
                $"process {group.Key} served {group.Count()} requests asking for OOB work but had no run after the last one");
        }
    }

    private static AppOptions App(string log, int instances) => new()
    {
        Name = "testapp",
        Root = Repo.TestApp,
        // Short runs keep the test quick; the log is shared by every process of every node.
        AppStartCommand = $"env OOB_LOG={log} OOB_MS=20 node --expose-gc app.js",
        MinInstances = instances,
        MaxInstances = instances + 1,
        DisableTurbocaching = true,
    };

    /// <summary>Each node keeps its own data dir (PID records, which a node starting in a shared one would end) but uses the shared journal.</summary>
    private static void Configure(PorterOptions options, string journal)
    {
        options.DowningStableAfter = 2;
        options.Persistence.ConnectionString = $"Data Source={journal}";
    }

    private static AppPool Pool(InProcessNode node) =>
        ((PoolRegistry)node.Services.GetService(typeof(PoolRegistry))!).Find(new("testapp"))!;

    /// <summary>No OOB run pending or running on the node: every process is in rotation again.</summary>
    private static async Task<bool> SettledAsync(InProcessNode node)
    {
        var pool = node.Services.GetRequiredService<IRequiredActor<PoolManager>>().ActorRef;
        var state = await pool.Ask<PoolState>(PoolProtocol.GetPoolState.Instance, TimeSpan.FromSeconds(5));
        return state.Apps.All(a => a.Processes.All(p => p.State == ProcessLifecycle.Enabled && p.Oob is null))
            && Pool(node).Routable.All(e => !e.IsOobWanted);
    }

    private static Task Load(InProcessNode node, List<Sample> samples, int requests, CancellationToken stop) => Task.Run(async () =>
    {
        for (var i = 0; i < requests && !stop.IsCancellationRequested; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            Sample sample;
            try
            {
                using var response = await node.Client.GetAsync("/pid?oob=1");
                sample = new Sample(sent, (int)response.StatusCode, await response.Content.ReadAsStringAsync(), null, node.BaseAddress.ToString());
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                sample = new Sample(sent, 0, "", e.Message, node.BaseAddress.ToString());
            }
            lock (samples) samples.Add(sample);
        }
    });

    private static List<OobRunLog.Run> Runs(string log) => OobRunLog.Read(log);

    /// <summary>The coordinator's cluster-wide run count from GET /oob, retried while the singleton moves.</summary>
    private static Task<long?> ClusterRunsAsync(InProcessNode node) => Poll.UntilAsync<long?>(async () =>
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.Options.Management.Port}/") };
        using var response = await client.GetAsync("oob");
        if (!response.IsSuccessStatusCode) return null;
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("cluster").GetProperty("runs").GetInt64();
    }, TimeSpan.FromSeconds(30), "GET /oob to answer");
}
