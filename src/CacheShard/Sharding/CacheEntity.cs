using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Sharding;

/// <summary>What every cache entity on a node shares: settings, the node's memory ledger and counters, the clock and the invalidation publisher.</summary>
/// <param name="InvalidationPublisher">Receives a DistributedPubSub <see cref="Publish"/> per invalidation: the mediator in production.</param>
/// <param name="Clock">Both "now" and the fill timer, so tests drive time with a fake provider.</param>
public sealed record CacheEntitySettings(
    TurbocacheOptions Options,
    CacheMemoryLedger Ledger,
    TurbocacheStats Stats,
    TimeProvider Clock,
    IActorRef InvalidationPublisher,
    ILogger Logger);

/// <summary>
/// The sharded entity of one turbocache primary key (entity id = <see cref="CacheKey.Value"/>): holds
/// the key's variants, answers lookups and coordinates fills so that concurrent misses send one request to the app.
/// </summary>
/// <remarks>
/// Decisions per lookup, in order (see <see cref="LookupOutcome"/>):
/// a bypassing request (<c>Refresh</c>) fills when no fill runs and otherwise goes uncoordinated; a fresh matching
/// variant is a hit; a key in pass-through goes; a stale variant within stale-while-revalidate is served while one
/// asker refreshes it; while a fill runs the asker waits for it; a stale variant with a validator is revalidated by
/// the asker; otherwise the asker fills, handed the stale variant when stale-if-error still allows it.
/// A fresh hit is checked before pass-through: pass-through exists so requests stop queueing behind uncacheable
/// fills, and a fresh entry never queues anyone.
/// Only one fill runs at a time, bounded by <see cref="TurbocacheOptions.CoalesceWaitTimeout"/>; waiters join only
/// a running fill, so that one deadline also bounds every wait. A <see cref="CacheProtocol.Store"/> is accepted from
/// any gateway (a request that went uncoordinated may still bring a storable response); a late report from a filler
/// whose fill already timed out simply ends whatever fill runs then, which at worst sends its waiters to the app early.
/// </remarks>
public sealed class CacheEntity : ReceiveActor
{
    /// <summary>Variants kept per key, the same bound as the near cache's.</summary>
    public const int MaxVariants = NearResponseCache.MaxVariantsPerKey;

    private readonly CacheKey _key;
    private readonly CacheEntitySettings _settings;
    private readonly TurbocacheCounters _counters;
    private readonly List<Variant> _variants = new(); // in store order, newest last
    private readonly List<Waiter> _waiters = new(); // non-empty only while a fill runs
    private long _bytes;
    private long _useClock;
    private bool _filling;
    private DateTimeOffset _fillDeadline;
    private DateTimeOffset _passThroughUntil = DateTimeOffset.MinValue;
    private DateTimeOffset _invalidatedAt = DateTimeOffset.MinValue;
    private ITimer? _fillTimer;

    public CacheEntity(string entityId, CacheEntitySettings settings)
    {
        ArgumentNullException.ThrowIfNull(entityId);
        ArgumentNullException.ThrowIfNull(settings);
        _key = new CacheKey(entityId);
        _settings = settings;
        _counters = settings.Stats.For(_key);

        Receive<CacheProtocol.Lookup>(OnLookup);
        Receive<CacheProtocol.Store>(OnStore);
        Receive<CacheProtocol.FillAbandoned>(OnFillAbandoned);
        Receive<CacheProtocol.Invalidate>(_ => OnInvalidate());
        Receive<CacheMemoryLedger.Evict>(_ => OnEvict());
        Receive<FillDeadline>(_ => OnFillDeadline());
    }

    public static Props Props(string entityId, CacheEntitySettings settings) =>
        Akka.Actor.Props.Create(() => new CacheEntity(entityId, settings));

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    private void OnLookup(CacheProtocol.Lookup lookup)
    {
        var now = Now;
        _settings.Ledger.Touch(Self);
        var request = CacheEntryMapping.ToHeaders(lookup.RequestHeaders);
        var match = FindMatch(request);

        if (lookup.Refresh)
        {
            // A bypassing request must reach the app; coalescing it would hand it a cached answer after all.
            if (_filling || now < _passThroughUntil)
            {
                Reply(LookupOutcome.Go);
            }
            else
            {
                StartFill(now);
                Reply(LookupOutcome.Fill, StaleIfErrorFallback(match, now));
            }
            return;
        }

        if (match is not null && match.Entry.IsFresh(now))
        {
            Use(match);
            Reply(LookupOutcome.Hit, match);
            return;
        }
        if (now < _passThroughUntil)
        {
            Reply(LookupOutcome.Go);
            return;
        }
        if (match is not null && match.Entry.CanServeStaleWhileRevalidate(now))
        {
            Use(match);
            if (_filling)
            {
                Reply(LookupOutcome.Hit, match);
            }
            else
            {
                StartFill(now);
                Reply(LookupOutcome.StaleRefresh, match);
            }
            return;
        }
        if (_filling)
        {
            _waiters.Add(new Waiter(Sender, request));
            _counters.RecordCoalescedWait();
            return;
        }

        StartFill(now);
        if (match is not null && match.Entry.HasValidator)
            Reply(LookupOutcome.Revalidate, match);
        else
            Reply(LookupOutcome.Fill, StaleIfErrorFallback(match, now));
    }

