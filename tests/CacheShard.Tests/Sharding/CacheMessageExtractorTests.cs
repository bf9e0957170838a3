using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Tests.Sharding;

public sealed class CacheMessageExtractorTests
{
    private static readonly CacheKey Key = CacheKey.Create("blog", "http", "example.com", "/", "?page=1");

    [Fact]
    public void Every_message_about_a_key_goes_to_its_shards_store()
    {
        var extractor = new CacheMessageExtractor();
        ICacheMessage[] messages =
        [
            new CacheProtocol.Lookup(Key, [], LookupMode.Normal, 1), new CacheProtocol.Store(Key, null!),
            new CacheProtocol.FillAbandoned(Key, true, 1), new CacheProtocol.Invalidate(Key),
        ];

        // One store entity per shard: the entity id is the shard id.
        Assert.All(messages, m => Assert.Equal(extractor.ShardOf(Key), extractor.EntityId(m)));
        Assert.All(messages, m => Assert.Equal(extractor.ShardOf(Key), Shard(extractor, m)));
        Assert.All(messages, m => Assert.Equal(extractor.ShardOf(Key), extractor.ShardId(m)));
        Assert.All(messages, m => Assert.Same(m, extractor.EntityMessage(m)));
    }

    [Fact]
    public void Shard_ids_agree_between_nodes_and_stay_within_the_shard_count()
    {
        var keys = Enumerable.Range(0, 500).Select(i => CacheKey.Create("blog", "http", "example.com", $"/{i}", null)).ToArray();
        var here = new CacheMessageExtractor();
        var there = new CacheMessageExtractor();

        var shards = keys.Select(k => Shard(here, new CacheProtocol.Invalidate(k))).ToArray();

        Assert.Equal(shards, keys.Select(k => Shard(there, new CacheProtocol.Invalidate(k))));
        Assert.All(shards, s => Assert.InRange(int.Parse(s!, System.Globalization.CultureInfo.InvariantCulture), 0, CacheMessageExtractor.DefaultShards - 1));
        Assert.True(shards.Distinct().Count() > CacheMessageExtractor.DefaultShards / 2);
    }

    private static string? Shard(CacheMessageExtractor extractor, ICacheMessage message) =>
        extractor.ShardId(extractor.EntityId(message), message);

    [Fact]
    public void Every_shard_has_a_probe_key_of_its_own()
    {
        var extractor = new CacheMessageExtractor();

        var probes = Enumerable.Range(0, extractor.Shards).Select(extractor.ProbeKey).ToArray();

        Assert.Equal(Enumerable.Range(0, extractor.Shards), probes.Select(extractor.ShardNumberOf));
        Assert.Equal(probes.Select(k => k.Value).Distinct().Count(), probes.Length);
        Assert.Equal(extractor.ShardOf(probes[7]), Shard(extractor, new CacheProtocol.Probe(probes[7])));
    }

    [Fact]
    public void Foreign_message_has_no_entity_id_rather_than_an_empty_one()
    {
        Assert.Null(new CacheMessageExtractor().EntityId("not a cache message"));
    }
}
