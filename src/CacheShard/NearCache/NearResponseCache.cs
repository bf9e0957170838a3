using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.NearCache;

/// <summary>A gateway's bounded, thread-safe cache of hot entries, so a hit on a hot key never leaves the process.</summary>
/// <remarks>
/// Reads are lock-free and allocation-free: the key is formatted into a stack buffer and found through the
/// dictionary's span-keyed alternate lookup; a slot's variants are an immutable array swapped on write, so a reader
/// sees either the old or the new set. Writes (set, invalidate, evict) serialise on one lock: they follow a miss or
/// a broadcast, which are rare next to hits.
/// Eviction is CLOCK (second chance) over primary keys: a hit sets the slot's reference bit; when over the entry or
/// byte bound, the hand clears set bits and evicts the first slot whose bit is clear, with all its variants. That
/// approximates LRU without writing shared state on every hit. Bytes are <see cref="EntryCost"/>: keys, header fields,
/// bodies and the objects around them, each variant's computed once when it is set.
/// An entry is served only while fresh and for at most NearCacheMaxStaleness counted from the moment the lookup or
/// fill that brought it <em>started</em> (not from when it was stored): whatever an unsafe request changed before
/// that moment, the entry may describe the old state, so a gateway that missed the invalidation serves such an entry
/// for at most that long after the invalidation began. The invalidating gateway waits that long for a gateway that
/// does not confirm its invalidation, which makes read-after-write hold on every gateway.
/// An invalidation is remembered for NearCacheMaxStaleness too: an entry whose lookup or fill started before it is not
/// stored afterwards (its answer was on its way while the key was being invalidated).
/// Named NearResponseCache rather than NearCache so the type does not shadow its own namespace.
/// </remarks>
public sealed class NearResponseCache
{
    /// <summary>Variants kept per primary key; the oldest goes first (vary cookie values per access level are few).</summary>
    internal const int MaxVariantsPerKey = 16;

    private const int StackKeyChars = 512;

    /// <summary>Invalidations remembered at most; past that, expired ones are dropped, then all (see <see cref="_forgottenBefore"/>).</summary>
    private const int MaxRememberedInvalidations = 4096;

    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Slot>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly Lock _gate = new();
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private readonly long _maxStalenessTicks;

    // Guarded by _gate: when each recently invalidated key was invalidated (UTC ticks), and the newest invalidation
    // forgotten before its time; an entry fetched no later than either is refused.
    private readonly Dictionary<string, long> _invalidatedAt = new(StringComparer.Ordinal);
    private long _forgottenBefore = long.MinValue;

    // Guarded by _gate; read without it only for reporting.
    private Slot? _hand;
    private int _count;
    private long _bytes;
    private long _evictions;

