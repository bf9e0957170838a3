using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
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
/// the serializer binding, shard probes, and the near cache's invalidation receiver.
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
    public async Task Sharded_entities_answer_lookups_and_probes_and_the_near_cache_receiver_confirms_invalidations()
    {
        using var host = BuildHost();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var self = Cluster.Get(system).SelfAddress;
            var region = await host.Services.GetRequiredService<IRequiredActor<CacheEntity>>().GetAsync();
            var key = CacheKey.Create("blog", "http", "example.com", "/hosted", null);
            var now = DateTimeOffset.UtcNow;
            var entry = Store(["Cache-Control: max-age=600"], body: "sharded", responseTime: now);

            var fill = await region.Ask<CacheProtocol.LookupResult>(new CacheProtocol.Lookup(key, [], LookupMode.Normal, 1), Patience);
            Assert.Equal(LookupOutcome.Fill, fill.Outcome);
            Assert.Equal(self.ToString(), fill.Home);
            region.Tell(new CacheProtocol.Store(key, CacheEntryMapping.ToData(entry)));
            var hit = await region.Ask<CacheProtocol.LookupResult>(new CacheProtocol.Lookup(key, [], LookupMode.Normal, 2), Patience);
            Assert.Equal(LookupOutcome.Hit, hit.Outcome);
            Assert.Equal("sharded"u8.ToArray(), hit.Entry!.Body);
            Assert.IsType<CacheProtocolSerializer>(system.Serialization.FindSerializerForType(typeof(CacheProtocol.Lookup)));
            Assert.IsType<CacheProtocolSerializer>(system.Serialization.FindSerializerForType(typeof(NearCacheProtocol.Invalidate)));
            var extractor = new CacheMessageExtractor();
            for (int shard = 0; shard < extractor.Shards; shard += 33)
            {
                var probed = await region.Ask<CacheProtocol.Probed>(new CacheProtocol.Probe(extractor.ProbeKey(shard)), Patience);
                Assert.Equal(self.ToString(), probed.Home);
            }

            // The receiver other gateways address by path drops the key from this node's near cache and confirms.
            var near = host.Services.GetRequiredService<NearResponseCache>();
            near.Set(key, CacheEntryMapping.ToEntry(hit.Entry), now);
            Assert.True(near.TryGet(key, Headers(), now, out _));
            await system.ActorSelection(NearCacheInvalidationReceiver.Path(self))
                .Ask<NearCacheProtocol.Invalidated>(new NearCacheProtocol.Invalidate([key]), Patience);
            Assert.False(near.TryGet(key, Headers(), now, out _));

            var invalidated = await region.Ask<CacheProtocol.Invalidated>(new CacheProtocol.Invalidate(key), Patience);
            Assert.Equal(key, invalidated.Key);
            var after = await region.Ask<CacheProtocol.LookupResult>(new CacheProtocol.Lookup(key, [], LookupMode.Normal, 3), Patience);
            Assert.Equal(LookupOutcome.Fill, after.Outcome);
            // A cluster of one: no other gateway to tell.
            Assert.Empty(host.Services.GetRequiredService<CacheMembership>().NearCachePeers);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
