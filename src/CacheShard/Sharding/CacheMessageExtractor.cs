using System.Globalization;
using Akka.Cluster.Sharding;
using Akka.Util;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Sharding;

/// <summary>Routes turbocache messages to the store of their primary key's shard: the entity id is the shard id.</summary>
/// <remarks>
/// One <see cref="CacheEntity"/> per shard holds all of that shard's keys (an actor per key would cost more than the
/// entries it holds). The shard comes from Akka's stable MurmurHash of <see cref="CacheKey.Value"/>, so every node
/// (region or proxy) agrees. A message that is not a turbocache message gets a null id, which sharding treats as
/// unhandled; an empty string would instead be routed to an entity named "".
/// </remarks>
public sealed class CacheMessageExtractor : IMessageExtractor
{
    /// <summary>About ten shards per cache node for a cluster of up to ten: enough to rebalance, few enough to stay cheap.</summary>
    public const int DefaultShards = 100;

    private readonly string[] _ids;
    private readonly CacheKey[] _probeKeys;

    public CacheMessageExtractor(int maxNumberOfShards = DefaultShards)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNumberOfShards);
        // Shard ids are made once: routing a message allocates nothing.
        _ids = Enumerable.Range(0, maxNumberOfShards).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        _probeKeys = new CacheKey[maxNumberOfShards];
        int found = 0;
        for (long n = 0; found < maxNumberOfShards; n++)
        {
            // Never a real key (those start with an app name and a space-free URL part): "probe" plus a number.
            var candidate = new CacheKey("porter probe " + n.ToString(CultureInfo.InvariantCulture));
            ref var slot = ref _probeKeys[ShardNumberOf(candidate)];
            if (slot.Value is null)
            {
                slot = candidate;
                found++;
            }
        }
    }

    /// <summary>Shards of the turbocache.</summary>
    public int Shards => _ids.Length;

    /// <summary>The shard (and store entity) id of <paramref name="key"/>.</summary>
    public string ShardOf(CacheKey key) => _ids[ShardNumberOf(key)];

    /// <summary>The shard of <paramref name="key"/> as a number from 0 to <see cref="Shards"/> - 1.</summary>
    public int ShardNumberOf(CacheKey key) => (MurmurHash.StringHash(key.Value ?? "") & int.MaxValue) % _ids.Length;

    /// <summary>A key of shard <paramref name="shard"/> that no request uses: what <see cref="CacheProtocol.Probe"/> carries.</summary>
    public CacheKey ProbeKey(int shard) => _probeKeys[shard];

    public string EntityId(object message) => message is ICacheMessage cacheMessage ? ShardOf(cacheMessage.Key) : null!;

    public object EntityMessage(object message) => message;

    public string ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
