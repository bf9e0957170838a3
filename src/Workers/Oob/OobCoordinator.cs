using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.DependencyInjection;
using Akka.Hosting;
using Akka.Pattern;
using Akka.Persistence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Contracts.Serialization;

namespace Porter.Workers.Oob;

/// <summary>
/// The cluster's out-of-band work token coordinator (a cluster singleton): at most <see cref="OobOptions.MaxConcurrent"/>
/// tokens per scope, FIFO waiters, leases, and reclaim when a holder's node leaves. Grants, releases and reclaims are
/// journal events, so a coordinator that moves to another node knows every outstanding token.
/// </summary>
/// <remarks>
/// Waiting entries are not persisted: a waiter's request may be lost with the old singleton anyway, so workers retry
/// <see cref="OobProtocol.RequestToken"/> until granted, and after a fail-over the queue is rebuilt in retry order. That
/// keeps one journal write per grant and per release instead of one more per request.
/// </remarks>
public sealed class OobCoordinator : ReceivePersistentActor
{
    /// <summary>The persistence id of the cluster's one coordinator.</summary>
    public const string DefaultPersistenceId = "oob-coordinator";

    private readonly OobOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly string _persistenceId;

    // Persisted state: rebuilt from the snapshot and the events by the same Apply methods that run live.
    private readonly Dictionary<long, OobHolder> _holders = new();
    private readonly Dictionary<Requester, long> _tokenOf = new();
    private readonly Dictionary<AppName, OobCounters> _apps = new();
    private OobCounters _cluster = OobCounters.Empty;
    private long _lastTokenId;

    // Volatile state: waiters (see the remarks) and grants whose event is being written.
    private readonly Dictionary<string, Scope> _scopes = new(StringComparer.Ordinal);
    private readonly Dictionary<Requester, LinkedListNode<Waiter>> _waiting = new();
    private long _plannedTokenId;
    private ITimer? _leaseTimer;
    private bool _clustered;

    public OobCoordinator(OobOptions options, TimeProvider clock, ILogger logger, string persistenceId = DefaultPersistenceId)
    {
        _options = options;
        _clock = clock;
        _logger = logger;
        _persistenceId = persistenceId;

        Recover<SnapshotOffer>(offer => Load((OobCoordinatorSnapshot)offer.Snapshot));
        Recover<OobEvents.Granted>(e => Apply(e));
        Recover<OobEvents.Released>(e => Apply(e));
        Recover<OobEvents.Reclaimed>(e => Apply(e));
        Recover<RecoveryCompleted>(_ => Recovered());

        Command<OobProtocol.RequestToken>(Request);
        Command<OobProtocol.ReleaseToken>(Release);
        Command<OobProtocol.CancelRequest>(Cancel);
        Command<OobProtocol.GetOobState>(_ => Sender.Tell(State()));
        Command<CheckLeases>(_ => ReclaimExpiredLeases());
        Command<ClusterEvent.CurrentClusterState>(state => ReclaimAbsentNodes(new MembersPresent(state.Members
            .Where(m => m.Status is not (MemberStatus.Down or MemberStatus.Removed))
            .Select(m => m.Address.ToString())
            .ToHashSet(StringComparer.Ordinal))));
        Command<ClusterEvent.MemberDowned>(m => ReclaimNode(new NodeLeft(m.Member.Address.ToString(), "downed")));
        Command<ClusterEvent.MemberRemoved>(m =>
        {
            if (m.PreviousStatus == MemberStatus.Exiting) KeepTokensOfLeaver(new NodeLeftGracefully(m.Member.Address.ToString()));
            else ReclaimNode(new NodeLeft(m.Member.Address.ToString(), "removed"));
        });
        Command<MembersPresent>(ReclaimAbsentNodes);
        Command<NodeLeft>(ReclaimNode);
        Command<NodeLeftGracefully>(KeepTokensOfLeaver);
        Command<SaveSnapshotSuccess>(s => DeleteOlderThan(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f =>
            _logger.LogWarning(f.Cause, "OOB coordinator snapshot at {SequenceNr} failed; recovery replays more events", f.Metadata.SequenceNr));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _logger.LogWarning(f.Cause, "OOB coordinator could not delete events up to {SequenceNr}", f.ToSequenceNr));
        Command<DeleteSnapshotsFailure>(f => _logger.LogWarning(f.Cause, "OOB coordinator could not delete old snapshots"));
    }