    private void OnStore(CacheProtocol.Store store)
    {
        var now = Now;
        var data = store.Entry;
        if (data.Body.LongLength > _settings.Options.MaxBodyBytes)
        {
            // The gateway enforces the limit while buffering; a larger entry means a misconfigured or foreign node.
            _settings.Logger.LogWarning("Refused to store {Bytes} body bytes for {Key}: over the {MaxBodyBytes} entry limit",
                data.Body.LongLength, _key.Value, _settings.Options.MaxBodyBytes);
        }
        else if (data.RequestTime < _invalidatedAt)
        {
            // The response was requested before an unsafe request changed the resource: it may describe the old state.
            _settings.Logger.LogDebug("Dropped a store for {Key} requested before its invalidation", _key.Value);
        }
        else
        {
            Upsert(CacheEntryMapping.ToEntry(data), data, now);
        }
        EndFill(answerFromCache: true, now);
    }

    private void OnFillAbandoned(CacheProtocol.FillAbandoned abandoned)
    {
        var now = Now;
        if (abandoned.PassThrough)
        {
            _passThroughUntil = now + _settings.Options.PassThroughTime;
            _settings.Logger.LogDebug("{Key} is pass-through until {Until}: its response was not storable", _key.Value, _passThroughUntil);
        }
        EndFill(answerFromCache: false, now);
    }

    private void OnInvalidate()
    {
        _invalidatedAt = Now;
        int entries = _variants.Count;
        long bytes = DropAll();
        _counters.RecordInvalidation(entries, bytes);
        var invalidated = new CacheProtocol.Invalidated(_key);
        Sender.Tell(invalidated);
        _settings.InvalidationPublisher.Tell(new Publish(CacheTopics.Invalidations, invalidated));
    }

    private void OnEvict()
    {
        int entries = _variants.Count;
        long bytes = DropAll();
        if (entries > 0)
        {
            _counters.RecordEviction(entries, bytes);
            _settings.Logger.LogDebug("Evicted {Entries} entries ({Bytes} bytes) of {Key} to stay within the node's memory bound",
                entries, bytes, _key.Value);
        }
    }

    private void OnFillDeadline()
    {
        if (!_filling)
            return;
        var now = Now;
        var remaining = _fillDeadline - now;
        if (remaining > TimeSpan.Zero)
        {
            // A timer from an earlier fill, or one firing a tick before the clock agrees: wait out the rest.
            _fillTimer!.Change(remaining, Timeout.InfiniteTimeSpan);
            return;
        }
        _settings.Logger.LogInformation("Fill of {Key} not reported within {Timeout}; {Waiters} waiting requests go to the app",
            _key.Value, _settings.Options.CoalesceWaitTimeout, _waiters.Count);
        EndFill(answerFromCache: false, now);
    }

    protected override void PostStop()
    {
        _fillTimer?.Dispose();
        // Passivation or shutdown: nobody will answer these asks otherwise.
        foreach (var waiter in _waiters)
            waiter.Asker.Tell(new CacheProtocol.LookupResult(_key, LookupOutcome.Go, null));
        _waiters.Clear();
        if (_bytes > 0)
            _counters.RecordRelease(DropAll());
        base.PostStop();
    }

    /// <summary>The newest variant the request selects, or null; an entry not shareable with Authorization never answers a request that carries it.</summary>
    private Variant? FindMatch(IHeaderDictionary request)
    {
        for (int i = _variants.Count - 1; i >= 0; i--)
        {
            var candidate = _variants[i];
            if (!candidate.Entry.Variant.Matches(request))
                continue;
            // RFC 9111 §3.5. An older variant that matches too would be more outdated, so the search ends here.
            return request.Authorization.Count > 0 && !candidate.Entry.AllowsAuthorizedRequests ? null : candidate;
        }
        return null;
    }

