using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;
using Porter.Hosting.Discovery;

namespace Porter.Hosting.Tests.Discovery;

/// <summary>
/// <see cref="KubernetesPodDiscovery"/> against <see cref="FakeKubernetesApi"/> over real HTTPS: the request it sends
/// (path, namespace, selector, token), which pods it returns and how failures surface.
/// </summary>
public sealed class KubernetesPodDiscoveryTests : IAsyncLifetime
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(10);
    private static readonly Dictionary<string, string> Worker = new() { ["app"] = "porter-worker", ["app.kubernetes.io/part-of"] = "porter" };
    private static readonly Dictionary<string, int> Ports = new() { ["management"] = 8558, ["remoting"] = 4053 };

    private readonly FakeKubernetesApi _api = new();
    // Each test class names its own variables: tests of other classes run in parallel in this process.
    private readonly string _hostVariable = $"PORTER_TEST_K8S_HOST_{Guid.NewGuid():N}";
    private readonly string _portVariable = $"PORTER_TEST_K8S_PORT_{Guid.NewGuid():N}";
    private readonly ActorSystem _system = ActorSystem.Create("discovery-test", "akka.loglevel = OFF");

    public async Task InitializeAsync()
    {
        await _api.StartAsync();
        Environment.SetEnvironmentVariable(_hostVariable, _api.Host);
        Environment.SetEnvironmentVariable(_portVariable, _api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_hostVariable, null);
        Environment.SetEnvironmentVariable(_portVariable, null);
        await _system.Terminate();
        await _api.DisposeAsync();
    }

    private KubernetesPodDiscovery Discovery(string extra = "", string? tokenPath = null, string? caPath = null) =>
        new((ExtendedActorSystem)_system, ConfigurationFactory.ParseString($$"""
            api-service-host-env-name = "{{_hostVariable}}"
            api-service-port-env-name = "{{_portVariable}}"
            api-token-path = "{{tokenPath ?? _api.TokenPath}}"
            api-ca-path = "{{caPath ?? _api.CaPath}}"
            pod-namespace-path = "{{_api.NamespacePath}}"
            {{extra}}
            """));

    [Fact]
    public async Task Returns_the_running_pods_ips_with_their_management_port_and_skips_the_others()
    {
        _api.AddPod("worker-a", "127.0.0.2", Worker, Ports);
        _api.AddPod("worker-b", "127.0.0.3", Worker, Ports);
        _api.AddPod("worker-c", "127.0.0.4", Worker, Ports);
        _api.AddPod("worker-pending", "127.0.0.5", Worker, Ports, phase: "Pending");
        _api.AddPod("worker-failed", "127.0.0.6", Worker, Ports, phase: "Failed");
        _api.AddPod("worker-terminating", "127.0.0.7", Worker, Ports);
        _api.MarkTerminating("worker-terminating");
        _api.AddPod("worker-no-management", "127.0.0.8", Worker, new Dictionary<string, int> { ["remoting"] = 4053 });
        _api.AddPod("gateway-a", "127.0.0.9", new Dictionary<string, string> { ["app"] = "porter-gateway" }, Ports);
        using var discovery = Discovery();

        var resolved = await discovery.Lookup(new Lookup("porter-worker", portName: "management"), ResolveTimeout);

        Assert.Empty(_api.RefusedAuthorizations);
        Assert.Equal(
            [("127.0.0.2", 8558), ("127.0.0.3", 8558), ("127.0.0.4", 8558)],
            resolved.Addresses.Select(a => (a.Host, a.Port ?? 0)).OrderBy(a => a.Host, StringComparer.Ordinal));
        Assert.All(resolved.Addresses, a => Assert.Equal(a.Host, a.Address?.ToString()));
        // Namespace from the service account's file, selector from the default "app={0}".
        Assert.StartsWith("/api/v1/namespaces/porter/pods?labelSelector=app%3Dporter-worker", Assert.Single(_api.Requests));
        Assert.Equal(("porter", "app=porter-worker"), Assert.Single(_api.Listings));
    }

    [Fact]
    public async Task Uses_the_configured_label_selector_and_namespace_over_the_service_account_file()
    {
        _api.AddPod("worker-a", "127.0.0.2", Worker, Ports);
        using var discovery = Discovery("""
            pod-label-selector = "app.kubernetes.io/part-of=porter,app={0}"
            pod-namespace = "porter"
            """);

        var resolved = await discovery.Lookup(new Lookup("porter-worker", portName: "remoting"), ResolveTimeout);

        Assert.Equal(("127.0.0.2", 4053), (resolved.Addresses.Single().Host, resolved.Addresses.Single().Port ?? 0));
        Assert.Equal(("porter", "app.kubernetes.io/part-of=porter,app=porter-worker"), Assert.Single(_api.Listings));
    }

    [Fact]
    public async Task Without_use_raw_ip_returns_the_pod_dns_name()
    {
        _api.AddPod("worker-a", "127.0.0.2", Worker, Ports);
        using var discovery = Discovery("use-raw-ip = false");

        var target = (await discovery.Lookup(new Lookup("porter-worker", portName: "management"), ResolveTimeout)).Addresses.Single();

        Assert.Equal("127-0-0-2.porter.pod.cluster.local", target.Host);
    }

    [Fact]
    public async Task A_refused_token_surfaces_as_an_error_naming_the_token()
    {
        var wrongToken = Path.Combine(Path.GetDirectoryName(_api.TokenPath)!, "wrong-token");
        await File.WriteAllTextAsync(wrongToken, "not-the-token");
        using var discovery = Discovery(tokenPath: wrongToken);

        var error = await Assert.ThrowsAsync<KubernetesDiscoveryException>(() =>
            discovery.Lookup(new Lookup("porter-worker", portName: "management"), ResolveTimeout));

        Assert.Contains("401", error.Message);
        Assert.Contains("token was refused", error.Message);
    }

    [Fact]
    public async Task Another_namespace_is_forbidden_and_the_error_points_at_the_role()
    {
        using var discovery = Discovery("pod-namespace = \"kube-system\"");

        var error = await Assert.ThrowsAsync<KubernetesDiscoveryException>(() =>
            discovery.Lookup(new Lookup("porter-worker", portName: "management"), ResolveTimeout));

        Assert.Contains("403", error.Message);
        Assert.Contains("Role", error.Message);
        Assert.Equal(("kube-system", "app=porter-worker"), Assert.Single(_api.Listings));
    }

    [Fact]
    public async Task A_server_certificate_outside_the_ca_file_is_not_trusted()
    {
        // Without the CA file the system trust store decides, and it has never seen the test's self-signed certificate.
        using var discovery = Discovery(caPath: Path.Combine(Path.GetDirectoryName(_api.CaPath)!, "missing-ca.crt"));

        var error = await Assert.ThrowsAsync<KubernetesDiscoveryException>(() =>
            discovery.Lookup(new Lookup("porter-worker", portName: "management"), ResolveTimeout));

        Assert.Contains("cannot reach the Kubernetes API", error.Message);
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task Without_the_api_address_variables_a_lookup_fails_naming_them()
    {
        using var discovery = new KubernetesPodDiscovery((ExtendedActorSystem)_system, ConfigurationFactory.ParseString("""
            api-service-host-env-name = "PORTER_TEST_UNSET_HOST"
            api-service-port-env-name = "PORTER_TEST_UNSET_PORT"
            """));

        var error = await Assert.ThrowsAsync<KubernetesDiscoveryException>(() =>
            discovery.Lookup(new Lookup("porter-worker", portName: "management"), ResolveTimeout));

        Assert.Contains("PORTER_TEST_UNSET_HOST and PORTER_TEST_UNSET_PORT must be set", error.Message);
        Assert.Null(discovery.ApiServer);
    }

    [Fact]
    public async Task Pods_added_and_removed_at_run_time_show_in_the_next_lookup()
    {
        _api.AddPod("worker-a", "127.0.0.2", Worker, Ports);
        using var discovery = Discovery();
        var lookup = new Lookup("porter-worker", portName: "management");
        Assert.Single((await discovery.Lookup(lookup, ResolveTimeout)).Addresses);

        _api.AddPod("worker-b", "127.0.0.3", Worker, Ports);
        Assert.Equal(2, (await discovery.Lookup(lookup, ResolveTimeout)).Addresses.Count);

        _api.RemovePod("worker-a");
        Assert.Equal("127.0.0.3", (await discovery.Lookup(lookup, ResolveTimeout)).Addresses.Single().Host);
    }
}