    public override string PersistenceId => _persistenceId;

    public static Props Props(OobOptions options, TimeProvider clock, ILogger logger, string persistenceId = DefaultPersistenceId) =>
        Akka.Actor.Props.Create(() => new OobCoordinator(options, clock, logger, persistenceId));

    /// <summary>Who asks: a process of an app on a node.</summary>
    private readonly record struct Requester(string Node, AppName App, ProcessId Pid);

    private sealed class Waiter(Requester who, string scope, DateTimeOffset requestedAt, IActorRef replyTo)
    {
        public Requester Who { get; } = who;
        public string Scope { get; } = scope;
        public DateTimeOffset RequestedAt { get; } = requestedAt;

        /// <summary>Replaced by each retried request: the worker's previous asker may be gone.</summary>
        public IActorRef ReplyTo { get; set; } = replyTo;
    }

    private sealed class Scope
    {
        public LinkedList<Waiter> Queue { get; } = new();

        /// <summary>Grants whose event is being written: they count against the limit before they are applied.</summary>
        public int PendingGrants { get; set; }
    }

    /// <summary>The cluster members when the coordinator starts (translated from the subscription's initial state; tests send it directly).</summary>
    internal sealed record MembersPresent(IReadOnlySet<string> Nodes);

    /// <summary>A node was downed or removed (translated from cluster events; tests send it directly).</summary>
    internal sealed record NodeLeft(string Node, string Why);

    /// <summary>
    /// A node left gracefully (removed after Exiting): its process may still be running OOB work while the node drains,
    /// and after removal its release can no longer arrive. Its waiters go; its tokens stay until their leases end.
    /// </summary>
    internal sealed record NodeLeftGracefully(string Node);

    /// <summary>Sent by the lease timer; the actor re-reads the clock rather than trusting the timer's moment.</summary>
    private sealed class CheckLeases
    {
        public static readonly CheckLeases Instance = new();
    }

    protected override void PreStart()
    {
        base.PreStart();
        // The timer callback only posts a message, so leases are checked on the actor's own thread.
        _leaseTimer = _clock.CreateTimer(static self => ((IActorRef)self!).Tell(CheckLeases.Instance, ActorRefs.NoSender),
            Self, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        // Plain actor systems (unit tests) have no membership; there the coordinator relies on leases alone.
        _clustered = ((ExtendedActorSystem)Context.System).Provider is IClusterActorRefProvider;
        if (_clustered)
        {
            // Downed and removed, not unreachable: an unreachable node may still be running its OOB work, and reclaiming
            // its token then could let two runs overlap. If it never comes back it is downed (or its lease expires).
            // A node removed after leaving gracefully may still be draining, so its tokens wait for their leases.
            // The snapshot as initial state lets a coordinator that just moved reclaim tokens of nodes that left before it started.
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
                typeof(ClusterEvent.MemberDowned), typeof(ClusterEvent.MemberRemoved));
        }
    }

    protected override void PostStop()
    {
        _leaseTimer?.Dispose();
        if (_clustered) Cluster.Get(Context.System).Unsubscribe(Self);
        base.PostStop();
    }

    private DateTimeOffset Now => _clock.GetUtcNow();

    private void Request(OobProtocol.RequestToken request)
    {
        var who = new Requester(request.Node, request.App, request.Pid);
        var replyTo = request.ReplyTo ?? Sender;
        if (_tokenOf.TryGetValue(who, out var tokenId))
        {
            // A retry after a lost grant (or a fail-over): the same token again, never a second one.
            replyTo.Tell(GrantMessage(_holders[tokenId]));
            return;
        }

        if (_waiting.TryGetValue(who, out var entry))
        {
            entry.Value.ReplyTo = replyTo;
            replyTo.Tell(Queued(entry.Value));
            return;
        }

        var waiter = new Waiter(who, request.Scope, Now, replyTo);
        _waiting[who] = ScopeOf(request.Scope).Queue.AddLast(waiter);
        GrantWhileFree(request.Scope);
        if (_waiting.ContainsKey(who))
        {
            _logger.LogDebug("OOB request of {App} process {Pid} on {Node} waits in scope {Scope}", who.App, who.Pid, who.Node, request.Scope);
            replyTo.Tell(Queued(waiter));
        }
    }

