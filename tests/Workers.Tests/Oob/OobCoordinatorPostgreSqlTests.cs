using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Hosting.Persistence;
using Porter.Workers.Oob;

namespace Porter.Workers.Tests.Oob;

/// <summary>
/// The coordinator on the Kubernetes journal: Akka.Persistence.Sql on a real PostgreSQL server (started by .ci/run,
/// reached through PORTER_TEST_POSTGRES). Without that variable the tests skip and say why; with it set, a server that
/// cannot be reached fails them. Each test writes under its own persistence id, so runs never see each other's events.
/// </summary>
public sealed class OobCoordinatorPostgreSqlTests
{
    /// <summary>The variable holding the test server's connection string.</summary>
    public const string ConnectionStringVariable = "PORTER_TEST_POSTGRES";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _persistenceId = $"oob-coordinator-test-{Guid.NewGuid():N}";

    private static string ConnectionString()
    {
        var value = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        Skip.If(string.IsNullOrWhiteSpace(value),
            $"{ConnectionStringVariable} is not set: no PostgreSQL server to test against (.ci/run starts one and sets it)");
        return value!;
    }

    private static PorterOptions Node(string connectionString) =>
        new() { Persistence = { Provider = PersistenceProvider.PostgreSql, ConnectionString = connectionString } };

    [SkippableFact]
    public Task A_restarted_coordinator_recovers_the_outstanding_grant_from_postgresql_and_grants_no_second_token()
    {
        var connectionString = ConnectionString();
        return new OobJournalRecovery(Node(connectionString), _persistenceId, sql => ReadRows(connectionString, sql))
            .A_restarted_coordinator_recovers_the_outstanding_grant_and_grants_no_second_token();
    }

    [SkippableFact]
    public async Task The_singleton_moves_to_the_remaining_node_with_its_grant_and_still_refuses_a_second_token()
    {
        var node = Node(ConnectionString());
        using var first = BuildHost(node, _ => null);
        await first.StartAsync();
        var firstSystem = first.Services.GetRequiredService<ActorSystem>();
        var firstAddress = Cluster.Get(firstSystem).SelfAddress;
        using var second = BuildHost(node, _ => firstAddress);
        await second.StartAsync();
        try
        {
            var secondSystem = second.Services.GetRequiredService<ActorSystem>();
            await Eventually(() => Cluster.Get(firstSystem).State.Members.Count(m => m.Status == MemberStatus.Up) == 2, "both nodes Up");
            // The holder runs on the node that stays, so the coordinator has no reason to reclaim its token.
            var secondNode = Cluster.Get(secondSystem).SelfAddress.ToString();
            var proxy = await second.Services.GetRequiredService<IRequiredActor<OobCoordinator>>().GetAsync();
            var inbox = Inbox.Create(secondSystem);
            var held = new OobProtocol.RequestToken(OobOptions.ClusterScopeKey, new AppName("blog"), secondNode, new ProcessId(10), inbox.Receiver);
            var grant = Assert.IsType<OobProtocol.TokenGranted>(await SingletonRequests.RequestUntilAnswered(proxy, held, inbox, Patience));

            // The oldest node (the first, hosting the singleton) leaves; the singleton starts on the second and recovers.
            await first.StopAsync();
            await Eventually(() => Cluster.Get(secondSystem).State.Members.All(m => m.Address.Equals(Cluster.Get(secondSystem).SelfAddress)),
                "the first node removed");

            var other = held with { App = new AppName("shop"), Pid = new ProcessId(20) };
            Assert.Equal(1, Assert.IsType<OobProtocol.TokenQueued>(await SingletonRequests.RequestUntilAnswered(proxy, other, inbox, Patience)).Position);
            Assert.Equal(grant, await SingletonRequests.RequestUntilAnswered(proxy, held, inbox, Patience));
            var state = await proxy.Ask<OobProtocol.OobState>(OobProtocol.GetOobState.Instance, Patience);
            var holder = Assert.Single(Assert.Single(state.Scopes).Holders);
            Assert.Equal((grant.TokenId, 10, secondNode), (holder.TokenId, holder.Pid.Value, holder.Node));
            Assert.Equal(0, state.Cluster.Reclaims);
        }
        finally
        {
            await second.StopAsync();
            await first.StopAsync();
        }
    }

    private IHost BuildHost(PorterOptions node, Func<ActorSystem, Address?> seed) =>
        new HostBuilder()
            .ConfigureServices(services => services
                .AddAkka("porter-oob-failover", (akka, _) => akka
                    .WithRemoting("127.0.0.1", 0)
                    .WithClustering(new ClusterOptions { Roles = [OobCoordinatorHostingExtensions.Role] })
                    .WithPorterPersistence(node)
                    .AddStartup((system, _) =>
                    {
                        var cluster = Cluster.Get(system);
                        cluster.Join(seed(system) ?? cluster.SelfAddress);
                    })
                    .WithOobSerializer()
                    // As WithOobCoordinator registers it, but under this test's own persistence id.
                    .WithSingleton<OobCoordinator>(OobCoordinatorHostingExtensions.SingletonName,
                        (_, _, _) => OobCoordinator.Props(new OobOptions(), TimeProvider.System, NullLogger.Instance, _persistenceId),
                        new ClusterSingletonOptions { Role = OobCoordinatorHostingExtensions.Role }, createProxyToo: true)))
            .Build();

    /// <summary>Sends the request until the coordinator answers, as a worker does while the singleton starts or moves.</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not in time: {what}");
            await Task.Delay(50);
        }
    }

    private static List<string[]> ReadRows(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
            rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!).ToArray());
        return rows;
    }
}
