using Akka.Cluster.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Sharding;

/// <summary>Routes turbocache messages to the entity of their primary key (<see cref="CacheKey.Value"/> is the entity id).</summary>
/// <remarks>
/// Shard ids come from the base class's stable string hash of the entity id, so every node (region or proxy) agrees.
/// A message that is not a turbocache message gets a null id, which sharding treats as unhandled; an empty string
/// would instead be routed to an entity named "".
/// </remarks>
public sealed class CacheMessageExtractor(int maxNumberOfShards = CacheMessageExtractor.DefaultShards)
    : HashCodeMessageExtractor(maxNumberOfShards)
{
    /// <summary>About ten shards per cache node for a cluster of up to ten: enough to rebalance, few enough to stay cheap.</summary>
    public const int DefaultShards = 100;

    public override string EntityId(object message) => message is ICacheMessage cacheMessage ? cacheMessage.Key.Value : null!;
}