    /// <summary>Grants tokens to the head of the scope's queue while the scope has room; each grant is answered once it is persisted.</summary>
    private void GrantWhileFree(string scopeKey)
    {
        var scope = ScopeOf(scopeKey);
        var grants = new List<(OobEvents.Granted Event, Waiter Waiter)>();
        while (scope.Queue.First is { } head && HeldIn(scopeKey) + scope.PendingGrants < _options.MaxConcurrent)
        {
            var waiter = head.Value;
            scope.Queue.RemoveFirst();
            _waiting.Remove(waiter.Who);
            scope.PendingGrants++;
            var now = Now;
            _plannedTokenId = Math.Max(_plannedTokenId, _lastTokenId) + 1;
            grants.Add((new OobEvents.Granted(new OobHolder(_plannedTokenId, scopeKey, waiter.Who.App, waiter.Who.Node, waiter.Who.Pid,
                waiter.RequestedAt, now, now + _options.LeaseTime)), waiter));
        }
        if (grants.Count == 0) return;

        var replyTo = grants.ToDictionary(g => g.Event.Holder.TokenId, g => g.Waiter.ReplyTo);
        PersistAll(grants.Select(g => g.Event), e =>
        {
            scope.PendingGrants--;
            Apply(e);
            var holder = e.Holder;
            _logger.LogInformation("OOB token {TokenId} granted to {App} process {Pid} on {Node} in scope {Scope} after {Wait}",
                holder.TokenId, holder.App, holder.Pid, holder.Node, holder.Scope, holder.GrantedAt - holder.RequestedAt);
            replyTo[holder.TokenId].Tell(GrantMessage(holder));
            AfterEvent();
        });
    }

    private void Release(OobProtocol.ReleaseToken release)
    {
        var sender = Sender;
        if (!_holders.TryGetValue(release.TokenId, out var holder))
        {
            // Mostly a re-sent release whose first copy was already applied (workers re-send until acknowledged): not news.
            _logger.LogDebug("OOB release of token {TokenId} by {App} process {Pid} on {Node} ignored: not outstanding (unknown, released or reclaimed)",
                release.TokenId, release.App, release.Pid, release.Node);
            sender.Tell(new OobProtocol.TokenReleased(release.TokenId, false));
            return;
        }

        if (holder.App != release.App || holder.Node != release.Node || holder.Pid != release.Pid)
        {
            // Token ids never repeat, so this is a confused worker: leaving the token to its holder (or its lease) keeps runs apart.
            _logger.LogWarning("OOB release of token {TokenId} by {App} process {Pid} on {Node} ignored: held by {HolderApp} process {HolderPid} on {HolderNode}",
                release.TokenId, release.App, release.Pid, release.Node, holder.App, holder.Pid, holder.Node);
            sender.Tell(new OobProtocol.TokenReleased(release.TokenId, false));
            return;
        }

        Persist(new OobEvents.Released(release.TokenId, Now), e =>
        {
            Apply(e);
            _logger.LogInformation("OOB token {TokenId} released by {App} process {Pid} on {Node} after {Duration}",
                holder.TokenId, holder.App, holder.Pid, holder.Node, e.At - holder.GrantedAt);
            sender.Tell(new OobProtocol.TokenReleased(release.TokenId, true));
            GrantWhileFree(holder.Scope);
            AfterEvent();
        });
    }

    private void Cancel(OobProtocol.CancelRequest cancel)
    {
        var who = new Requester(cancel.Node, cancel.App, cancel.Pid);
        var wasWaiting = RemoveWaiter(who);
        Sender.Tell(new OobProtocol.RequestCancelled(cancel.App, cancel.Node, cancel.Pid, wasWaiting));
    }

