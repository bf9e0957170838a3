using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Contracts.Serialization;
using Porter.Workers.Oob;

namespace Porter.Workers.Tests.Oob;

/// <summary>
/// The coordinator as the hosting extension runs it, in a real two-node cluster on loopback: requests travel through
/// singleton proxies (and so through the serializer), and downing a node reclaims its token for a waiter elsewhere.
/// </summary>
/// <remarks>Plain generic hosts rather than Akka.Hosting.TestKit, whose 1.5.73 package brings xunit v3 next to this project's xunit 2.</remarks>
public sealed class OobCoordinatorClusterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static IHost BuildHost(Func<ActorSystem, Address?> seed) =>
        new HostBuilder()
            .ConfigureServices(services => services
                .AddAkka("porter-oob-test", (akka, _) => akka
                    .WithRemoting("127.0.0.1", 0)
                    .WithClustering(new ClusterOptions { Roles = ["worker"] })
                    .AddStartup((system, _) =>
                    {
                        var cluster = Cluster.Get(system);
                        cluster.Join(seed(system) ?? cluster.SelfAddress);
                    })
                    .WithOobCoordinator(hostsCoordinator: true, new OobOptions())))
            .Build();

    [Fact]
    public async Task Downing_a_node_reclaims_its_token_for_the_next_waiter()
    {
        using var first = BuildHost(_ => null);
        await first.StartAsync();
        var firstSystem = first.Services.GetRequiredService<ActorSystem>();
        var firstAddress = Cluster.Get(firstSystem).SelfAddress;
        using var second = BuildHost(_ => firstAddress);
        await second.StartAsync();
        try
        {
            var secondSystem = second.Services.GetRequiredService<ActorSystem>();
            await Eventually(() => Cluster.Get(firstSystem).State.Members.Count(m => m.Status == MemberStatus.Up) == 2);
            var secondNode = Cluster.Get(secondSystem).SelfAddress.ToString();
            var firstNode = firstAddress.ToString();
            Assert.IsType<OobProtocolSerializer>(firstSystem.Serialization.FindSerializerForType(typeof(OobProtocol.RequestToken)));
            Assert.IsType<OobProtocolSerializer>(firstSystem.Serialization.FindSerializerForType(typeof(OobEvents.Granted)));

            // The singleton lives on the oldest node (the first); the second reaches it through its proxy.
            var secondProxy = await second.Services.GetRequiredService<IRequiredActor<OobCoordinator>>().GetAsync();
            var holderInbox = Inbox.Create(secondSystem);
            var held = new OobProtocol.RequestToken(OobOptions.ClusterScopeKey, new AppName("blog"), secondNode, new ProcessId(10), holderInbox.Receiver);
            var grant = Assert.IsType<OobProtocol.TokenGranted>(await SingletonRequests.RequestUntilAnswered(secondProxy, held, holderInbox, Patience));

            var firstProxy = await first.Services.GetRequiredService<IRequiredActor<OobCoordinator>>().GetAsync();
            var waiterInbox = Inbox.Create(firstSystem);
            var waiting = new OobProtocol.RequestToken(OobOptions.ClusterScopeKey, new AppName("shop"), firstNode, new ProcessId(20), waiterInbox.Receiver);
            Assert.Equal(1, Assert.IsType<OobProtocol.TokenQueued>(await SingletonRequests.RequestUntilAnswered(firstProxy, waiting, waiterInbox, Patience)).Position);

            Cluster.Get(firstSystem).Down(Cluster.Get(secondSystem).SelfAddress);

            var next = Assert.IsType<OobProtocol.TokenGranted>(waiterInbox.Receive(Patience));
            Assert.Equal((new ProcessId(20), grant.TokenId + 1), (next.Pid, next.TokenId));
            var state = await firstProxy.Ask<OobProtocol.OobState>(OobProtocol.GetOobState.Instance, Patience);
            Assert.Equal([20], state.Scopes.Single().Holders.Select(h => h.Pid.Value));
            Assert.Equal(1, state.Cluster.Reclaims);
        }
        finally
        {
            await second.StopAsync();
            await first.StopAsync();
        }
    }

    /// <summary>Sends the request until the coordinator answers, as a worker does while the singleton starts or moves.</summary>
    /// <summary>Polls until the condition holds; fails after <see cref="Patience"/>.</summary>
    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
