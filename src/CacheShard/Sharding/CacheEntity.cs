using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Sharding;

/// <summary>What every cache entity on a node shares: settings, the node's memory ledger and counters, and the clock.</summary>
/// <param name="Clock">"Now", the fill timers and the idle sweep, so tests drive time with a fake provider.</param>
public sealed record CacheEntitySettings(
    TurbocacheOptions Options,
    CacheMemoryLedger Ledger,
    TurbocacheStats Stats,
    TimeProvider Clock,
    ILogger Logger);

/// <summary>
/// The sharded entity of one turbocache shard (entity id = shard id, see <see cref="CacheMessageExtractor"/>): a plain
/// store of that shard's keys (each with its variants), answering lookups and coordinating fills so that concurrent
/// misses of a key send one request to the app.
/// </summary>
/// <remarks>
/// One actor per shard rather than per key: an actor with its mailbox costs nearly 2 KB, more than the entry budget.
/// A key's state is a plain object in this actor's dictionary; the rare parts (a running fill with its waiters and
/// timer, a pass-through period, the last invalidation) live in a <see cref="Coordination"/> that exists only while
/// they matter. A stored variant is one object holding the wire record's fields (headers as one block, the body array
/// exactly the body's size, both shared with the record) and rebuilds the record when it answers.
/// Decisions per lookup of a key, in order (see <see cref="LookupOutcome"/>):
/// a bypassing request (<c>Refresh</c>) fills when no fill runs and otherwise goes uncoordinated; a fresh matching
/// variant is a hit; a key in pass-through goes; a stale variant within stale-while-revalidate is served while one
/// asker refreshes it; while a fill runs the asker is told to wait (<see cref="LookupOutcome.Wait"/>) and joins the
/// fill when it asks again (<see cref="LookupMode.JoinFill"/>); a stale variant with a validator is revalidated by the
/// asker; otherwise the asker fills, handed the stale variant when stale-if-error still allows it.
/// Every lookup is answered at once (a join is answered when its fill ends), so a gateway can bound its wait on the
/// entity with a small budget apart from its wait on a fill.
/// A fresh hit is checked before pass-through: pass-through exists so requests stop queueing behind uncacheable
/// fills, and a fresh entry never queues anyone.
/// Only one fill per key runs at a time, bounded by <see cref="TurbocacheOptions.CoalesceWaitTimeout"/>; waiters join
/// only a running fill, so that one deadline also bounds every wait. A fill belongs to its filler's request id: only
/// that request's <see cref="CacheProtocol.FillAbandoned"/> ends it, so a late report of an earlier fill cannot end a
/// newer one. A <see cref="CacheProtocol.Store"/> is accepted from any gateway (a request that went uncoordinated may
/// still bring a storable response) and ends the running fill with it. When the filler's node becomes unreachable or
/// leaves the cluster (<see cref="CacheNodeChanged"/> on the event stream), its fill passes to the first waiter on
/// another node, and waiters on that node are dropped: no request waits on a node that is gone.
/// A key not looked up for <see cref="TurbocacheOptions.EntityIdleTimeout"/> is released by a periodic sweep.
/// </remarks>
public sealed class CacheEntity : ReceiveActor
{
    /// <summary>Variants kept per key, the same bound as the near cache's.</summary>
    public const int MaxVariants = NearResponseCache.MaxVariantsPerKey;

    private readonly CacheEntitySettings _settings;
    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    // The keys with a running fill: few at a time, checked when a node goes away.
    private readonly HashSet<KeyState> _filling = [];
    private long _useClock;
    private ITimer? _sweepTimer;
    private string _home = "";

    public CacheEntity(string entityId, CacheEntitySettings settings)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;