    private bool RemoveWaiter(Requester who)
    {
        if (!_waiting.Remove(who, out var entry)) return false;
        entry.List!.Remove(entry);
        return true;
    }

    private void ReclaimExpiredLeases()
    {
        var now = Now;
        Reclaim(_holders.Values.Where(h => h.LeaseExpiresAt <= now), OobReclaimReason.LeaseExpired);
        ArmLeaseTimer();
    }

    private void ReclaimAbsentNodes(MembersPresent members)
    {
        // A coordinator only runs on a member, so an empty view is not a real one: reclaiming everything would be wrong.
        if (members.Nodes.Count == 0) return;
        foreach (var node in _holders.Values.Select(h => h.Node).Concat(_waiting.Keys.Select(w => w.Node)).Distinct().ToList())
        {
            if (!members.Nodes.Contains(node)) ReclaimNode(new NodeLeft(node, "not a member when the coordinator started"));
        }
    }

    private void ReclaimNode(NodeLeft left)
    {
        var held = DropWaitersAndListHolders(left.Node);
        if (held.Count > 0)
            _logger.LogWarning("OOB coordinator reclaims {Count} token(s) of node {Node}: {Why}", held.Count, left.Node, left.Why);
        Reclaim(held, OobReclaimReason.NodeLeft);
    }

    private void KeepTokensOfLeaver(NodeLeftGracefully left)
    {
        var held = DropWaitersAndListHolders(left.Node);
        if (held.Count > 0)
            _logger.LogInformation("OOB coordinator keeps {Count} token(s) of {Node}, which left while running OOB work, until their leases end (at most {Lease})",
                held.Count, left.Node, _options.LeaseTime);
    }

    /// <summary>A node that left waits for nothing any more; returns the tokens it still holds.</summary>
    private List<OobHolder> DropWaitersAndListHolders(string node)
    {
        foreach (var who in _waiting.Keys.Where(w => w.Node == node).ToList())
            RemoveWaiter(who);
        return _holders.Values.Where(h => h.Node == node).ToList();
    }

    private void Reclaim(IEnumerable<OobHolder> holders, OobReclaimReason reason)
    {
        var now = Now;
        var reclaimed = holders.OrderBy(h => h.TokenId).ToDictionary(h => h.TokenId);
        if (reclaimed.Count == 0) return;
        PersistAll(reclaimed.Keys.Select(id => new OobEvents.Reclaimed(id, now, reason)), e =>
        {
            var holder = reclaimed[e.TokenId];
            Apply(e);
            _logger.LogWarning("OOB token {TokenId} of {App} process {Pid} on {Node} reclaimed ({Reason}) after {Held}",
                holder.TokenId, holder.App, holder.Pid, holder.Node, reason, e.At - holder.GrantedAt);
            GrantWhileFree(holder.Scope);
            AfterEvent();
        });
    }

    private void Apply(OobEvents.Granted e)
    {
        var h = e.Holder;
        _holders[h.TokenId] = h;
        _tokenOf[new Requester(h.Node, h.App, h.Pid)] = h.TokenId;
        _lastTokenId = Math.Max(_lastTokenId, h.TokenId);
        Count(h.App, c => c with { Grants = c.Grants + 1, TotalWait = c.TotalWait + (h.GrantedAt - h.RequestedAt) });
    }

    private void Apply(OobEvents.Released e)
    {
        if (Remove(e.TokenId) is not { } h) return;
        var duration = e.At - h.GrantedAt;
        Count(h.App, c => c with
        {
            Runs = c.Runs + 1,
            TotalDuration = c.TotalDuration + duration,
            MaxDuration = duration > c.MaxDuration ? duration : c.MaxDuration,
        });
    }

    private void Apply(OobEvents.Reclaimed e)
    {
        if (Remove(e.TokenId) is not { } h) return;
        Count(h.App, c => c with { Reclaims = c.Reclaims + 1 });
    }

    private OobHolder? Remove(long tokenId)
    {
        if (!_holders.Remove(tokenId, out var h)) return null;
        _tokenOf.Remove(new Requester(h.Node, h.App, h.Pid));
        return h;
    }

