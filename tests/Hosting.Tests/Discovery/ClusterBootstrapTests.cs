using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Hosting.Discovery;
using Porter.Hosting.Management;

namespace Porter.Hosting.Tests.Discovery;

/// <summary>
/// Three "pods" in one process, each an actor system on its own loopback address (127.0.0.2-4) with its management
/// listener (a Kestrel serving <c>/bootstrap/seed-nodes</c>), find each other through the fake Kubernetes API and form
/// one cluster by Cluster Bootstrap, none of them given a seed node. The same with a static contact-point list.
/// </summary>
public sealed class ClusterBootstrapTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly FakeKubernetesApi _api = new();
    private readonly string _hostVariable = $"PORTER_TEST_K8S_HOST_{Guid.NewGuid():N}";
    private readonly string _portVariable = $"PORTER_TEST_K8S_PORT_{Guid.NewGuid():N}";
    private readonly List<WebApplication> _nodes = new();

    public async Task InitializeAsync()
    {
        await _api.StartAsync();
        Environment.SetEnvironmentVariable(_hostVariable, _api.Host);
        Environment.SetEnvironmentVariable(_portVariable, _api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes) await node.StopAsync();
        foreach (var node in _nodes) await node.DisposeAsync();
        Environment.SetEnvironmentVariable(_hostVariable, null);
        Environment.SetEnvironmentVariable(_portVariable, null);
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Three_pods_found_through_the_kubernetes_api_form_one_cluster_without_seed_nodes()
    {
        var labels = new Dictionary<string, string> { ["app"] = "porter" };
        var pods = new[] { "127.0.0.2", "127.0.0.3", "127.0.0.4" }
            .Select(ip => (Ip: ip, Management: FreePort(ip)))
            .ToArray();
        foreach (var (ip, management) in pods)
            _api.AddPod($"porter-{ip.Replace('.', '-')}", ip, labels, new Dictionary<string, int> { ["management"] = management });
        _api.AddPod("porter-pending", "127.0.0.5", labels, new Dictionary<string, int> { ["management"] = 8558 }, phase: "Pending");

        foreach (var (ip, management) in pods) _nodes.Add(await StartNode(ip, management));

        var systems = _nodes.Select(n => n.Services.GetRequiredService<ActorSystem>()).ToArray();
        await Eventually(() => systems.All(s => Cluster.Get(s).State.Members.Count(m => m.Status == MemberStatus.Up) == 3));

        // One cluster: every node sees the same three members, on the pods' addresses.
        var expected = pods.Select(p => p.Ip).Order(StringComparer.Ordinal).ToArray();
        foreach (var system in systems)
            Assert.Equal(expected, Cluster.Get(system).State.Members.Select(m => m.Address.Host!).Order(StringComparer.Ordinal));
        // Discovery went through the API with the service account's namespace and the selector.
        Assert.Contains(("porter", "app=porter"), _api.Listings);
        Assert.Empty(_api.RefusedAuthorizations);

        // Each node's contact point answers in Cluster Bootstrap's own format.
        using var http = new HttpClient();
        var body = await http.GetStringAsync($"http://{pods[0].Ip}:{pods[0].Management}/bootstrap/seed-nodes");
        var seeds = Newtonsoft.Json.JsonConvert.DeserializeObject<Akka.Management.Cluster.Bootstrap.ContactPoint.HttpBootstrapJsonProtocol.SeedNodes>(body)!;
        Assert.Equal(Cluster.Get(systems[0]).SelfAddress, seeds.SelfNode);
        Assert.Equal(3, seeds.Nodes.Count);
    }

    [Fact]
    public async Task Two_nodes_given_a_static_contact_point_list_form_one_cluster()
    {
        var pods = new[] { "127.0.0.6", "127.0.0.7" }.Select(ip => (Ip: ip, Management: FreePort(ip))).ToArray();
        var contactPoints = pods.Select(p => $"{p.Ip}:{p.Management}").ToList();
        foreach (var (ip, management) in pods)
            _nodes.Add(await StartNode(ip, management, new DiscoveryOptions
            {
                Method = DiscoveryMethods.Config,
                ServiceName = "porter",
                RequiredContactPoints = 2,
                ContactPoints = contactPoints,
            }));

        var systems = _nodes.Select(n => n.Services.GetRequiredService<ActorSystem>()).ToArray();
        await Eventually(() => systems.All(s => Cluster.Get(s).State.Members.Count(m => m.Status == MemberStatus.Up) == 2));
        Assert.Equal(["127.0.0.6", "127.0.0.7"], Cluster.Get(systems[1]).State.Members.Select(m => m.Address.Host!).Order(StringComparer.Ordinal));
        Assert.Empty(_api.Requests);
    }

    private Task<WebApplication> StartNode(string ip, int managementPort) =>
        StartNode(ip, managementPort, new DiscoveryOptions
        {
            Method = DiscoveryMethods.KubernetesApi,
            ServiceName = "porter",
            RequiredContactPoints = 3,
            ApiTokenPath = _api.TokenPath,
            ApiCaPath = _api.CaPath,
            PodNamespacePath = _api.NamespacePath,
        });

    private async Task<WebApplication> StartNode(string ip, int managementPort, DiscoveryOptions discovery)
    {
        var options = new PorterOptions
        {
            Hostname = ip,
            Management = { Port = managementPort },
            Discovery = discovery,
        };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(ip), managementPort));
        builder.Services.AddRouting();
        builder.Services.AddAkka(NodeHost.ActorSystemName, (akka, _) => akka
            .WithRemoting(ip, 0)
            .WithClustering(new ClusterOptions { Roles = ["worker"] })
            .WithPorterBootstrap(options, bootstrap =>
            {
                // Shorter than production's 5 s: the three pods are all there from the start.
                bootstrap.ContactPointDiscovery.StableMargin = TimeSpan.FromSeconds(1);
                bootstrap.ContactPointDiscovery.Interval = TimeSpan.FromMilliseconds(300);
                bootstrap.ContactPoint.ProbeInterval = TimeSpan.FromMilliseconds(300);
            })
            // In a pod these are KUBERNETES_SERVICE_HOST/PORT; here each test class has its own pair.
            .AddHocon($$"""
                akka.discovery.kubernetes-api.api-service-host-env-name = "{{_hostVariable}}"
                akka.discovery.kubernetes-api.api-service-port-env-name = "{{_portVariable}}"
                """, HoconAddMode.Prepend));
        var app = builder.Build();
        app.MapClusterMembersApi();
        await app.StartAsync();
        return app;
    }

    /// <summary>A port free on that loopback address right now (each pod has its own address, so clashes are unlikely).</summary>
    private static int FreePort(string ip)
    {
        using var probe = new TcpListener(IPAddress.Parse(ip), 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the pods did not form one cluster in time");
            await Task.Delay(100);
        }
    }
}
