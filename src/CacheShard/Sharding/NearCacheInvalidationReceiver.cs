using Akka.Actor;
using Porter.CacheShard.NearCache;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Sharding;

/// <summary>
/// Drops keys from this node's <see cref="NearResponseCache"/> when another gateway's unsafe request invalidated them,
/// and confirms it, so that gateway may release its response. One per node, at <see cref="Path"/>.
/// </summary>
/// <remarks>
/// A confirmation that does not arrive in time is covered by the near cache's staleness bound, which the invalidating
/// gateway waits out instead (see <see cref="NearResponseCache"/>).
/// </remarks>
public sealed class NearCacheInvalidationReceiver : ReceiveActor
{
    /// <summary>The actor's name under <c>/user</c>, the same on every node.</summary>
    public const string Name = "turbocache-invalidations";

    public NearCacheInvalidationReceiver(NearResponseCache nearCache, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(nearCache);
        Receive<NearCacheProtocol.Invalidate>(invalidate =>
        {
            var now = clock.GetUtcNow();
            // Whether the key was held here does not matter to the sender: the key is dropped and remembered either way.
            foreach (var key in invalidate.Keys)
                nearCache.Invalidate(key, now);
            Sender.Tell(NearCacheProtocol.Invalidated.Instance);
        });
    }

    /// <summary>The receiver's path on the node at <paramref name="node"/>.</summary>
    public static ActorPath Path(Address node) => new RootActorPath(node) / "user" / Name;

    public static Props Props(NearResponseCache nearCache, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new NearCacheInvalidationReceiver(nearCache, clock));
}