    private void Count(AppName app, Func<OobCounters, OobCounters> change)
    {
        _cluster = change(_cluster);
        _apps[app] = change(_apps.GetValueOrDefault(app, OobCounters.Empty));
    }

    private void Load(OobCoordinatorSnapshot snapshot)
    {
        _holders.Clear();
        _tokenOf.Clear();
        _apps.Clear();
        foreach (var h in snapshot.Holders)
        {
            _holders[h.TokenId] = h;
            _tokenOf[new Requester(h.Node, h.App, h.Pid)] = h.TokenId;
        }
        foreach (var app in snapshot.Apps) _apps[app.App] = app.Counters;
        _cluster = snapshot.Cluster;
        _lastTokenId = snapshot.LastTokenId;
    }

    private OobCoordinatorSnapshot Snapshot() =>
        new(_lastTokenId, _holders.Values.OrderBy(h => h.TokenId).ToArray(), _cluster, AppCounters());

    private void Recovered()
    {
        _plannedTokenId = _lastTokenId;
        if (_holders.Count > 0)
        {
            foreach (var h in _holders.Values.OrderBy(h => h.TokenId))
            {
                _logger.LogInformation("OOB coordinator recovered token {TokenId} held by {App} process {Pid} on {Node} in scope {Scope} until {LeaseExpiresAt}",
                    h.TokenId, h.App, h.Pid, h.Node, h.Scope, h.LeaseExpiresAt);
            }
        }
        // Leases keep running from their grant: one that expired while no coordinator ran is reclaimed at once.
        ArmLeaseTimer();
    }

    private void AfterEvent()
    {
        // After a snapshot the older events are deleted (see DeleteOlderThan), so recovery reads one snapshot and at most SnapshotEvery events.
        if (LastSequenceNr % _options.SnapshotEvery == 0) SaveSnapshot(Snapshot());
        ArmLeaseTimer();
    }

    /// <summary>
    /// Keeps only the newest snapshot and the events after it: the journal is an operational record, not an audit log
    /// (the counters live in the snapshot), and a short journal keeps fail-over quick on SQLite.
    /// </summary>
    private void DeleteOlderThan(long snapshotSequenceNr)
    {
        DeleteMessages(snapshotSequenceNr);
        if (snapshotSequenceNr > 1)
            DeleteSnapshots(new SnapshotSelectionCriteria(snapshotSequenceNr - 1));
    }

