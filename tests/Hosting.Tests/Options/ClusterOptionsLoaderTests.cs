using Porter.Contracts.Options;
using Porter.Hosting.Cli;
using Porter.Hosting.Discovery;
using Porter.Hosting.Options;

namespace Porter.Hosting.Tests.Options;

/// <summary>Loading and checking the discovery and persistence options, from a config file and from flags.</summary>
public sealed class ClusterOptionsLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-options-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private PorterOptions Load(string json, params string[] flags)
    {
        var file = Path.Combine(_dir, "porter.json");
        File.WriteAllText(file, json);
        return PorterOptionsLoader.Load(NodeCommandLine.Parse(["--config", file, .. flags], "worker"), checkApp: null);
    }

    [Fact]
    public void Binds_kubernetes_discovery_and_postgresql_persistence()
    {
        var options = Load("""
            {
              "Discovery": { "Method": "kubernetes-api", "ServiceName": "porter", "PodLabelSelector": "app.kubernetes.io/part-of={0}", "RequiredContactPoints": 3 },
              "Persistence": { "Provider": "postgresql", "ConnectionString": "Host=db;Database=porter;Username=porter;Password=x" }
            }
            """);

        Assert.Equal(DiscoveryMethods.KubernetesApi, options.Discovery.Method);
        Assert.Equal(3, options.Discovery.RequiredContactPoints);
        Assert.Equal(PersistenceProvider.PostgreSql, options.Persistence.Provider);
        Assert.True(BootstrapHosting.UsesBootstrap(options));
        Assert.Equal(new Uri("http://127.0.0.1:8558/"), BootstrapHosting.SelfContactPoint(options));
    }

    [Fact]
    public void Seed_nodes_win_over_discovery()
    {
        var options = Load("""{ "Discovery": { "Method": "kubernetes-api" } }""", "--seed-nodes", "akka.tcp://porter@127.0.0.1:4053");
        Assert.False(BootstrapHosting.UsesBootstrap(options));
    }

    [Fact]
    public void Config_discovery_comes_from_flags()
    {
        var options = Load("{}", "--discovery", "config", "--contact-points", "127.0.0.2:8558,127.0.0.3:8558");
        Assert.Equal(DiscoveryMethods.Config, options.Discovery.Method);
        Assert.Equal(["127.0.0.2:8558", "127.0.0.3:8558"], options.Discovery.ContactPoints);
    }

    [Theory]
    [InlineData("""{ "Persistence": { "Provider": "postgresql" } }""", "Persistence:Provider postgresql needs Persistence:ConnectionString")]
    [InlineData("""{ "Persistence": { "Provider": "mysql" } }""", "expected one of: sqlite, postgresql")]
    [InlineData("""{ "Persistence": { "ConnectionString": "Password" } }""", "is not a key=value;... connection string")]
    [InlineData("""{ "Discovery": { "Method": "kubernetes" } }""", "Discovery:Method 'kubernetes' is not one of: none, config, kubernetes-api")]
    [InlineData("""{ "Discovery": { "Method": "config" } }""", "Discovery:Method config needs Discovery:ContactPoints")]
    [InlineData("""{ "Discovery": { "Method": "config", "ContactPoints": ["127.0.0.2"] } }""", "Discovery:ContactPoints entry '127.0.0.2' is not host:port")]
    [InlineData("""{ "Discovery": { "Method": "kubernetes-api", "RequiredContactPoints": 0 } }""", "Discovery:RequiredContactPoints must be at least 1")]
    [InlineData("""{ "Discovery": { "Method": "kubernetes-api" }, "Management": { "Port": 0 } }""", "needs a fixed --management-port")]
    public void Refuses_bad_cluster_options_in_one_line(string json, string expected)
    {
        var error = Assert.Throws<UsageException>(() => Load(json));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
