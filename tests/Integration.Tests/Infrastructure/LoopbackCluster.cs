using System.Text.Json;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>
/// Simulated pods on loopback: gateway nodes (127.0.0.2, ...) then worker nodes (the next addresses), real processes
/// that all use the same public, management and remoting ports on their own address, joined through the first
/// gateway as seed node.
/// </summary>
public sealed class LoopbackCluster : IAsyncDisposable
{
    public const string Token = "test-management-token";

    private readonly List<PorterProcess> _nodes = new();

    private readonly int _gateways;

    private LoopbackCluster(int gateways, int port, int managementPort, int remotingPort)
    {
        _gateways = gateways;
        Port = port;
        ManagementPort = managementPort;
        RemotingPort = remotingPort;
    }

    public int Port { get; }
    public int ManagementPort { get; }
    public int RemotingPort { get; }
    public PorterProcess Gateway => _nodes[0];
    public IReadOnlyList<PorterProcess> Gateways => _nodes.Take(_gateways).ToList();
    public IReadOnlyList<PorterProcess> Workers => _nodes.Skip(_gateways).ToList();

    /// <summary>The loopback address of each worker node, in the order of <see cref="Workers"/>.</summary>
    public IReadOnlyList<string> WorkerAddresses => _nodes.Skip(_gateways).Select(n => n.Address).ToList();

    /// <summary>The akka.tcp address of the node on <paramref name="address"/>.</summary>
    public string NodeAddress(string address) => $"akka.tcp://porter@{address}:{RemotingPort}";

    /// <summary>The worker hosting the worker role's singletons (the OOB coordinator): the oldest Up worker, as the gateway sees it.</summary>
    public async Task<PorterProcess> OldestWorkerAsync()
    {
        using var response = await Gateway.Management.GetAsync("/cluster/members");
        var oldest = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement
            .GetProperty("oldestPerRole").GetProperty("worker").GetString();
        return Workers.Single(w => NodeAddress(w.Address) == oldest);
    }

