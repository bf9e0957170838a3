using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Porter.Hosting.Tests.Discovery;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Kubernetes;

/// <summary>
/// The Kubernetes manifests proven on loopback: a fake Kubernetes API lists pods on 127.0.0.2 (gateway), 127.0.0.3 and
/// 127.0.0.4 (workers); real node processes get the environment the manifests set (the downward API's pod IP, the
/// discovery settings, the journal) and form one cluster through Cluster Bootstrap; then the workers are scaled up and
/// down under load.
/// </summary>
public sealed partial class PodsOnLoopbackTests
{
    private const string ManagementToken = "pods-on-loopback-token";

    private sealed record Workload(string Kind, V1Deployment Deployment)
    {
        public V1Container Container => Deployment.Spec.Template.Spec.Containers[0];
        public IDictionary<string, string> Labels => Deployment.Spec.Template.Metadata.Labels;
        public Dictionary<string, int> Ports => Container.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
    }

    private static Workload Load(string file, string kind)
    {
        var objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(Repo.Root, "k8s", file)));
        return new Workload(kind, objects.OfType<V1Deployment>().Single());
    }

    [GeneratedRegex(@"\$\((\w+)\)")]
    private static partial Regex VariableReference();

    /// <summary>
    /// The container's environment as Kubernetes would give it to a pod with <paramref name="podIp"/>: plain values with
    /// $(VAR) references expanded, the downward API's pod IP, and the Secret's keys from <paramref name="secrets"/>.
    /// </summary>
    private static Dictionary<string, string> ManifestEnvironment(Workload workload, string podIp, IReadOnlyDictionary<string, string> secrets)
    {
        var env = new Dictionary<string, string>();
        foreach (var variable in workload.Container.Env)
        {
            env[variable.Name] = variable switch
            {
                { ValueFrom.FieldRef.FieldPath: "status.podIP" } => podIp,
                { ValueFrom.SecretKeyRef: { } secret } => secrets[secret.Key],
                { Value: { } value } => VariableReference().Replace(value, m => env.GetValueOrDefault(m.Groups[1].Value, m.Value)),
                _ => throw new InvalidOperationException($"{workload.Kind}: env {variable.Name} has a source this test does not know"),
            };
        }
        return env;
    }

    private sealed class Pods(FakeKubernetesApi api) : IAsyncDisposable
    {
        private readonly List<PorterProcess> _nodes = new();
        private readonly HashSet<string> _stopping = new();

        public static readonly string? Postgres = Environment.GetEnvironmentVariable("PORTER_TEST_POSTGRES");

        public Dictionary<string, string> Secrets { get; } = new()
        {
            ["POSTGRES_USER"] = "porter",
            ["POSTGRES_PASSWORD"] = "unused",
            ["POSTGRES_DB"] = "porter",
            ["MANAGEMENT_TOKEN"] = ManagementToken,
            ["CLUSTER_SECRET"] = "pods-on-loopback-cluster-secret",
        };

        public IReadOnlyDictionary<string, PorterProcess> ByIp => _nodes.ToDictionary(n => n.Address);

        /// <summary>Lists the pod in the fake API and starts its node process with the manifest's environment.</summary>
        public async Task<PorterProcess> StartAsync(Workload workload, string name, string ip)
        {
            api.AddPod(name, ip, workload.Labels.ToDictionary(), workload.Ports);
            var env = ManifestEnvironment(workload, ip, Secrets);
            // What differs from a cluster: pods here share one host, so each gets its own data dir and binds its pod IP
            // (an address "*" would take the port on every address), and the journal is this machine's PostgreSQL
            // (or SQLite when none runs here) instead of the porter-postgres Service.
            var dataDir = Repo.TempDir(name);
            env["PORTER__DATADIR"] = dataDir;
            foreach (var key in env.Keys.Where(k => k.EndsWith("ADDRESS", StringComparison.Ordinal) && env[k] == "*").ToList()) env[key] = ip;
            if (Postgres is null)
            {
                env["PORTER__PERSISTENCE__PROVIDER"] = "sqlite";
                env.Remove("PORTER__PERSISTENCE__CONNECTIONSTRING");
            }
            else env["PORTER__PERSISTENCE__CONNECTIONSTRING"] = Postgres;
            foreach (var (key, value) in api.PodEnvironment) env[key] = value;

            Assert.Equal(workload.Kind, workload.Container.Args[0]);
            // The manifest's arguments, as the image's entrypoint gets them; the worker image's app is the test app here.
            env["PORTER__APP__ROOT"] = Repo.TestApp;
            var node = await PorterProcess.StartNodeAsync(
                workload.Kind == "worker" ? PorterProcess.NodeKind.Worker : PorterProcess.NodeKind.Gateway, workload.Container.Args.Skip(1),
                waitForApp: false, environment: env, dataDir: dataDir, address: ip, port: workload.Ports["http"],
                managementPort: workload.Ports["management"], settingsFromEnvironmentOnly: true, throughImageEntrypoint: true);
            _nodes.Add(node);
            return node;
        }

        public PorterProcess Gateway => _nodes.First(n => n.Address == "127.0.0.2");

        /// <summary>SIGTERM, as the kubelet sends when a pod is deleted; returns the exit code.</summary>
        public Task<int> StopAsync(string ip)
        {
            _stopping.Add(ip);
            return ByIp[ip].StopAsync();
        }

        public async Task<List<JsonElement>> UpMembersAsync()
        {
            using var response = await Gateway.Management.GetAsync("/cluster/members");
            var members = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("members");
            return members.EnumerateArray().Where(m => m.GetProperty("status").GetString() == "Up").ToList();
        }

        public Task WaitForUpMembersAsync(int count) => Poll.UntilAsync(async () =>
        {
            foreach (var node in _nodes.Where(n => n.HasExited && !_stopping.Contains(n.Address)))
                throw new InvalidOperationException($"node {node.Address} exited:\n{node.Output}");
            return (await UpMembersAsync()).Count == count ? "" : null;
        }, TimeSpan.FromSeconds(120), $"{count} Up members");

        public async ValueTask DisposeAsync()
        {
            foreach (var node in _nodes.AsEnumerable().Reverse()) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task Pods_form_a_cluster_through_bootstrap_serve_through_the_gateway_and_scale_both_ways()
    {
        var gateway = Load("gateway.yaml", "gateway");
        var worker = Load("worker.yaml", "worker");
        await using var api = new FakeKubernetesApi(@namespace: "porter");
        await api.StartAsync();
        await using var pods = new Pods(api);

        // Three pods, started together as a Deployment rollout would: bootstrap finds them through the API.
        await Task.WhenAll(
            pods.StartAsync(gateway, "porter-gateway-0", "127.0.0.2"),
            pods.StartAsync(worker, "porter-worker-0", "127.0.0.3"),
            pods.StartAsync(worker, "porter-worker-1", "127.0.0.4"));
        await pods.WaitForUpMembersAsync(3);
        Assert.Contains(api.Listings, l => l.Namespace == "porter" && l.LabelSelector == "app.kubernetes.io/part-of=porter");
        var roles = (await pods.UpMembersAsync()).Select(m => string.Join(",", m.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))).Order();
        Assert.Equal(["cache,gateway", "worker", "worker"], roles);

        // A request through the gateway reaches the app on a worker.
        var workers = new[] { pods.ByIp["127.0.0.3"], pods.ByIp["127.0.0.4"] };
        var pid = await Poll.UntilAsync(async () =>
        {
            using var response = await pods.Gateway.Client.GetAsync("/pid");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }, TimeSpan.FromSeconds(60), "the gateway to serve the app");
        Assert.Contains(workers, w => w.RecordedAppPids().Contains(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)));

        // Out-of-band work runs, coordinated by the singleton on one of the two workers (its grants go to the journal).
        var runsBefore = await OobRunsAfterAsync(pods, minimum: 2);

        // Scale up: a fourth pod appears in the API and its node joins.
        var added = await pods.StartAsync(worker, "porter-worker-2", "127.0.0.5");
        await pods.WaitForUpMembersAsync(4);

        // Scale down under load, 3 workers to 1: the first two worker pods are deleted (terminating, then gone) and
        // their nodes get SIGTERM. One of them hosted the OOB coordinator, which moves to the remaining worker.
        await using var load = new LoadLoop(pods.Gateway.Client, "/pid", clients: 4);
        await load.WaitForMoreAsync(50);
        foreach (var name in new[] { "porter-worker-0", "porter-worker-1" }) api.MarkTerminating(name);
        var stops = await Task.WhenAll(pods.StopAsync("127.0.0.3"), pods.StopAsync("127.0.0.4"));
        Assert.Equal([0, 0], stops);
        foreach (var name in new[] { "porter-worker-0", "porter-worker-1" }) api.RemovePod(name);
        await pods.WaitForUpMembersAsync(2);
        await load.WaitForMoreAsync(100);
        var outcomes = await load.StopAsync();
        Assert.All(outcomes, o => Assert.True(o.Status == 200, $"{o.Status} {o.Error} {o.Body}"));
        Assert.All(outcomes.TakeLast(50), o => Assert.Contains(int.Parse(o.Body, System.Globalization.CultureInfo.InvariantCulture), added.RecordedAppPids()));

        // The coordinator recovered on the last worker: on the shared PostgreSQL journal it still counts the runs of
        // before the fail-over (SQLite journals are per pod, so without PostgreSQL only "it works again" is checked).
        var runsAfter = await OobRunsAfterAsync(pods, minimum: Pods.Postgres is null ? 1 : runsBefore + 1);
        Assert.True(runsAfter > (Pods.Postgres is null ? 0 : runsBefore));
    }

    /// <summary>Asks for OOB work through the gateway until the coordinator (via the gateway's proxy) counts <paramref name="minimum"/> runs.</summary>
    private static async Task<long> OobRunsAfterAsync(Pods pods, long minimum) => (long)await Poll.UntilAsync<object>(async () =>
    {
        using (await pods.Gateway.Client.GetAsync("/pid?oob=1")) { }
        using var response = await pods.Gateway.Management.GetAsync("/oob");
        if (!response.IsSuccessStatusCode) return null;
        var runs = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("cluster").GetProperty("runs").GetInt64();
        return runs >= minimum ? runs : null;
    }, TimeSpan.FromSeconds(60), $"{minimum} out-of-band runs");
}
