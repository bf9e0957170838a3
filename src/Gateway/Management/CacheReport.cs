using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Sharding;
using Porter.Gateway.Caching;
using Porter.Hosting.Management;

namespace Porter.Gateway.Management;

/// <summary>
/// This node's turbocache as a <c>cache</c> report (gathered cluster-wide by <c>GET /cache</c>): counters per app,
/// its near cache, the bytes its cache entities hold and the shards its requests skip (their breaker is open).
/// </summary>
public sealed class CacheReport(ActorSystem system, TurbocacheStats stats, NearResponseCache near, CacheMemoryLedger ledger,
    ShardBreakers breakers) : INodeReportSource
{
    public string Kind => "cache";

    public Task<string> JsonAsync(CancellationToken cancellationToken) => Task.FromResult(JsonSerializer.Serialize(new
    {
        node = Cluster.Get(system).SelfAddress.ToString(),
        apps = stats.Snapshot().ToDictionary(a => a.Key, a => new
        {
            lookups = a.Value.Lookups,
            hits = a.Value.Hits,
            staleHits = a.Value.StaleHits,
            misses = a.Value.Misses,
            bypasses = a.Value.Bypasses,
            hitRatio = a.Value.Lookups == 0 ? 0 : Math.Round((double)(a.Value.Hits + a.Value.StaleHits) / a.Value.Lookups, 4),
            stores = a.Value.Stores,
            revalidations = a.Value.Revalidations,
            evictions = a.Value.Evictions,
            invalidations = a.Value.Invalidations,
            bytesHeld = a.Value.BytesHeld,
            coalescedWaits = a.Value.CoalescedWaits,
            refusals = a.Value.Refusals.Where(r => r.Value > 0).ToDictionary(r => r.Key.ToString(), r => r.Value),
        }),
        nearCache = new { entries = near.Count, bytes = near.BytesHeld, evictions = near.Evictions },
        entities = new { count = ledger.Entities, bytes = ledger.TotalBytes, maxBytes = ledger.MaxTotalBytes, evicted = ledger.EvictedEntities },
        skippedShards = breakers.OpenShards,
    }));
}