    private static CacheEntryData? StaleIfErrorFallback(Variant? match, DateTimeOffset now) =>
        match is not null && match.Entry.CanServeStaleIfError(now) ? match.Data : null;

    private void StartFill(DateTimeOffset now)
    {
        var timeout = _settings.Options.CoalesceWaitTimeout;
        _filling = true;
        _fillDeadline = now + timeout;
        // One timer per entity, re-armed per fill; its callback only posts a message, so the actor's state stays single-threaded.
        _fillTimer ??= _settings.Clock.CreateTimer(static self => ((IActorRef)self!).Tell(FillDeadline.Instance, ActorRefs.NoSender),
            Self, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _fillTimer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Ends the running fill (if any): waiters get the fresh variant they match after a store, or go to the app.</summary>
    private void EndFill(bool answerFromCache, DateTimeOffset now)
    {
        _filling = false;
        _fillTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var waiter in _waiters)
        {
            var match = answerFromCache ? FindMatch(waiter.Request) : null;
            if (match is not null && match.Entry.IsFresh(now))
            {
                Use(match);
                waiter.Asker.Tell(new CacheProtocol.LookupResult(_key, LookupOutcome.Hit, match.Data));
            }
            else
            {
                waiter.Asker.Tell(new CacheProtocol.LookupResult(_key, LookupOutcome.Go, null));
            }
        }
        _waiters.Clear();
    }

    private void Upsert(CachedResponse entry, CacheEntryData data, DateTimeOffset now)
    {
        long replacedBytes = 0;
        long releasedBytes = 0;
        for (int i = _variants.Count - 1; i >= 0; i--)
        {
            var existing = _variants[i];
            if (existing.Entry.Variant.Equals(entry.Variant))
            {
                replacedBytes += existing.Bytes;
                _variants.RemoveAt(i);
            }
            else if (IsUseless(existing.Entry, now))
            {
                releasedBytes += existing.Bytes;
                _variants.RemoveAt(i);
            }
        }
        if (releasedBytes > 0)
            _counters.RecordRelease(releasedBytes);

        if (_variants.Count >= MaxVariants)
        {
            int lru = 0;
            for (int i = 1; i < _variants.Count; i++)
            {
                if (_variants[i].LastUsed < _variants[lru].LastUsed)
                    lru = i;
            }
            var evicted = _variants[lru];
            _variants.RemoveAt(lru);
            releasedBytes += evicted.Bytes;
            _counters.RecordEviction(1, evicted.Bytes);
        }

        var added = new Variant(entry, data) { LastUsed = ++_useClock };
        _variants.Add(added);
        _bytes += added.Bytes - replacedBytes - releasedBytes;
        _counters.RecordStore(added.Bytes, replacedBytes);
        _settings.Ledger.Update(Self, _bytes);
    }

    /// <summary>Drops every variant, tells the ledger, and returns the bytes dropped (for the caller's counter).</summary>
    private long DropAll()
    {
        long bytes = _bytes;
        _variants.Clear();
        _bytes = 0;
        // Also after an eviction, when the ledger has no record: it reconciles a store that raced the eviction.
        _settings.Ledger.Update(Self, 0);
        return bytes;
    }

    private void Use(Variant variant) => variant.LastUsed = ++_useClock;

    // Stale, past both stale windows and without a validator to revalidate with: no request can ever use it again.
    private static bool IsUseless(CachedResponse entry, DateTimeOffset now) =>
        !entry.IsFresh(now) && !entry.HasValidator
        && !entry.CanServeStaleWhileRevalidate(now) && !entry.CanServeStaleIfError(now);

    private void Reply(LookupOutcome outcome, Variant? variant = null) => Reply(outcome, variant?.Data);

    private void Reply(LookupOutcome outcome, CacheEntryData? entry) =>
        Sender.Tell(new CacheProtocol.LookupResult(_key, outcome, entry));

    /// <summary>One stored variant, kept in both forms: the policy object to match and the wire record to answer with.</summary>
    private sealed class Variant(CachedResponse entry, CacheEntryData data)
    {
        public readonly CachedResponse Entry = entry;
        public readonly CacheEntryData Data = data;
        public readonly long Bytes = data.Body.LongLength;
        public long LastUsed;
    }

    private readonly record struct Waiter(IActorRef Asker, IHeaderDictionary Request);

    private sealed class FillDeadline
    {
        public static readonly FillDeadline Instance = new();
    }
}
