using Akka.Actor;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Sharding;

/// <summary>
/// Bounds the memory that the cache stores of one node hold together (<see cref="TurbocacheOptions.MaxTotalBytes"/>, in
/// <see cref="EntryCost"/>: keys, header blocks, bodies and the objects around them): a DI singleton shared by the node's
/// cache entities, evicting the least recently used keys' entries when over budget.
/// </summary>
/// <remarks>
/// Each cached key is one <see cref="Record"/> (the store's own per-key state derives from it, so the ledger adds no
/// object per key): its owner reports the key's absolute byte total after every change (<see cref="Update"/>) and
/// touches it on every lookup (<see cref="Touch"/>). Records sit in an intrusive recency list under one lock: every
/// operation is O(1), and store messages are far rarer than near-cache hits, so exact LRU costs little here (the
/// near cache, on the hit path, approximates it with CLOCK instead).
/// Eviction unlinks the record and deducts its bytes at once, then tells its owner <see cref="Evict"/>; the owner
/// drops that key's variants and reports 0. Because reports are absolute, a store that races the eviction (re-adding
/// the record before the owner sees <see cref="Evict"/>) is reconciled by that report of 0.
/// </remarks>
public sealed class CacheMemoryLedger
{
    private readonly Lock _gate = new();
    private Record? _oldest; // the recency list: least recently used first
    private Record? _newest;
    private int _records;
    private long _totalBytes;
    private long _evictedEntities;

    public CacheMemoryLedger(TurbocacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        MaxTotalBytes = options.MaxTotalBytes;
    }

    /// <summary>One key's place in the ledger; the links and byte count belong to the ledger and change under its lock.</summary>
    /// <param name="owner">The actor told <see cref="Evict"/> when the ledger evicts this record.</param>
    public class Record(IActorRef owner)
    {
        internal Record? Older;
        internal Record? Newer;
        internal long Bytes;

        // In the recency list: linked to a neighbour, or its only member.
        internal bool Linked(CacheMemoryLedger ledger) => Older is not null || ReferenceEquals(ledger._oldest, this);

        public IActorRef Owner { get; } = owner ?? throw new ArgumentNullException(nameof(owner));
    }

    /// <summary>Told to the owner of a record the ledger evicted (its bytes are already deducted).</summary>
    public sealed class Evict(Record record)
    {
        public Record Record { get; } = record;
    }

    public long MaxTotalBytes { get; }

    /// <summary>What this node's cache stores hold, in <see cref="EntryCost"/>.</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Keys holding at least one byte.</summary>
    public int Entities => Volatile.Read(ref _records);

    /// <summary>Keys evicted since start.</summary>
    public long EvictedEntities => Interlocked.Read(ref _evictedEntities);

    /// <summary>The bytes recorded for <paramref name="record"/> (0 when it holds nothing or was evicted).</summary>
    public long BytesOf(Record record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
            return record.Linked(this) ? record.Bytes : 0;
    }

    /// <summary>Records that <paramref name="record"/> now costs <paramref name="bytes"/> and was just used; evicts least recently used records while the node is over budget.</summary>
    /// <remarks>The record just updated is the most recently used, so it is evicted only if it alone exceeds the budget.</remarks>
    public void Update(Record record, long bytes)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        List<Record>? evicted = null;
        lock (_gate)
        {
            if (record.Linked(this))
            {
                Interlocked.Add(ref _totalBytes, bytes - record.Bytes);
                Unlink(record);
                if (bytes == 0)
                    return;
                record.Bytes = bytes;
                LinkNewest(record);
            }
            else if (bytes > 0)
            {
                record.Bytes = bytes;
                LinkNewest(record);
                Interlocked.Add(ref _totalBytes, bytes);
            }

            while (_totalBytes > MaxTotalBytes && _oldest is { } oldest)
            {
                Unlink(oldest);
                Interlocked.Add(ref _totalBytes, -oldest.Bytes);
                Interlocked.Increment(ref _evictedEntities);
                (evicted ??= []).Add(oldest);
            }
        }

        // Told outside the lock: delivery may run arbitrary mailbox code for local actors.
        if (evicted is not null)
        {
            foreach (var victim in evicted)
                victim.Owner.Tell(new Evict(victim), ActorRefs.NoSender);
        }
    }

    /// <summary>Marks <paramref name="record"/> as just used; a no-op when it holds nothing.</summary>
    public void Touch(Record record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            if (record.Newer is not null && record.Linked(this))
            {
                Unlink(record);
                LinkNewest(record);
            }
        }
    }

    private void LinkNewest(Record record)
    {
        record.Older = _newest;
        record.Newer = null;
        if (_newest is null)
            _oldest = record;
        else
            _newest.Newer = record;
        _newest = record;
        _records++;
    }

    private void Unlink(Record record)
    {
        if (record.Older is null)
            _oldest = record.Newer;
        else
            record.Older.Newer = record.Newer;
        if (record.Newer is null)
            _newest = record.Older;
        else
            record.Newer.Older = record.Older;
        record.Older = record.Newer = null;
        _records--;
    }
}