    private void ArmLeaseTimer()
    {
        if (_holders.Count == 0)
        {
            _leaseTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var due = _holders.Values.Min(h => h.LeaseExpiresAt) - Now;
        _leaseTimer?.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private Scope ScopeOf(string key)
    {
        if (!_scopes.TryGetValue(key, out var scope)) _scopes[key] = scope = new Scope();
        return scope;
    }

    private int HeldIn(string scope) => _holders.Values.Count(h => h.Scope == scope);

    private static OobProtocol.TokenGranted GrantMessage(OobHolder h) =>
        new(h.TokenId, h.Scope, h.App, h.Node, h.Pid, h.GrantedAt, h.LeaseExpiresAt);

    private OobProtocol.TokenQueued Queued(Waiter waiter)
    {
        var position = 1;
        for (var entry = _scopes[waiter.Scope].Queue.First; entry is not null && entry.Value != waiter; entry = entry.Next) position++;
        return new OobProtocol.TokenQueued(waiter.Scope, waiter.Who.App, waiter.Who.Node, waiter.Who.Pid, position);
    }

    private OobAppCounters[] AppCounters() =>
        _apps.OrderBy(a => a.Key.Value, StringComparer.Ordinal).Select(a => new OobAppCounters(a.Key, a.Value)).ToArray();

    private OobProtocol.OobState State()
    {
        var keys = _holders.Values.Select(h => h.Scope)
            .Concat(_scopes.Where(s => s.Value.Queue.Count > 0).Select(s => s.Key))
            .Distinct()
            .Order(StringComparer.Ordinal);
        var scopes = keys.Select(key => new OobScopeState(
                key,
                _holders.Values.Where(h => h.Scope == key).OrderBy(h => h.TokenId).ToArray(),
                _scopes.TryGetValue(key, out var scope)
                    ? scope.Queue.Select(w => new OobWaiter(w.Who.App, w.Who.Node, w.Who.Pid, w.RequestedAt)).ToArray()
                    : []))
            .ToArray();
        return new OobProtocol.OobState(_options.MaxConcurrent, Now, scopes, _cluster, AppCounters());
    }
}

/// <summary>Akka.Hosting registration of the out-of-band work coordinator singleton and its serializer.</summary>
public static class OobCoordinatorHostingExtensions
{
    /// <summary>The singleton's name (manager <c>/user/oob-coordinator</c>, proxy <c>/user/oob-coordinator-proxy</c>).</summary>
    public const string SingletonName = "oob-coordinator";

    /// <summary>The cluster role whose nodes may host the coordinator.</summary>
    public const string Role = "worker";

    /// <summary>The serializer's name in the actor system's configuration.</summary>
    public const string SerializerName = "porter-oob";

    private const string LoggerCategory = "Porter.Workers.Oob";

    /// <summary>Binds <see cref="OobProtocolSerializer"/> to the protocol and to the coordinator's events and snapshots.</summary>
    public static AkkaConfigurationBuilder WithOobSerializer(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer(SerializerName, [typeof(IOobMessage), typeof(IOobPersistent)],
            system => new OobProtocolSerializer(system));

    /// <summary>
    /// Binds the serializer and starts the coordinator as a cluster singleton on role "worker" when
    /// <paramref name="hostsCoordinator"/> (with a proxy), or only a proxy otherwise. Either way
    /// <c>IRequiredActor&lt;OobCoordinator&gt;</c> is the proxy. Needs a persistence journal (e.g. <c>WithSqlPersistence</c>).
    /// The clock is the registered <see cref="TimeProvider"/>, or the system clock.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static AkkaConfigurationBuilder WithOobCoordinator(this AkkaConfigurationBuilder builder, bool hostsCoordinator,
        OobOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new OobOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ArgumentException(string.Join(" ", errors), nameof(options));

        builder.WithOobSerializer();
        // The proxy's own warning fired on every start, "after 30 seconds" a moment after the node joined (whatever the
        // period is set to): noise on a console that should be quiet. A coordinator that is really missing shows where it
        // matters: runs are dropped, counted, and the worker logs that no token came (once, until tokens come again).
        var singleton = new ClusterSingletonOptions { Role = Role, LogSingletonIdentificationFailure = false };
        if (!hostsCoordinator)
            return builder.WithSingletonProxy<OobCoordinator>(SingletonName, singleton);

        // Every worker may have to take the coordinator over; a cold journal (its first connection, table check and query
        // compilation) made a fail-over's recovery take 15-20 s on a loaded machine. Recovering an empty id at start pays that
        // up front, so a moved coordinator recovers at once.
        builder.AddStartup((system, _) =>
        {
            system.ActorOf(Akka.Actor.Props.Create(() => new JournalWarmup()), "oob-journal-warmup");
            return Task.CompletedTask;
        });
        return builder.WithSingleton<OobCoordinator>(SingletonName, (_, _, resolver) =>
        {
            var clock = resolver.GetService<TimeProvider>() ?? TimeProvider.System;
            var logger = (resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(LoggerCategory);
            // A persistent actor stops when a journal write fails, and a singleton manager never restarts its singleton:
            // the backoff supervisor restarts it (recovering from the journal) without moving the singleton.
            return BackoffSupervisor.Props(Backoff.OnStop(OobCoordinator.Props(options, clock, logger), "coordinator",
                TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1));
        }, singleton, createProxyToo: true);
    }
}

/// <summary>Recovers an id that never has events, to open the journal and snapshot store before a fail-over needs them; then stops.</summary>
internal sealed class JournalWarmup : ReceivePersistentActor
{
    public JournalWarmup() => Recover<RecoveryCompleted>(_ => Context.Stop(Self));

    public override string PersistenceId => "oob-journal-warmup";
}
