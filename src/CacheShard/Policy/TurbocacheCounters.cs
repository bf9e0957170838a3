namespace Porter.CacheShard.Policy;

/// <summary>Per-app turbocache counters, updated lock-free from any thread and read as a consistent-enough snapshot.</summary>
public sealed class TurbocacheCounters
{
    private static readonly RefusalReason[] Reasons = Enum.GetValues<RefusalReason>();

    private readonly long[] _refusals = new long[Reasons.Length];
    private long _lookups;
    private long _hits;
    private long _staleHits;
    private long _misses;
    private long _bypasses;
    private long _stores;
    private long _revalidations;
    private long _evictions;
    private long _invalidations;
    private long _bytesHeld;
    private long _coalescedWaits;

    public void RecordLookup() => Interlocked.Increment(ref _lookups);

    public void RecordHit() => Interlocked.Increment(ref _hits);

    public void RecordStaleHit() => Interlocked.Increment(ref _staleHits);

    public void RecordMiss() => Interlocked.Increment(ref _misses);

    public void RecordBypass() => Interlocked.Increment(ref _bypasses);

    /// <summary>A response was stored, costing <paramref name="bytes"/>; <paramref name="replacedBytes"/> is the cost of the variant it replaced, if any (see EntryCost).</summary>
    public void RecordStore(long bytes, long replacedBytes = 0)
    {
        Interlocked.Increment(ref _stores);
        Interlocked.Add(ref _bytesHeld, bytes - replacedBytes);
    }

    public void RecordRefusal(RefusalReason reason)
    {
        if (reason != RefusalReason.None)
            Interlocked.Increment(ref _refusals[(int)reason]);
    }

    public void RecordRevalidation() => Interlocked.Increment(ref _revalidations);

    /// <summary>Entries dropped to stay within the memory bound.</summary>
    public void RecordEviction(int entries, long bytes)
    {
        Interlocked.Add(ref _evictions, entries);
        Interlocked.Add(ref _bytesHeld, -bytes);
    }

    /// <summary>Entries dropped by an unsafe request or an explicit purge.</summary>
    public void RecordInvalidation(int entries, long bytes)
    {
        Interlocked.Add(ref _invalidations, entries);
        Interlocked.Add(ref _bytesHeld, -bytes);
    }

    /// <summary>Entries dropped because they expired or passivated: only the bytes change.</summary>
    public void RecordRelease(long bytes) => Interlocked.Add(ref _bytesHeld, -bytes);

    public void RecordCoalescedWait() => Interlocked.Increment(ref _coalescedWaits);

    public TurbocacheSnapshot Snapshot()
    {
        var refusals = new Dictionary<RefusalReason, long>();
        foreach (var reason in Reasons)
        {
            long count = Interlocked.Read(ref _refusals[(int)reason]);
            if (count != 0)
                refusals[reason] = count;
        }
        return new TurbocacheSnapshot(
            Interlocked.Read(ref _lookups), Interlocked.Read(ref _hits), Interlocked.Read(ref _staleHits),
            Interlocked.Read(ref _misses), Interlocked.Read(ref _bypasses), Interlocked.Read(ref _stores),
            Interlocked.Read(ref _revalidations), Interlocked.Read(ref _evictions), Interlocked.Read(ref _invalidations),
            Interlocked.Read(ref _bytesHeld), Interlocked.Read(ref _coalescedWaits), refusals);
    }
}

/// <summary>A point-in-time copy of <see cref="TurbocacheCounters"/>; <see cref="Refusals"/> lists only reasons seen.</summary>
public sealed record TurbocacheSnapshot(
    long Lookups, long Hits, long StaleHits, long Misses, long Bypasses, long Stores, long Revalidations,
    long Evictions, long Invalidations, long BytesHeld, long CoalescedWaits,
    IReadOnlyDictionary<RefusalReason, long> Refusals)
{
    public long TotalRefusals => Refusals.Values.Sum();
}
