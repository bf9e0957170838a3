using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;

namespace Porter.CacheShard.Sharding;

/// <summary>How a cluster member stands for the turbocache, as <see cref="CacheMembershipWatch"/> reports it.</summary>
public enum CacheNodeState
{
    /// <summary>Reachable again after being unreachable.</summary>
    Reachable,

    /// <summary>The failure detector lost it: it may be dead or only cut off, and answers nothing meanwhile.</summary>
    Unreachable,

    /// <summary>It is leaving gracefully: its shards are being handed over, but it still finishes what it started.</summary>
    Leaving,

    /// <summary>Exiting, downed or removed: it answers nothing any more.</summary>
    Gone,
}

/// <summary>A member's change of <see cref="CacheNodeState"/>; published on the actor system's event stream for the cache entities.</summary>
public sealed record CacheNodeChanged(Address Node, CacheNodeState State);

/// <summary>
/// This node's view of the cluster as the turbocache needs it: the other nodes with near caches (the gateways an
/// unsafe request's invalidation must reach), and every change of a member's state (<see cref="Changed"/>). Kept by
/// <see cref="CacheMembershipWatch"/> from cluster events; read without locks.
/// </summary>
public sealed class CacheMembership
{
    private volatile Address[] _nearCachePeers = [];

    /// <summary>
    /// The other members with the cache role (every node with a near cache has it) that may be serving requests: Up,
    /// WeaklyUp or Leaving, unreachable ones included, since one that is only cut off may still serve its near cache.
    /// </summary>
    public IReadOnlyList<Address> NearCachePeers => _nearCachePeers;

    /// <summary>Raised on the watch's thread for every member change; handlers must be quick and thread-safe.</summary>
    public event Action<CacheNodeChanged>? Changed;

    internal void SetPeers(Address[] peers) => _nearCachePeers = peers;

    internal void Raise(CacheNodeChanged change) => Changed?.Invoke(change);
}

/// <summary>
/// Follows cluster membership and reachability for the turbocache: updates <see cref="CacheMembership"/> and publishes
/// each <see cref="CacheNodeChanged"/> on the event stream, so entities drop fills whose filler's node is gone and
/// gateways stop asking shards whose home is. One per node.
/// </summary>
public sealed class CacheMembershipWatch : ReceiveActor
{
    private readonly CacheMembership _membership;
    private readonly ILogger _logger;
    private readonly Cluster _cluster;
    private readonly Dictionary<Address, Member> _peers = new();

    public CacheMembershipWatch(CacheMembership membership, ILogger logger)
    {
        _membership = membership;
        _logger = logger;
        _cluster = Cluster.Get(Context.System);

        Receive<ClusterEvent.MemberUp>(e => Track(e.Member));
        Receive<ClusterEvent.MemberWeaklyUp>(e => Track(e.Member));
        Receive<ClusterEvent.MemberLeft>(e =>
        {
            Track(e.Member);
            Announce(e.Member.Address, CacheNodeState.Leaving);
        });
        Receive<ClusterEvent.MemberExited>(e => Forget(e.Member));
        Receive<ClusterEvent.MemberDowned>(e => Forget(e.Member));
        Receive<ClusterEvent.MemberRemoved>(e => Forget(e.Member));
        Receive<ClusterEvent.UnreachableMember>(e => Announce(e.Member.Address, CacheNodeState.Unreachable));
        Receive<ClusterEvent.ReachableMember>(e => Announce(e.Member.Address, CacheNodeState.Reachable));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
    }

    public static Props Props(CacheMembership membership, ILogger logger) =>
        Akka.Actor.Props.Create(() => new CacheMembershipWatch(membership, logger));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Track(Member member)
    {
        if (!member.HasRole(TurbocacheHostingExtensions.Role) || member.Address == _cluster.SelfAddress) return;
        _peers[member.Address] = member;
        _membership.SetPeers([.. _peers.Keys]);
    }

    private void Forget(Member member)
    {
        if (_peers.Remove(member.Address)) _membership.SetPeers([.. _peers.Keys]);
        Announce(member.Address, CacheNodeState.Gone);
    }

    private void Announce(Address node, CacheNodeState state)
    {
        if (node == _cluster.SelfAddress) return;
        _logger.LogDebug("Turbocache: member {Node} is {State}", node, state);
        var change = new CacheNodeChanged(node, state);
        _membership.Raise(change);
        Context.System.EventStream.Publish(change);
    }
}
