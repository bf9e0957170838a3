using System.Buffers;
using System.Collections.Concurrent;
using Porter.Contracts.Ids;

namespace Porter.Gateway.Caching;

/// <summary>
/// Keys this gateway recently found uncacheable ("hit-for-pass", as Varnish calls it): their requests go straight to
/// the app for a while instead of asking the key's cache entity first. A storable answer clears the mark.
/// </summary>
internal sealed class PassThroughKeys(TimeSpan duration, int maxKeys = 10_000)
{
    private const int StackLimit = 512;
    private readonly ConcurrentDictionary<string, long> _until = new(StringComparer.Ordinal);

    /// <summary>True while the key is marked; formats the key on the stack, so a check allocates nothing.</summary>
    public bool Contains(scoped in CacheKeyParts key, DateTimeOffset now)
    {
        if (_until.IsEmpty) return false;
        char[]? rented = null;
        var buffer = key.Length <= StackLimit ? stackalloc char[key.Length] : (rented = ArrayPool<char>.Shared.Rent(key.Length));
        try
        {
            var text = buffer[..key.Format(buffer)];
            return _until.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var until) && until > now.UtcTicks;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    public void Mark(CacheKey key, DateTimeOffset now)
    {
        if (duration <= TimeSpan.Zero) return;
        // A bound, not an LRU: losing marks only costs a few entity round trips.
        if (_until.Count >= maxKeys) _until.Clear();
        _until[key.Value] = (now + duration).UtcTicks;
    }

    public void Clear(CacheKey key) => _until.TryRemove(key.Value, out _);
}
