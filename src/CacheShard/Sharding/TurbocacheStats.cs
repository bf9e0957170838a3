using System.Collections.Concurrent;
using Porter.CacheShard.Policy;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Sharding;

/// <summary>The node's turbocache counters per app (a DI singleton): entities and the gateway record into the same <see cref="TurbocacheCounters"/>.</summary>
/// <remarks>
/// Counters are per node: a cluster-wide view sums the nodes' snapshots. Finding an app's counters from a key reads
/// the key's app prefix in place through a span-keyed lookup, so the request path does not allocate once the app is known.
/// </remarks>
public sealed class TurbocacheStats
{
    private static readonly TurbocacheCounters Empty = new();

    private readonly ConcurrentDictionary<string, TurbocacheCounters> _apps = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TurbocacheCounters>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public TurbocacheStats() => _bySpan = _apps.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The counters of <paramref name="app"/>, created on first use.</summary>
    public TurbocacheCounters For(AppName app) => For(app.Value.AsSpan());

    /// <summary>The counters of the app a key belongs to.</summary>
    public TurbocacheCounters For(CacheKey key) => For(AppOf(key));

    /// <summary>The app part of a key: the text before its first space (see <see cref="CacheKey"/>'s canonical form).</summary>
    public static ReadOnlySpan<char> AppOf(CacheKey key)
    {
        var text = (key.Value ?? "").AsSpan();
        int space = text.IndexOf(' ');
        return space < 0 ? text : text[..space];
    }

    /// <summary>A snapshot of <paramref name="app"/>'s counters (all zero when the app has not used the cache).</summary>
    public TurbocacheSnapshot Snapshot(AppName app) =>
        _bySpan.TryGetValue(app.Value.AsSpan(), out var counters) ? counters.Snapshot() : Empty.Snapshot();

    /// <summary>Snapshots of every app that has used the cache on this node, by app name.</summary>
    public IReadOnlyDictionary<string, TurbocacheSnapshot> Snapshot()
    {
        var snapshots = new SortedDictionary<string, TurbocacheSnapshot>(StringComparer.Ordinal);
        foreach (var (app, counters) in _apps)
            snapshots[app] = counters.Snapshot();
        return snapshots;
    }

    private TurbocacheCounters For(ReadOnlySpan<char> app) =>
        _bySpan.TryGetValue(app, out var counters) ? counters : _apps.GetOrAdd(app.ToString(), static _ => new TurbocacheCounters());
}