    public NearResponseCache(TurbocacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxEntries = options.NearCacheMaxEntries;
        _maxBytes = options.NearCacheMaxBytes;
        _maxStalenessTicks = options.NearCacheMaxStaleness.Ticks;
        _bySpan = _slots.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Entries (variants) held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>What the entries cost (<see cref="EntryCost"/>).</summary>
    public long BytesHeld => Interlocked.Read(ref _bytes);

    /// <summary>Entries evicted to stay within bounds since start.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Finds the fresh variant of <paramref name="key"/> that <paramref name="requestHeaders"/> select; never allocates.</summary>
    public bool TryGet(scoped in CacheKeyParts key, IHeaderDictionary requestHeaders, DateTimeOffset now,
        [NotNullWhen(true)] out CachedResponse? entry)
    {
        int length = key.Length;
        char[]? rented = null;
        Span<char> buffer = length <= StackKeyChars ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            int written = key.Format(buffer);
            if (_bySpan.TryGetValue(buffer[..written], out var slot))
                return TryGet(slot, requestHeaders, now, out entry);
            entry = null;
            return false;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <inheritdoc cref="TryGet(in CacheKeyParts, IHeaderDictionary, DateTimeOffset, out CachedResponse?)"/>
    public bool TryGet(CacheKey key, IHeaderDictionary requestHeaders, DateTimeOffset now, [NotNullWhen(true)] out CachedResponse? entry)
    {
        if (_slots.TryGetValue(key.Value, out var slot))
            return TryGet(slot, requestHeaders, now, out entry);
        entry = null;
        return false;
    }

    /// <summary>Holds <paramref name="entry"/>, fetched just now, under its variant of <paramref name="key"/>.</summary>
    public void Set(CacheKey key, CachedResponse entry, DateTimeOffset now) => Set(key, entry, now, now);

    /// <summary>
    /// Holds <paramref name="entry"/> under its variant of <paramref name="key"/>, replacing an equal variant; stale or
    /// oversized entries are ignored, and so is one fetched no later than the key's last invalidation.
    /// </summary>
    /// <param name="fetchedAt">When the lookup or fill that brought the entry started: its time in this cache counts from then.</param>
    public void Set(CacheKey key, CachedResponse entry, DateTimeOffset fetchedAt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        long cost = EntryCost.OfNearVariant(entry);
        if (_maxEntries <= 0 || cost + EntryCost.OfNearKey(key.Value) > _maxBytes || !entry.IsFresh(now)
            || now.UtcTicks - fetchedAt.UtcTicks > _maxStalenessTicks)
            return;

        var stored = new Stored(entry, fetchedAt.UtcTicks, cost);
        lock (_gate)
        {
            if (fetchedAt.UtcTicks <= _forgottenBefore
                || (_invalidatedAt.TryGetValue(key.Value, out var invalidatedAt) && fetchedAt.UtcTicks <= invalidatedAt))
                return;
            if (!_slots.TryGetValue(key.Value, out var slot))
            {
                slot = new Slot(key.Value);
                _slots[key.Value] = slot;
                Link(slot);
                Interlocked.Add(ref _bytes, EntryCost.OfNearKey(slot.Key));
            }

            var old = slot.Variants;
            var next = new List<Stored>(Math.Min(old.Length + 1, MaxVariantsPerKey));
            foreach (var variant in old)
            {
                if (!variant.Entry.Variant.Equals(entry.Variant))
                    next.Add(variant);
            }
            while (next.Count >= MaxVariantsPerKey)
                next.RemoveAt(0);
            next.Add(stored);
            Account(old, -1);
            slot.Variants = next.ToArray();
            Account(slot.Variants, +1);

            EvictWhileOverBudget();
        }
    }

    /// <summary>
    /// Drops every variant of <paramref name="key"/> (an unsafe request here or on another gateway) and refuses, for
    /// NearCacheMaxStaleness, any copy fetched until <paramref name="now"/>. True if it held any.
    /// </summary>
    public bool Invalidate(CacheKey key, DateTimeOffset now)
    {
        lock (_gate)
        {
            RememberInvalidation(key.Value, now.UtcTicks);
            if (!_slots.TryGetValue(key.Value, out var slot))
                return false;
            Remove(slot);
            return true;
        }
    }

    private void RememberInvalidation(string key, long at)
    {
        _invalidatedAt[key] = Math.Max(at, _invalidatedAt.GetValueOrDefault(key, long.MinValue));
        if (_invalidatedAt.Count <= MaxRememberedInvalidations)
            return;
        // An invalidation older than the staleness bound refuses nothing a Set would still accept.
        long expired = at - _maxStalenessTicks;
        foreach (var (remembered, time) in _invalidatedAt)
        {
            if (time < expired)
                _invalidatedAt.Remove(remembered);
        }
        if (_invalidatedAt.Count <= MaxRememberedInvalidations)
            return;
        // Too many at once: forget them all, and refuse every entry fetched before the newest of them instead.
        foreach (var time in _invalidatedAt.Values)
            _forgottenBefore = Math.Max(_forgottenBefore, time);
        _invalidatedAt.Clear();
    }

    public void Clear()
    {
        lock (_gate)
        {
            foreach (var slot in _slots.Values)
                slot.Variants = [];
            _slots.Clear();
            _hand = null;
            Volatile.Write(ref _count, 0);
            Interlocked.Exchange(ref _bytes, 0);
        }
    }

    /// <summary>Drops entries that can no longer be served (expired or past the staleness bound); returns how many. Call it from a timer.</summary>
    public int Sweep(DateTimeOffset now)
    {
        int dropped = 0;
        lock (_gate)
        {
            foreach (var slot in _slots.Values)
            {
                var old = slot.Variants;
                var kept = Array.FindAll(old, v => IsServable(v, now));
                if (kept.Length == old.Length)
                    continue;
                dropped += old.Length - kept.Length;
                if (kept.Length == 0)
                {
                    Remove(slot);
                }
                else
                {
                    Account(old, -1);
                    slot.Variants = kept;
                    Account(kept, +1);
                }
            }
        }
        return dropped;
    }

    private bool TryGet(Slot slot, IHeaderDictionary requestHeaders, DateTimeOffset now, [NotNullWhen(true)] out CachedResponse? entry)
    {
        var variants = slot.Variants;
        // Newest first; when the newest matching variant is unusable an older one would be even more outdated.
        for (int i = variants.Length - 1; i >= 0; i--)
        {
            var candidate = variants[i];
            if (!candidate.Entry.Variant.Matches(requestHeaders))
                continue;
            if (!IsServable(candidate, now))
                break;
            if (!slot.Referenced)
                slot.Referenced = true; // only write when it changes: keeps hot slots' cache lines shared
            entry = candidate.Entry;
            return true;
        }
        entry = null;
        return false;
    }

    private bool IsServable(Stored stored, DateTimeOffset now) =>
        now.UtcTicks - stored.FetchedAtTicks <= _maxStalenessTicks && stored.Entry.IsFresh(now);

    private void EvictWhileOverBudget()
    {
        while ((_count > _maxEntries || _bytes > _maxBytes) && _hand is { } slot)
        {
            _hand = slot.Next;
            if (slot.Referenced)
            {
                slot.Referenced = false; // second chance
                continue;
            }
            Interlocked.Add(ref _evictions, slot.Variants.Length);
            Remove(slot);
        }
    }

    private void Remove(Slot slot)
    {
        _slots.TryRemove(slot.Key, out _);
        Unlink(slot);
        Interlocked.Add(ref _bytes, -EntryCost.OfNearKey(slot.Key));
        Account(slot.Variants, -1);
        slot.Variants = []; // readers already holding the slot miss from now on
    }

    private void Account(Stored[] variants, int sign)
    {
        long bytes = 0;
        foreach (var variant in variants)
            bytes += variant.Cost;
        Volatile.Write(ref _count, _count + sign * variants.Length);
        Interlocked.Add(ref _bytes, sign * bytes);
    }

    // The CLOCK ring: a circular doubly-linked list; new slots go just behind the hand, so they are examined last.
    private void Link(Slot slot)
    {
        if (_hand is null)
        {
            slot.Next = slot.Previous = slot;
            _hand = slot;
            return;
        }
        slot.Next = _hand;
        slot.Previous = _hand.Previous;
        _hand.Previous!.Next = slot;
        _hand.Previous = slot;
    }

    private void Unlink(Slot slot)
    {
        if (slot.Next is null)
            return;
        if (slot.Next == slot)
        {
            _hand = null;
        }
        else
        {
            slot.Previous!.Next = slot.Next;
            slot.Next.Previous = slot.Previous;
            if (_hand == slot)
                _hand = slot.Next;
        }
        slot.Next = slot.Previous = null;
    }

    private sealed class Slot(string key)
    {
        public readonly string Key = key;
        public volatile Stored[] Variants = [];

        /// <summary>CLOCK reference bit; racy by design (a lost update only costs a second chance).</summary>
        public bool Referenced;

        public Slot? Next;
        public Slot? Previous;
    }

    private sealed record Stored(CachedResponse Entry, long FetchedAtTicks, long Cost);
}