        Receive<CacheProtocol.Lookup>(OnLookup);
        Receive<CacheProtocol.Store>(OnStore);
        Receive<CacheProtocol.FillAbandoned>(OnFillAbandoned);
        Receive<CacheProtocol.Invalidate>(OnInvalidate);
        Receive<CacheMemoryLedger.Evict>(OnEvict);
        Receive<CacheProtocol.Probe>(probe => Sender.Tell(new CacheProtocol.Probed(probe.Key, _home)));
        Receive<CacheNodeChanged>(OnNodeChanged);
        Receive<FillDeadline>(OnFillDeadline);
        Receive<SweepIdle>(_ => OnSweepIdle());
    }

    public static Props Props(string entityId, CacheEntitySettings settings) =>
        Akka.Actor.Props.Create(() => new CacheEntity(entityId, settings));

    /// <summary>Keys this store holds state for (entries, a running fill or a remembered pass-through/invalidation).</summary>
    internal int KeyCount => _keys.Count;

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    protected override void PreStart()
    {
        // Idle keys are swept at a fraction of the idle timeout, so one lingers at most half as long again.
        var period = _settings.Options.EntityIdleTimeout / 2;
        _sweepTimer = _settings.Clock.CreateTimer(static self => ((IActorRef)self!).Tell(SweepIdle.Instance, ActorRefs.NoSender),
            Self, period, period);
        _home = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString();
        Context.System.EventStream.Subscribe(Self, typeof(CacheNodeChanged));
        base.PreStart();
    }

    private void OnLookup(CacheProtocol.Lookup lookup)
    {
        var now = Now;
        var key = lookup.Key.Value;
        var request = CacheEntryMapping.ToHeaders(lookup.RequestHeaders);
        _keys.TryGetValue(key, out var state);
        if (state is not null)
        {
            state.LastLookupTicks = now.UtcTicks;
            if (state.Head is not null)
                _settings.Ledger.Touch(state);
        }
        var match = state?.FindMatch(request);
        var coordination = state?.Coordination;
        bool filling = coordination?.Filling == true;
        bool passThrough = coordination is not null && now < coordination.PassThroughUntil;

        if (lookup.Mode == LookupMode.Refresh)
        {
            // A bypassing request must reach the app; coalescing it would hand it a cached answer after all.
            if (filling || passThrough)
            {
                Reply(lookup.Key, LookupOutcome.Go);
            }
            else
            {
                StartFill(state ?? Add(key, now), lookup, now);
                Reply(lookup.Key, LookupOutcome.Fill, StaleIfErrorFallback(match, now));
            }
            return;
        }

        if (match is not null && match.IsFresh(now))
        {
            Use(match);
            Reply(lookup.Key, LookupOutcome.Hit, match.ToData());
            return;
        }
        if (passThrough)
        {
            Reply(lookup.Key, LookupOutcome.Go);
            return;
        }
        if (match is not null && match.CanServeStaleWhileRevalidate(now))
        {
            Use(match);
            if (filling)
            {
                Reply(lookup.Key, LookupOutcome.Hit, match.ToData());
            }
            else
            {
                StartFill(state!, lookup, now);
                Reply(lookup.Key, LookupOutcome.StaleRefresh, match.ToData());
            }
            return;
        }
        if (filling)
        {
            if (lookup.Mode != LookupMode.JoinFill)
            {
                Reply(lookup.Key, LookupOutcome.Wait);
                return;
            }
            coordination!.Waiters.Add(new Waiter(Sender, request, lookup.RequestId));
            _settings.Stats.For(lookup.Key).RecordCoalescedWait();
            return;
        }

        StartFill(state ?? Add(key, now), lookup, now);
        ReplyAsFiller(Sender, lookup.Key, match, now);
    }

    /// <summary>Tells the key's new filler what to fetch: revalidate the stale variant it matches, or fill (with a stale-if-error fallback).</summary>
    private void ReplyAsFiller(IActorRef filler, CacheKey key, StoredVariant? match, DateTimeOffset now)
    {
        if (match is not null && match.HasValidator)
            filler.Tell(new CacheProtocol.LookupResult(key, LookupOutcome.Revalidate, match.ToData(), _home));
        else
            filler.Tell(new CacheProtocol.LookupResult(key, LookupOutcome.Fill, StaleIfErrorFallback(match, now), _home));
    }

    private void OnStore(CacheProtocol.Store store)
    {
        var now = Now;
        var data = store.Entry;
        var key = store.Key.Value;
        _keys.TryGetValue(key, out var state);
        bool stored = false;
        if (data.Body.LongLength > _settings.Options.MaxBodyBytes)
        {
            // The gateway enforces the limit while buffering; a larger entry means a misconfigured or foreign node.
            _settings.Logger.LogWarning("Refused to store {Bytes} body bytes for {Key}: over the {MaxBodyBytes} entry limit",
                data.Body.LongLength, key, _settings.Options.MaxBodyBytes);
        }
        else if (state?.Coordination is { } c && data.RequestTime < c.InvalidatedAt)
        {
            // The response was requested before an unsafe request changed the resource: it may describe the old state.
            _settings.Logger.LogDebug("Dropped a store for {Key} requested before its invalidation", key);
        }
        else
        {
            state ??= Add(key, now);
            Upsert(state, store.Key, new StoredVariant(data), now);
            stored = true;
        }
        if (state is not null)
        {
            EndFill(state, store.Key, answerFromCache: stored, now);
            ForgetIfEmpty(state, now);
        }
    }

    private void OnFillAbandoned(CacheProtocol.FillAbandoned abandoned)
    {
        var now = Now;
        var key = abandoned.Key.Value;
        _keys.TryGetValue(key, out var state);
        if (abandoned.PassThrough)
        {
            state ??= Add(key, now);
            state.Coordinate().PassThroughUntil = now + _settings.Options.PassThroughTime;
            _settings.Logger.LogDebug("{Key} is pass-through until {Until}: its response was not storable", key, state.Coordination!.PassThroughUntil);
        }
        // Only the filler's own report ends its fill: a late one from an earlier filler, or from a request that was
        // never told to fill (its lookup timed out on the way), leaves the running fill to its filler.
        if (state?.Coordination is { Filling: true } coordination && coordination.FillerId == abandoned.RequestId)
            EndFill(state, abandoned.Key, answerFromCache: false, now);
        if (state is not null)
            ForgetIfEmpty(state, now);
    }

    private void OnInvalidate(CacheProtocol.Invalidate invalidate)
    {
        var now = Now;
        var key = invalidate.Key.Value;
        if (!_keys.TryGetValue(key, out var state))
            state = Add(key, now);
        state.Coordinate().InvalidatedAt = now;
        int entries = state.VariantCount;
        long bytes = DropAll(state);
        _settings.Stats.For(invalidate.Key).RecordInvalidation(entries, bytes);
        // The asker tells the near caches itself, once it knows this store dropped the keys.
        Sender.Tell(new CacheProtocol.Invalidated(invalidate.Key));
    }

    /// <summary>
    /// A node became unreachable or left: fills it was running pass to a waiter elsewhere (or end), and its waiters are
    /// dropped (nobody there would read the answer).
    /// </summary>
    private void OnNodeChanged(CacheNodeChanged change)
    {
        if (change.State is not (CacheNodeState.Unreachable or CacheNodeState.Gone) || _filling.Count == 0)
            return;
        var now = Now;
        foreach (var state in _filling.ToArray())
        {
            var coordination = state.Coordination!;
            coordination.Waiters.RemoveAll(w => w.Asker.Path.Address == change.Node);
            if (coordination.FillerNode != change.Node)
                continue;
            var key = new CacheKey(state.Key);
            if (coordination.Waiters.Count == 0)
            {
                _settings.Logger.LogInformation("Fill of {Key} dropped: its filler's node {Node} is {State}", state.Key, change.Node, change.State);
                EndFill(state, key, answerFromCache: false, now);
                ForgetIfEmpty(state, now);
                continue;
            }
            // The first waiter fills instead; the others keep waiting, now on it.
            var next = coordination.Waiters[0];
            coordination.Waiters.RemoveAt(0);
            _settings.Logger.LogInformation("Fill of {Key} passes to another request: its filler's node {Node} is {State}; {Waiters} still wait",
                state.Key, change.Node, change.State, coordination.Waiters.Count);
            StartFill(state, key, next.RequestId, next.Asker, now);
            ReplyAsFiller(next.Asker, key, state.FindMatch(next.Request), now);
        }
    }

    private void OnEvict(CacheMemoryLedger.Evict evict)
    {
        // A record of a key forgotten (or replaced) since: nothing of it is held here any more.
        if (evict.Record is not KeyState state || !_keys.TryGetValue(state.Key, out var current) || current != state)
            return;
        int entries = state.VariantCount;
        long bytes = DropAll(state);
        if (entries > 0)
        {
            var key = new CacheKey(state.Key);
            _settings.Stats.For(key).RecordEviction(entries, bytes);
            _settings.Logger.LogDebug("Evicted {Entries} entries ({Bytes} bytes) of {Key} to stay within the node's memory bound",
                entries, bytes, state.Key);
        }
        ForgetIfEmpty(state, Now);
    }

    private void OnFillDeadline(FillDeadline deadline)
    {
        if (!_keys.TryGetValue(deadline.Key, out var state) || state.Coordination is not { Filling: true } coordination)
            return;
        var now = Now;
        var remaining = coordination.FillDeadline - now;
        if (remaining > TimeSpan.Zero)
        {
            // A timer from an earlier fill, or one firing a tick before the clock agrees: wait out the rest.
            coordination.FillTimer?.Change(remaining, Timeout.InfiniteTimeSpan);
            return;
        }
        _settings.Logger.LogInformation("Fill of {Key} not reported within {Timeout}; {Waiters} waiting requests go to the app",
            deadline.Key, _settings.Options.CoalesceWaitTimeout, coordination.Waiters.Count);
        var key = new CacheKey(deadline.Key);
        EndFill(state, key, answerFromCache: false, now);
        ForgetIfEmpty(state, now);
    }

    private void OnSweepIdle()
    {
        var now = Now;
        long idleBefore = (now - _settings.Options.EntityIdleTimeout).UtcTicks;
        List<KeyState>? idle = null;
        foreach (var state in _keys.Values)
        {
            if (state.LastLookupTicks <= idleBefore && state.Coordination is not { Filling: true })
                (idle ??= []).Add(state);
        }
        if (idle is null)
            return;
        foreach (var state in idle)
        {
            long bytes = DropAll(state);
            if (bytes > 0)
                _settings.Stats.For(new CacheKey(state.Key)).RecordRelease(bytes);
            _keys.Remove(state.Key);
        }
        _settings.Logger.LogDebug("Released {Keys} keys not looked up for {Idle}", idle.Count, _settings.Options.EntityIdleTimeout);
    }

    protected override void PostStop()
    {
        _sweepTimer?.Dispose();
        foreach (var state in _keys.Values)
        {
            var key = new CacheKey(state.Key);
            if (state.Coordination is { } coordination)
            {
                coordination.FillTimer?.Dispose();
                // Passivation, hand-off or shutdown: nobody will answer these asks otherwise.
                foreach (var waiter in coordination.Waiters)
                    waiter.Asker.Tell(new CacheProtocol.LookupResult(key, LookupOutcome.Go, null, _home));
                coordination.Waiters.Clear();
            }
            long bytes = DropAll(state);
            if (bytes > 0)
                _settings.Stats.For(key).RecordRelease(bytes);
        }
        _keys.Clear();
        _filling.Clear();
        Context.System.EventStream.Unsubscribe(Self);
        base.PostStop();
    }

    private KeyState Add(string key, DateTimeOffset now)
    {
        var state = new KeyState(key, Self) { LastLookupTicks = now.UtcTicks };
        _keys.Add(key, state);
        return state;
    }

    /// <summary>Forgets a key that holds nothing worth remembering: no entry, no fill, no pass-through or invalidation in effect.</summary>
    private void ForgetIfEmpty(KeyState state, DateTimeOffset now)
    {
        if (state.Head is not null)
            return;
        if (state.Coordination is { } c)
        {
            if (c.Filling || now < c.PassThroughUntil || c.InvalidatedAt != DateTimeOffset.MinValue)
                return;
        }
        _keys.Remove(state.Key);
    }

    private static CacheEntryData? StaleIfErrorFallback(StoredVariant? match, DateTimeOffset now) =>
        match is not null && match.CanServeStaleIfError(now) ? match.ToData() : null;

    private void StartFill(KeyState state, CacheProtocol.Lookup lookup, DateTimeOffset now) =>
        StartFill(state, lookup.Key, lookup.RequestId, Sender, now);

    private void StartFill(KeyState state, CacheKey key, long fillerId, IActorRef filler, DateTimeOffset now)
    {
        var timeout = _settings.Options.CoalesceWaitTimeout;
        var coordination = state.Coordinate();
        coordination.Filling = true;
        coordination.FillerId = fillerId;
        coordination.FillerNode = filler.Path.Address;
        coordination.FillDeadline = now + timeout;
        _filling.Add(state);
        // One timer per filling key, re-armed per fill; its callback only posts a message, so the actor's state stays single-threaded.
        coordination.FillTimer ??= _settings.Clock.CreateTimer(static deadline => ((FillDeadline)deadline!).Store.Tell(deadline, ActorRefs.NoSender),
            new FillDeadline(Self, key.Value), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        coordination.FillTimer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Ends the key's running fill (if any): waiters get the fresh variant they match after a store. After a store,
    /// waiters that select another variant are not all sent to the app (a herd per variant): the first of them fills
    /// next and the others keep waiting on it, as Varnish's waiting list does; each waiter's own wait stays bounded by
    /// its gateway. After a fill that stored nothing, every waiter goes to the app.
    /// </summary>
    private void EndFill(KeyState state, CacheKey key, bool answerFromCache, DateTimeOffset now)
    {
        if (state.Coordination is not { } coordination)
            return;
        coordination.Filling = false;
        coordination.FillerNode = null;
        coordination.FillTimer?.Dispose();
        coordination.FillTimer = null;
        _filling.Remove(state);
        Waiter? nextFiller = null;
        var stillWaiting = new List<Waiter>();
        foreach (var waiter in coordination.Waiters)
        {
            var match = answerFromCache ? state.FindMatch(waiter.Request) : null;
            if (match is not null && match.IsFresh(now))
            {
                Use(match);
                waiter.Asker.Tell(new CacheProtocol.LookupResult(key, LookupOutcome.Hit, match.ToData(), _home));
            }
            else if (answerFromCache && nextFiller is null)
            {
                nextFiller = waiter;
            }
            else if (answerFromCache)
            {
                stillWaiting.Add(waiter);
            }
            else
            {
                waiter.Asker.Tell(new CacheProtocol.LookupResult(key, LookupOutcome.Go, null, _home));
            }
        }
        coordination.Waiters.Clear();
        if (nextFiller is { } next)
        {
            coordination.Waiters.AddRange(stillWaiting);
            StartFill(state, key, next.RequestId, next.Asker, now);
            ReplyAsFiller(next.Asker, key, state.FindMatch(next.Request), now);
            return;
        }
        // Keep the coordination only while it remembers something.
        if (coordination.PassThroughUntil <= now && coordination.InvalidatedAt == DateTimeOffset.MinValue)
            state.Coordination = null;
    }

    private void Upsert(KeyState state, CacheKey key, StoredVariant added, DateTimeOffset now)
    {
        var counters = _settings.Stats.For(key);
        // The key's own cost is held while it has a variant: it is added with the first one.
        long keyCost = state.Head is null ? EntryCost.OfStoreKey(state.Key) : 0;
        long replacedBytes = 0;
        long releasedBytes = 0;
        StoredVariant? previous = null;
        int count = 0;
        for (var existing = state.Head; existing is not null; existing = existing.Next)
        {
            if (existing.Variant.Equals(added.Variant))
            {
                replacedBytes += existing.Cost;
                state.Unlink(existing, previous);
            }
            else if (existing.IsUseless(now))
            {
                releasedBytes += existing.Cost;
                state.Unlink(existing, previous);
            }
            else
            {
                previous = existing;
                count++;
            }
        }
        if (releasedBytes > 0)
            counters.RecordRelease(releasedBytes);

        if (count >= MaxVariants)
        {
            StoredVariant? lru = null, lruPrevious = null;
            previous = null;
            for (var v = state.Head; v is not null; previous = v, v = v.Next)
            {
                if (lru is null || v.LastUsed < lru.LastUsed)
                {
                    lru = v;
                    lruPrevious = previous;
                }
            }
            state.Unlink(lru!, lruPrevious);
            counters.RecordEviction(1, lru!.Cost);
        }

        added.LastUsed = ++_useClock;
        // Newest first: a lookup takes the first variant that matches.
        added.Next = state.Head;
        state.Head = added;
        counters.RecordStore(keyCost + added.Cost, replacedBytes);
        _settings.Ledger.Update(state, state.HeldBytes);
    }

    /// <summary>Drops every variant of the key, tells the ledger, and returns the bytes dropped (for the caller's counter).</summary>
    private long DropAll(KeyState state)
    {
        long bytes = state.HeldBytes;
        state.Head = null;
        // Also after an eviction, when the ledger has no record: it reconciles a store that raced the eviction.
        _settings.Ledger.Update(state, 0);
        return bytes;
    }

    private void Use(StoredVariant variant) => variant.LastUsed = ++_useClock;

    private void Reply(CacheKey key, LookupOutcome outcome, CacheEntryData? entry = null) =>
        Sender.Tell(new CacheProtocol.LookupResult(key, outcome, entry, _home));

    /// <summary>One cached key: its variants (newest first) and, while it matters, its coordination. Its own ledger record.</summary>
    private sealed class KeyState(string key, IActorRef owner) : CacheMemoryLedger.Record(owner)
    {
        public readonly string Key = key;
        public StoredVariant? Head;
        public Coordination? Coordination;
        public long LastLookupTicks;

        /// <summary>
        /// What the key costs (<see cref="EntryCost"/>): its own cost and its variants', 0 without variants (at most 16
        /// to add up; not kept in a field, to keep the key's state small).
        /// </summary>
        public long HeldBytes
        {
            get
            {
                if (Head is null)
                    return 0;
                long bytes = EntryCost.OfStoreKey(Key);
                for (var v = Head; v is not null; v = v.Next)
                    bytes += v.Cost;
                return bytes;
            }
        }

        public int VariantCount
        {
            get
            {
                int count = 0;
                for (var v = Head; v is not null; v = v.Next)
                    count++;
                return count;
            }
        }

        public Coordination Coordinate() => Coordination ??= new Coordination();

        /// <summary>The newest variant the request selects, or null; an entry not shareable with Authorization never answers a request that carries it.</summary>
        public StoredVariant? FindMatch(IHeaderDictionary request)
        {
            for (var candidate = Head; candidate is not null; candidate = candidate.Next)
            {
                if (!candidate.Variant.Matches(request))
                    continue;
                // RFC 9111 §3.5. An older variant that matches too would be more outdated, so the search ends here.
                return request.Authorization.Count > 0 && !candidate.AllowsAuthorizedRequests ? null : candidate;
            }
            return null;
        }

        public void Unlink(StoredVariant variant, StoredVariant? previous)
        {
            if (previous is null)
                Head = variant.Next;
            else
                previous.Next = variant.Next;
            variant.Next = null;
        }
    }

    /// <summary>The rare, short-lived part of a key's state: a running fill and its waiters, pass-through, the last invalidation.</summary>
    private sealed class Coordination
    {
        public bool Filling;
        public long FillerId;
        public Address? FillerNode;
        public DateTimeOffset FillDeadline;
        public ITimer? FillTimer;
        public DateTimeOffset PassThroughUntil = DateTimeOffset.MinValue;
        public DateTimeOffset InvalidatedAt = DateTimeOffset.MinValue;
        public readonly List<Waiter> Waiters = [];
    }

    /// <summary>
    /// One stored variant: the fields of the wire record it arrived in, unpacked (times as UTC ticks) so that an entry
    /// is one object besides its header block and body; answers rebuild the record (lookups are rare next to entries).
    /// </summary>
    private sealed class StoredVariant
    {
        private readonly byte[] _headers;
        private readonly byte[] _body;
        private readonly VariantData _variantData;
        private readonly long _requestTicks;
        private readonly long _responseTicks;
        private readonly long _dateTicks;
        private readonly TimeSpan _ageValue;
        private readonly TimeSpan _freshnessLifetime;
        private readonly TimeSpan _staleWhileRevalidate;
        private readonly TimeSpan _staleIfError;
        private readonly int _statusCode;
        private readonly CacheEntryFlags _flags;
        public readonly bool HasValidator;
        public readonly VariantKey Variant;
        public long LastUsed;
        public StoredVariant? Next;

        public StoredVariant(CacheEntryData data)
        {
            _statusCode = data.StatusCode;
            _headers = data.Headers;
            _body = data.Body;
            _variantData = data.Variant;
            _requestTicks = data.RequestTime.UtcTicks;
            _responseTicks = data.ResponseTime.UtcTicks;
            _dateTicks = data.Date.UtcTicks;
            _ageValue = data.AgeValue;
            _freshnessLifetime = data.FreshnessLifetime;
            _staleWhileRevalidate = data.StaleWhileRevalidate;
            _staleIfError = data.StaleIfError;
            _flags = (CacheEntryFlags)data.Flags;
            Variant = CacheEntryMapping.ToVariant(data.Variant);
            // A superset of CachedResponse.HasValidator (the Last-Modified value is not read here): at worst the gateway
            // revalidates with no validator to send, which is a plain fill.
            HasValidator = HeaderBlock.Contains(data.Headers, "ETag") || HeaderBlock.Contains(data.Headers, "Last-Modified");
        }

        /// <summary>What the variant costs (<see cref="EntryCost"/>); recomputed, as it is asked for only when the key changes.</summary>
        public long Cost => EntryCost.OfStoredVariant(_headers, _body, _variantData);

        public bool AllowsAuthorizedRequests => (_flags & CacheEntryFlags.SharedWithAuthorization) != 0;

        private DateTimeOffset ResponseTime => new(_responseTicks, TimeSpan.Zero);

        // Recomputed rather than stored: it is a few subtractions, and an entry is held far longer than it is asked about.
        private TimeSpan InitialAge => CachedResponse.CorrectedInitialAge(new DateTimeOffset(_requestTicks, TimeSpan.Zero),
            ResponseTime, new DateTimeOffset(_dateTicks, TimeSpan.Zero), _ageValue);

        /// <summary>The wire record to answer with; header block and body are shared, not copied.</summary>
        public CacheEntryData ToData() => new(_statusCode, _headers, _body, _variantData,
            new DateTimeOffset(_requestTicks, TimeSpan.Zero), ResponseTime, new DateTimeOffset(_dateTicks, TimeSpan.Zero),
            _ageValue, _freshnessLifetime, _staleWhileRevalidate, _staleIfError, (byte)_flags);

        public bool IsFresh(DateTimeOffset now) =>
            CachedResponse.IsFresh(_flags, _freshnessLifetime, CachedResponse.CurrentAge(InitialAge, ResponseTime, now));

        public bool CanServeStaleWhileRevalidate(DateTimeOffset now) =>
            CachedResponse.WithinStaleWindow(_flags, _freshnessLifetime, _staleWhileRevalidate, InitialAge, ResponseTime, now);

        public bool CanServeStaleIfError(DateTimeOffset now) =>
            CachedResponse.WithinStaleWindow(_flags, _freshnessLifetime, _staleIfError, InitialAge, ResponseTime, now);

        // Stale, past both stale windows and without a validator to revalidate with: no request can ever use it again.
        public bool IsUseless(DateTimeOffset now) =>
            !IsFresh(now) && !HasValidator && !CanServeStaleWhileRevalidate(now) && !CanServeStaleIfError(now);
    }

    private readonly record struct Waiter(IActorRef Asker, IHeaderDictionary Request, long RequestId);

    /// <summary>Posted by a key's fill timer; carries the store to post to and the key.</summary>
    private sealed class FillDeadline(IActorRef store, string key)
    {
        public IActorRef Store { get; } = store;
        public string Key { get; } = key;
    }

    private sealed class SweepIdle
    {
        public static readonly SweepIdle Instance = new();
    }
}
