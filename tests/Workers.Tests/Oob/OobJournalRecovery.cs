using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Contracts.Serialization;
using Porter.Hosting.Persistence;
using Porter.Workers.Oob;

namespace Porter.Workers.Tests.Oob;

/// <summary>
/// The coordinator's journal recovery, run on each production journal (SQLite, PostgreSQL): events and snapshots written
/// by <see cref="OobProtocolSerializer"/> through <see cref="PersistenceHosting.WithPorterPersistence"/>, and a whole new
/// actor system reading them back.
/// </summary>
internal sealed class OobJournalRecovery(PorterOptions node, string persistenceId, Func<string, List<string[]>> readRows)
{
    private const string Node = "akka.tcp://porter@127.0.0.1:4001";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private static readonly AppName Blog = new("blog");

    // A snapshot after every second event, so recovery reads a snapshot and the events after it (and old ones are deleted).
    private static readonly OobOptions Options = new() { SnapshotEvery = 2 };

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private IHost BuildHost() =>
        new HostBuilder()
            .ConfigureServices(services => services.AddAkka("porter-oob-journal", (akka, _) => akka
                .WithPorterPersistence(node)
                .WithOobSerializer()))
            .Build();

    private IActorRef StartCoordinator(IHost host) =>
        host.Services.GetRequiredService<ActorSystem>().ActorOf(OobCoordinator.Props(Options, _clock, NullLogger.Instance, persistenceId));

    private static OobProtocol.RequestToken Request(int pid) => new(OobOptions.ClusterScopeKey, Blog, Node, new ProcessId(pid));

    private async Task<bool> SnapshotRowWrittenAsync()
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (readRows($"SELECT serializer_id FROM snapshot WHERE persistence_id = '{persistenceId}'").Any(row => row[0] == "202"))
                return true;
            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>Grants, releases and queues; restarts; checks the recovered grant, the counters and that no second token is granted.</summary>
    public async Task A_restarted_coordinator_recovers_the_outstanding_grant_and_grants_no_second_token()
    {
        OobProtocol.TokenGranted outstanding;
        using (var host = BuildHost())
        {
            await host.StartAsync();
            var coordinator = StartCoordinator(host);
            var done = await coordinator.Ask<OobProtocol.TokenGranted>(Request(1), Patience);
            Assert.True((await coordinator.Ask<OobProtocol.TokenReleased>(new OobProtocol.ReleaseToken(done.TokenId, Blog, Node, done.Pid), Patience)).WasHeld);
            outstanding = await coordinator.Ask<OobProtocol.TokenGranted>(Request(2), Patience);
            Assert.Equal(1, (await coordinator.Ask<OobProtocol.TokenQueued>(Request(3), Patience)).Position);
            // Snapshots are saved asynchronously after the event that triggers them: wait for the row before stopping.
            Assert.True(await SnapshotRowWrittenAsync(), "no snapshot row within " + Patience);
            await host.StopAsync();
        }

        var journal = readRows($"SELECT identifier, manifest FROM journal WHERE NOT deleted AND persistence_id = '{persistenceId}'");
        Assert.NotEmpty(journal);
        Assert.All(journal, row => Assert.Equal("202", row[0]));

        using (var host = BuildHost())
        {
            await host.StartAsync();
            var coordinator = StartCoordinator(host);

            var state = await coordinator.Ask<OobProtocol.OobState>(OobProtocol.GetOobState.Instance, Patience);
            var holder = Assert.Single(Assert.Single(state.Scopes).Holders);
            Assert.Equal((outstanding.TokenId, 2), (holder.TokenId, holder.Pid.Value));
            Assert.Equal((2L, 1L), (state.Cluster.Grants, state.Cluster.Runs));

            Assert.Equal(1, (await coordinator.Ask<OobProtocol.TokenQueued>(Request(3), Patience)).Position);
            Assert.Equal(outstanding, await coordinator.Ask<OobProtocol.TokenGranted>(Request(2), Patience));

            var inbox = Inbox.Create(host.Services.GetRequiredService<ActorSystem>());
            coordinator.Tell(Request(3) with { ReplyTo = inbox.Receiver });
            Assert.IsType<OobProtocol.TokenQueued>(inbox.Receive(Patience));
            Assert.True((await coordinator.Ask<OobProtocol.TokenReleased>(
                new OobProtocol.ReleaseToken(outstanding.TokenId, Blog, Node, outstanding.Pid), Patience)).WasHeld);
            var next = Assert.IsType<OobProtocol.TokenGranted>(inbox.Receive(Patience));
            Assert.Equal((outstanding.TokenId + 1, 3), (next.TokenId, next.Pid.Value));
            await host.StopAsync();
        }
    }
}
