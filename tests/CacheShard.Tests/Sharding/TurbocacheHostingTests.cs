using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.PublishSubscribe.Internal;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using Porter.Contracts.Serialization;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Sharding;

/// <summary>
/// The composition a cache node uses, in a real one-node cluster: sharded entities behind <c>IRequiredActor&lt;CacheEntity&gt;</c>,
/// the serializer binding, and invalidations reaching the near cache through DistributedPubSub.
/// </summary>
/// <remarks>A plain generic host rather than Akka.Hosting.TestKit, whose 1.5.73 package brings xunit v3 next to this project's xunit 2.</remarks>
public sealed class TurbocacheHostingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static IHost BuildHost() =>
        new HostBuilder()
            .ConfigureServices(services => services
                .AddTurbocache(new TurbocacheOptions())
                .AddAkka("porter-turbocache-test", (akka, provider) => akka
                    .WithRemoting("127.0.0.1", 0)
                    .WithClustering(new ClusterOptions { Roles = ["cache", "gateway"] })
                    .AddStartup((system, _) =>
                    {
                        var cluster = Cluster.Get(system);
                        cluster.Join(cluster.SelfAddress);
                    })
                    .WithTurbocache(hostsEntities: true, provider.GetRequiredService<TurbocacheOptions>())))
            .Build();

    [Fact]
    public async Task Sharded_entities_answer_lookups_and_their_invalidations_reach_the_near_cache()
    {
        using var host = BuildHost();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var region = await host.Services.GetRequiredService<IRequiredActor<CacheEntity>>().GetAsync();
            var key = CacheKey.Create("blog", "http", "example.com", "/hosted", null);
            var now = DateTimeOffset.UtcNow;
            var entry = Store(["Cache-Control: max-age=600"], body: "sharded", responseTime: now);

            var fill = await region.Ask<CacheProtocol.LookupResult>(new CacheProtocol.Lookup(key, [], false), Patience);
            Assert.Equal(LookupOutcome.Fill, fill.Outcome);
            region.Tell(new CacheProtocol.Store(key, CacheEntryMapping.ToData(entry)));
            var hit = await region.Ask<CacheProtocol.LookupResult>(new CacheProtocol.Lookup(key, [], false), Patience);
            Assert.Equal(LookupOutcome.Hit, hit.Outcome);
            Assert.Equal("sharded"u8.ToArray(), hit.Entry!.Body);
            Assert.IsType<CacheProtocolSerializer>(system.Serialization.FindSerializerForType(typeof(CacheProtocol.Lookup)));

            var near = host.Services.GetRequiredService<NearResponseCache>();
            near.Set(key, CacheEntryMapping.ToEntry(hit.Entry), now);
            Assert.True(near.TryGet(key, Headers(), now, out _));
            var mediator = DistributedPubSub.Get(system).Mediator;
            var listener = Inbox.Create(system);
            mediator.Tell(new Subscribe(CacheTopics.Invalidations, listener.Receiver), listener.Receiver);
            Assert.IsType<SubscribeAck>(listener.Receive(Patience));
            // The node's own subscriber registers on start; wait until it and the listener are both known
            // (CountSubscribers is the mediator's internal query, fine for a test to lean on).
            await Eventually(async () => await mediator.Ask<int>(new CountSubscribers(CacheTopics.Invalidations), Patience) == 2);

            var invalidated = await region.Ask<CacheProtocol.Invalidated>(new CacheProtocol.Invalidate(key), Patience);

            Assert.Equal(key, invalidated.Key);
            Assert.Equal(new CacheProtocol.Invalidated(key), listener.Receive(Patience));
            await Eventually(() => Task.FromResult(!near.TryGet(key, Headers(), now, out _)));
            var after = await region.Ask<CacheProtocol.LookupResult>(new CacheProtocol.Lookup(key, [], false), Patience);
            Assert.Equal(LookupOutcome.Fill, after.Outcome);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Polls until the condition holds; fails after <see cref="Patience"/>.</summary>
    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