    private static readonly string[] Addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];

    /// <summary>
    /// Starts <paramref name="gateways"/> gateways and <paramref name="workers"/> workers serving testapp, and waits
    /// until they are all Up and the first gateway routes to every worker. The turbocache is off unless
    /// <paramref name="turbocache"/>, so every request reaches a worker. Workers get <paramref name="workerArgs"/> after
    /// their own and <paramref name="workerEnvironment"/> (their app processes inherit it); <paramref name="nodeArgs"/>
    /// go to every node.
    /// </summary>
    /// <param name="appProcesses">App processes per worker (min-instances, and max-instances too when it is 1).</param>
    /// <param name="gatewayArgs">Flags for the gateways only (HTTPS, say, which a worker refuses).</param>
    public static async Task<LoopbackCluster> StartAsync(int workers = 2, int gateways = 1, bool turbocache = false, int appProcesses = 2,
        IReadOnlyList<string>? workerArgs = null, IDictionary<string, string>? workerEnvironment = null, IReadOnlyList<string>? nodeArgs = null,
        IReadOnlyList<string>? gatewayArgs = null)
    {
        var used = Addresses.Take(gateways + workers).ToArray();
        var cluster = new LoopbackCluster(gateways, Repo.FreePortOnAll(used), Repo.FreePortOnAll(used), Repo.FreePortOnAll(used));
        string[] App(params string[] more) =>
            [Repo.TestApp, "--app-name", "testapp", .. cluster.CommonArgs(), .. turbocache ? [] : new[] { "--disable-turbocaching" }, .. nodeArgs ?? [], .. more];
        try
        {
            // The first gateway is the seed; it lists itself first so it forms the cluster.
            cluster._nodes.Add(await PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Gateway, App([.. gatewayArgs ?? []]), waitForApp: false,
                address: used[0], port: cluster.Port, managementPort: cluster.ManagementPort));
            var starting = used.Skip(1).Select((address, i) => PorterProcess.StartNodeAsync(
                i + 1 < gateways ? PorterProcess.NodeKind.Gateway : PorterProcess.NodeKind.Worker,
                i + 1 < gateways ? App([.. gatewayArgs ?? []]) : App([.. WorkerArgs(appProcesses), .. workerArgs ?? []]),
                waitForApp: false, environment: i + 1 < gateways ? null : workerEnvironment,
                address: address, port: cluster.Port, managementPort: cluster.ManagementPort));
            cluster._nodes.AddRange(await Task.WhenAll(starting));
            await cluster.WaitForUpMembersAsync(gateways + workers);
            await Poll.UntilAsync(async () =>
            {
                var pids = await cluster.PidsAnsweringAsync(20);
                return cluster.Workers.All(w => w.RecordedAppPids().Intersect(pids).Any()) ? pids : null;
            }, TimeSpan.FromSeconds(60), "requests through the gateway to reach every worker");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static string[] WorkerArgs(int appProcesses)
    {
        var count = appProcesses.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return appProcesses == 1 ? ["--min-instances", count, "--max-instances", count] : ["--min-instances", count];
    }

    private string[] CommonArgs() =>
    [
        "--remoting-port", RemotingPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--seed-nodes", NodeAddress(Addresses[0]),
        "--management-token", Token,
        "--downing-stable-after", "2",
    ];

    /// <summary>The members the gateway (or <paramref name="via"/>) reports with status Up.</summary>
    public async Task<IReadOnlyList<JsonElement>> UpMembersAsync(PorterProcess? via = null)
    {
        using var response = await (via ?? Gateway).Management.GetAsync("/cluster/members");
        var members = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("members");
        return members.EnumerateArray().Where(m => m.GetProperty("status").GetString() == "Up").ToList();
    }

    public Task WaitForUpMembersAsync(int count, PorterProcess? via = null) =>
        Poll.UntilAsync(async () => (await UpMembersAsync(via)).Count == count ? "" : null, TimeSpan.FromSeconds(60), $"{count} Up members");

    /// <summary>The PIDs that answered <paramref name="requests"/> GETs of /pid through the first gateway.</summary>
    public async Task<HashSet<int>> PidsAnsweringAsync(int requests)
    {
        var pids = new HashSet<int>();
        for (var i = 0; i < requests; i++)
        {
            using var response = await Gateway.Client.GetAsync("/pid");
            if (response.IsSuccessStatusCode) pids.Add(int.Parse(await response.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }
        return pids;
    }

    public async ValueTask DisposeAsync()
    {
        // Workers first, so none of them is left waiting for a gateway that went away.
        foreach (var node in _nodes.AsEnumerable().Reverse()) await node.DisposeAsync();
    }
}

/// <summary>
/// A bounded load loop: a few clients GET a path through the gateway until stopped, a request count or a time
/// limit is reached, recording every outcome with its latency and cache status.
/// </summary>
public sealed class LoadLoop : IAsyncDisposable
{
    /// <param name="Elapsed">From sending the request until its whole answer (or its error) arrived.</param>
    /// <param name="Cache">The X-Cache header of the answer, if any.</param>
    /// <param name="Started">When the request was sent (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).</param>
    public sealed record Outcome(int Status, string Body, string? Error, TimeSpan Elapsed = default, string? Cache = null, string Path = "",
        long Started = 0);

    private readonly CancellationTokenSource _stop;
    private readonly Task _running;
    private readonly List<Outcome> _outcomes = new();

    public LoadLoop(HttpClient client, string path, int clients = 4, int maxRequests = 4000, TimeSpan? maxTime = null)
        : this(client, _ => path, clients, maxRequests, maxTime)
    {
    }

    /// <param name="path">The path of the n-th request (n counts from 0 across all clients).</param>
    public LoadLoop(HttpClient client, Func<int, string> path, int clients = 4, int maxRequests = 4000, TimeSpan? maxTime = null)
    {
        _stop = new CancellationTokenSource(maxTime ?? TimeSpan.FromSeconds(60));
        var remaining = maxRequests;
        var sent = -1;
        _running = Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested && Interlocked.Decrement(ref remaining) >= 0)
            {
                Outcome outcome;
                var target = path(Interlocked.Increment(ref sent));
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.GetAsync(target);
                    var body = await response.Content.ReadAsStringAsync();
                    outcome = new Outcome((int)response.StatusCode, body, null, System.Diagnostics.Stopwatch.GetElapsedTime(started),
                        response.Headers.TryGetValues("X-Cache", out var cache) ? cache.First() : null, target, started);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    outcome = new Outcome(0, "", e.Message, System.Diagnostics.Stopwatch.GetElapsedTime(started), null, target, started);
                }
                lock (_outcomes) _outcomes.Add(outcome);
            }
        })));
    }

    public IReadOnlyList<Outcome> Outcomes
    {
        get { lock (_outcomes) return _outcomes.ToList(); }
    }

    /// <summary>Waits until at least <paramref name="count"/> more requests have completed.</summary>
    public Task WaitForMoreAsync(int count)
    {
        var target = Outcomes.Count + count;
        return Poll.UntilAsync(() => Outcomes.Count >= target || _running.IsCompleted, TimeSpan.FromSeconds(60), $"{count} more requests");
    }

    public async Task<IReadOnlyList<Outcome>> StopAsync()
    {
        _stop.Cancel();
        await _running;
        return Outcomes;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
