using Akka.Actor;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Sharding;

/// <summary>
/// Bounds the body bytes that the cache entities of one node hold together (<see cref="TurbocacheOptions.MaxTotalBytes"/>):
/// a DI singleton shared by the node's entities, evicting the least recently used entities' entries when over budget.
/// </summary>
/// <remarks>
/// Each entity reports its absolute byte total after every change (<see cref="Update"/>) and touches the ledger on
/// every lookup (<see cref="Touch"/>). Records sit in a recency list under one lock: every operation is O(1), and
/// entity messages are far rarer than near-cache hits, so exact LRU costs little here (the near cache, on the hit
/// path, approximates it with CLOCK instead).
/// Eviction removes the record and deducts its bytes at once, then tells the entity <see cref="Evict"/>; the entity
/// drops its variants and reports 0. Because reports are absolute, a store that races the eviction (re-adding a
/// record before the entity sees <see cref="Evict"/>) is reconciled by that report of 0. Records are keyed by the
/// entity's actor ref, not by its key, so a passivated incarnation and its successor never share a record.
/// </remarks>
public sealed class CacheMemoryLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IActorRef, LinkedListNode<Record>> _records = new();
    private readonly LinkedList<Record> _recency = new(); // least recently used first
    private long _totalBytes;
    private long _evictedEntities;

    public CacheMemoryLedger(TurbocacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        MaxTotalBytes = options.MaxTotalBytes;
    }

    /// <summary>Told to an entity whose entries the ledger evicted (its bytes are already deducted).</summary>
    public sealed class Evict
    {
        public static readonly Evict Instance = new();

        private Evict()
        {
        }
    }

    public long MaxTotalBytes { get; }

    /// <summary>Body bytes held by this node's entities.</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Entities holding at least one byte.</summary>
    public int Entities
    {
        get
        {
            lock (_gate)
                return _records.Count;
        }
    }

    /// <summary>Entities evicted since start.</summary>
    public long EvictedEntities => Interlocked.Read(ref _evictedEntities);

    /// <summary>The bytes recorded for <paramref name="entity"/> (0 when it holds nothing or was evicted).</summary>
    public long BytesOf(IActorRef entity)
    {
        lock (_gate)
            return _records.TryGetValue(entity, out var node) ? node.Value.Bytes : 0;
    }

    /// <summary>Records that <paramref name="entity"/> now holds <paramref name="bytes"/> body bytes and was just used; evicts least recently used entities while the node is over budget.</summary>
    /// <remarks>The entity just updated is the most recently used, so it is evicted only if it alone exceeds the budget.</remarks>
    public void Update(IActorRef entity, long bytes)
    {
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        List<IActorRef>? evicted = null;
        lock (_gate)
        {
            if (_records.TryGetValue(entity, out var node))
            {
                Interlocked.Add(ref _totalBytes, bytes - node.Value.Bytes);
                if (bytes == 0)
                {
                    _records.Remove(entity);
                    _recency.Remove(node);
                    return;
                }
                node.Value.Bytes = bytes;
                MoveToBack(node);
            }
            else if (bytes > 0)
            {
                _records.Add(entity, _recency.AddLast(new Record(entity, bytes)));
                Interlocked.Add(ref _totalBytes, bytes);
            }

            while (_totalBytes > MaxTotalBytes && _recency.First is { } oldest)
            {
                _recency.RemoveFirst();
                _records.Remove(oldest.Value.Entity);
                Interlocked.Add(ref _totalBytes, -oldest.Value.Bytes);
                Interlocked.Increment(ref _evictedEntities);
                (evicted ??= []).Add(oldest.Value.Entity);
            }
        }

        // Told outside the lock: delivery may run arbitrary mailbox code for local actors.
        if (evicted is not null)
        {
            foreach (var victim in evicted)
                victim.Tell(Evict.Instance, ActorRefs.NoSender);
        }
    }

    /// <summary>Marks <paramref name="entity"/> as just used; a no-op when it holds nothing.</summary>
    public void Touch(IActorRef entity)
    {
        lock (_gate)
        {
            if (_records.TryGetValue(entity, out var node))
                MoveToBack(node);
        }
    }

    private void MoveToBack(LinkedListNode<Record> node)
    {
        if (node.Next is null)
            return;
        _recency.Remove(node);
        _recency.AddLast(node);
    }

    private sealed class Record(IActorRef entity, long bytes)
    {
        public readonly IActorRef Entity = entity;
        public long Bytes = bytes;
    }
}
