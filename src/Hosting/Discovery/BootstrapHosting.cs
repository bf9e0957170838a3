using Akka.Discovery.Config.Hosting;
using Akka.Hosting;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Dsl;
using Porter.Contracts.Options;

namespace Porter.Hosting.Discovery;

/// <summary>
/// Cluster formation without seed nodes: Akka.Management Cluster Bootstrap over Kubernetes pod discovery (or a static
/// contact-point list). Akka.Management's own HTTP server is never started (it cannot start here, PLATFORM-NOTES):
/// the contact-point route <c>/bootstrap/seed-nodes</c> is served by Kestrel on the management listener.
/// </summary>
public static class BootstrapHosting
{
    /// <summary>True when the options ask for Cluster Bootstrap: a discovery method and no seed nodes.</summary>
    public static bool UsesBootstrap(PorterOptions options) =>
        options.SeedNodes.Count == 0 && options.Discovery.Method is DiscoveryMethods.Config or DiscoveryMethods.KubernetesApi;

    /// <summary>
    /// When <see cref="UsesBootstrap"/>: configures the discovery method and Cluster Bootstrap (not auto-started), and
    /// on start sets this node's contact point (<c>http://HOSTNAME:MANAGEMENT_PORT/</c>) and starts bootstrapping.
    /// Otherwise leaves the builder unchanged. The node must then not join itself: bootstrap decides who forms the cluster.
    /// </summary>
    /// <param name="configure">Adjusts the bootstrap settings (tests shorten the stable margin).</param>
    public static AkkaConfigurationBuilder WithPorterBootstrap(this AkkaConfigurationBuilder akka, PorterOptions options,
        Action<ClusterBootstrapOptions>? configure = null)
    {
        if (!UsesBootstrap(options)) return akka;
        var discovery = options.Discovery;
        if (options.Management.Port <= 0)
            throw new ArgumentException("Cluster Bootstrap needs a fixed management port: other nodes probe it", nameof(options));

        var bootstrap = new ClusterBootstrapOptions
        {
            ContactPointDiscovery =
            {
                ServiceName = discovery.ServiceName,
                RequiredContactPointsNr = discovery.RequiredContactPoints,
                // Pods come and go: a contact point that stopped answering must not block the decision.
                ContactWithAllContactPoints = false,
            },
            ContactPoint = { FallbackPort = options.Management.Port },
        };
        if (discovery.Method == DiscoveryMethods.KubernetesApi)
        {
            bootstrap.ContactPointDiscovery.PortName = discovery.PortName;
            akka.AddHocon(KubernetesHocon(discovery), HoconAddMode.Prepend);
            akka.AddHocon(KubernetesPodDiscovery.DefaultHocon, HoconAddMode.Append);
        }
        else
        {
            akka.WithConfigDiscovery(new ConfigServiceDiscoveryOptions
            {
                Services = [new Akka.Discovery.Config.Hosting.Service { Name = discovery.ServiceName, Endpoints = discovery.ContactPoints.ToArray() }],
            });
            // Config discovery returns every endpoint with its own port; none is filtered out by the fallback port.
            bootstrap.ContactPoint.FilterOnFallbackPort = false;
        }
        configure?.Invoke(bootstrap);

        return akka
            .WithClusterBootstrap(bootstrap, autoStart: false)
            .AddStartup(async (system, _) =>
            {
                var self = SelfContactPoint(options);
                // Routes(...) only records the self contact point; the routes it returns are served by Kestrel instead.
                ClusterBootstrap.Get(system).Routes(ManagementRouteProviderSettings.Create(self, readOnly: true));
                await ClusterBootstrap.Get(system).Start();
            });
    }

    /// <summary>This node's contact point as other nodes discover it: its management API on its own address.</summary>
    public static Uri SelfContactPoint(PorterOptions options) =>
        new($"http://{(options.Hostname == "localhost" ? "127.0.0.1" : options.Hostname)}:{options.Management.Port}/");

    /// <summary>The discovery method and the keys of <see cref="KubernetesPodDiscovery"/> that Porter's options set.</summary>
    private static string KubernetesHocon(DiscoveryOptions discovery)
    {
        var lines = new List<string>
        {
            $"akka.discovery.method = {KubernetesPodDiscovery.MethodName}",
            $"akka.discovery.{KubernetesPodDiscovery.MethodName}.pod-label-selector = {Quote(discovery.PodLabelSelector)}",
            $"akka.discovery.{KubernetesPodDiscovery.MethodName}.pod-namespace-path = {Quote(discovery.PodNamespacePath)}",
            $"akka.discovery.{KubernetesPodDiscovery.MethodName}.api-token-path = {Quote(discovery.ApiTokenPath)}",
            $"akka.discovery.{KubernetesPodDiscovery.MethodName}.api-ca-path = {Quote(discovery.ApiCaPath)}",
        };
        if (!string.IsNullOrWhiteSpace(discovery.PodNamespace))
            lines.Add($"akka.discovery.{KubernetesPodDiscovery.MethodName}.pod-namespace = {Quote(discovery.PodNamespace)}");
        return string.Join('\n', lines);
    }

    /// <summary>A HOCON quoted string.</summary>
    private static string Quote(string value) => $"\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
}
