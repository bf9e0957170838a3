using System.Collections.Concurrent;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.CacheShard.NearCache;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Sharding;

/// <summary>
/// The sending side of acknowledged near-cache invalidation: after an unsafe request's keys are dropped at their
/// entities, every other gateway's <see cref="NearCacheInvalidationReceiver"/> is told to drop them too, and the
/// response waits until each has confirmed, or for <see cref="TurbocacheOptions.NearCacheMaxStaleness"/> at most.
/// </summary>
/// <remarks>
/// That bound is what makes read-after-write hold without every gateway answering: a near cache serves an entry for at
/// most that long after the lookup or fill that brought it started (<see cref="NearResponseCache"/>), and any entry
/// from before the invalidation was fetched before this wait began. So a gateway that did not confirm in time (cut
/// off, or dead and not yet downed) cannot serve the old entry once the response has been released. The wait costs
/// the full bound only while some gateway does not answer.
/// </remarks>
public sealed class NearCacheInvalidation(ActorSystem system, CacheMembership membership, TurbocacheOptions options, TimeProvider clock,
    ILogger<NearCacheInvalidation> logger)
{
    private readonly TimeSpan _bound = options.NearCacheMaxStaleness;
    private readonly bool _nearCachesOn = options.NearCacheMaxEntries > 0 && options.NearCacheMaxStaleness > TimeSpan.Zero;
    // Gateways that did not confirm lately: logged once when they fall silent and once when they answer again.
    private readonly ConcurrentDictionary<Address, bool> _silent = new();

    /// <summary>Tells every other gateway to drop <paramref name="keys"/>; completes when all confirmed or the bound has passed.</summary>
    public Task InvalidateEverywhereAsync(CacheKey[] keys)
    {
        var peers = membership.NearCachePeers;
        if (!_nearCachesOn || peers.Count == 0 || keys.Length == 0) return Task.CompletedTask;
        var message = new NearCacheProtocol.Invalidate(keys);
        var started = clock.GetTimestamp();
        var confirmations = new Task[peers.Count];
        for (int i = 0; i < peers.Count; i++) confirmations[i] = ConfirmAsync(peers[i], message, started);
        return Task.WhenAll(confirmations);
    }

    private async Task ConfirmAsync(Address peer, NearCacheProtocol.Invalidate message, long started)
    {
        try
        {
            await system.ActorSelection(NearCacheInvalidationReceiver.Path(peer)).Ask<NearCacheProtocol.Invalidated>(message, _bound);
            if (_silent.TryRemove(peer, out _))
                logger.LogInformation("Near cache of {Node} confirms invalidations again", peer);
            return;
        }
        catch (Exception e)
        {
            if (_silent.TryAdd(peer, true))
                logger.LogWarning("Near cache of {Node} did not confirm an invalidation ({Reason}); unsafe requests wait {Bound} for it, "
                    + "after which its entries from before the invalidation have expired", peer, e.GetType().Name, _bound);
        }
        // Unconfirmed: the bound must have passed in full before the response goes out (an ask can also fail early).
        var remaining = _bound - clock.GetElapsedTime(started);
        if (remaining > TimeSpan.Zero) await Task.Delay(remaining, clock);
    }
}
