using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Sharding;

namespace Porter.Gateway.Management;

/// <summary><c>GET /cache</c>: this node's turbocache counters per app, its near cache and the bytes its cache entities hold.</summary>
public static class CacheApi
{
    public static void MapCacheApi(IEndpointRouteBuilder routes) =>
        routes.MapGet("/cache", (ActorSystem system, TurbocacheStats stats, NearResponseCache near, CacheMemoryLedger ledger) => Results.Json(new
        {
            node = Cluster.Get(system).SelfAddress.ToString(),
            apps = stats.Snapshot().ToDictionary(a => a.Key, a => new
            {
                a.Value.Lookups,
                a.Value.Hits,
                a.Value.StaleHits,
                a.Value.Misses,
                a.Value.Bypasses,
                hitRatio = a.Value.Lookups == 0 ? 0 : Math.Round((double)(a.Value.Hits + a.Value.StaleHits) / a.Value.Lookups, 4),
                a.Value.Stores,
                a.Value.Revalidations,
                a.Value.Evictions,
                a.Value.Invalidations,
                a.Value.BytesHeld,
                a.Value.CoalescedWaits,
                refusals = a.Value.Refusals.Where(r => r.Value > 0).ToDictionary(r => r.Key.ToString(), r => r.Value),
            }),
            nearCache = new { entries = near.Count, bytes = near.BytesHeld, evictions = near.Evictions },
            entities = new { count = ledger.Entities, bytes = ledger.TotalBytes, maxBytes = ledger.MaxTotalBytes, evicted = ledger.EvictedEntities },
        }));
}
