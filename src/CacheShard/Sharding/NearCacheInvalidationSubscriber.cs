using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Microsoft.Extensions.Logging;
using Porter.CacheShard.NearCache;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Sharding;

/// <summary>Drops a key from this node's <see cref="NearResponseCache"/> whenever any cache entity in the cluster invalidates it.</summary>
/// <remarks>
/// One per node. A missed broadcast (a network partition, a subscriber restarting) is bounded by the near cache's
/// own staleness limit, so delivery need not be guaranteed here.
/// </remarks>
public sealed class NearCacheInvalidationSubscriber : ReceiveActor
{
    private readonly IActorRef _mediator;

    public NearCacheInvalidationSubscriber(NearResponseCache nearCache, IActorRef mediator, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(nearCache);
        _mediator = mediator;
        Receive<CacheProtocol.Invalidated>(invalidated => nearCache.Invalidate(invalidated.Key));
        Receive<SubscribeAck>(_ => logger.LogDebug("Near cache subscribed to {Topic}", CacheTopics.Invalidations));
    }

    public static Props Props(NearResponseCache nearCache, IActorRef mediator, ILogger logger) =>
        Akka.Actor.Props.Create(() => new NearCacheInvalidationSubscriber(nearCache, mediator, logger));

    protected override void PreStart() => _mediator.Tell(new Subscribe(CacheTopics.Invalidations, Self));
}
