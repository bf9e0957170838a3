namespace Porter.CacheShard.Sharding;

/// <summary>DistributedPubSub topics of the turbocache.</summary>
public static class CacheTopics
{
    /// <summary>Every <see cref="Contracts.Caching.CacheProtocol.Invalidated"/> an entity performs, for the gateways' near caches.</summary>
    public const string Invalidations = "porter-turbocache-invalidations";
}
