namespace Porter.Contracts.Caching;

/// <summary>Node-wide turbocache settings (section <c>Porter:Turbocache</c>); apps opt out with <c>DisableTurbocaching</c>.</summary>
public sealed class TurbocacheOptions
{
    public const string Section = "Porter:Turbocache";

    /// <summary>Master switch (<c>--disable-turbocaching</c> turns it off).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Largest body stored per entry; larger responses stream through uncached.</summary>
    public long MaxBodyBytes { get; set; } = 1L << 20;

    /// <summary>Memory a cache node's entries may take (keys, headers, bodies and a fixed overhead each) before the least recently used are evicted.</summary>
    public long MaxTotalBytes { get; set; } = 256L << 20;

    /// <summary>Entries (variants) a gateway's near cache holds.</summary>
    public int NearCacheMaxEntries { get; set; } = 4096;

    /// <summary>Memory a gateway's near cache may take, counted as for <see cref="MaxTotalBytes"/>.</summary>
    public long NearCacheMaxBytes { get; set; } = 64L << 20;

    /// <summary>
    /// How long after its lookup or fill started an entry may be served from a near cache before it must be fetched
    /// again; also how long an unsafe request waits for a gateway that does not confirm its invalidation.
    /// </summary>
    public TimeSpan NearCacheMaxStaleness { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a request waits for its key's cache entity to answer a lookup or an invalidation before it goes on
    /// without it (to the app, as BYPASS); the entity's shard is then skipped until it answers a background probe.
    /// </summary>
    /// <remarks>
    /// Measured on a loaded 2-core machine (bench/RESULTS.md): a lookup at another node's entity takes 1-2 ms (median),
    /// 6-21 ms at the 99th percentile, rarely over 60 ms; at this node's own entity a fraction of a millisecond.
    /// </remarks>
    public TimeSpan LookupBudget { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Cap on heuristic freshness (10% of the Last-Modified age), used only for responses marked public.</summary>
    /// <remarks>24 h: the point past which RFC 7234 required a heuristic hit to carry a warning.</remarks>
    public TimeSpan HeuristicMaxLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Response header that reports HIT, MISS, STALE or BYPASS; null or empty turns it off.</summary>
    public string? CacheStatusHeader { get; set; } = "X-Cache";

    /// <summary>How long a request waits for a coalesced fill on the same key before going to the app itself (nginx's proxy_cache_lock_timeout).</summary>
    public TimeSpan CoalesceWaitTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a key skips coalescing after its fill turned out to be uncacheable.</summary>
    public TimeSpan PassThroughTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a cached key may go without lookups before its store releases its entries.</summary>
    /// <remarks>The turbocache is an L1 cache of hot keys: an idle key's memory is worth more to the hot ones.</remarks>
    public TimeSpan EntityIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Problems with the settings, one sentence each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxBodyBytes <= 0)
            errors.Add($"Turbocache MaxBodyBytes must be positive (got {MaxBodyBytes}).");
        if (MaxTotalBytes < MaxBodyBytes)
            errors.Add($"Turbocache MaxTotalBytes ({MaxTotalBytes}) must be at least MaxBodyBytes ({MaxBodyBytes}).");
        if (NearCacheMaxEntries < 0)
            errors.Add($"Turbocache NearCacheMaxEntries must not be negative (got {NearCacheMaxEntries}).");
        if (NearCacheMaxBytes < 0)
            errors.Add($"Turbocache NearCacheMaxBytes must not be negative (got {NearCacheMaxBytes}).");
        if (NearCacheMaxStaleness < TimeSpan.Zero)
            errors.Add($"Turbocache NearCacheMaxStaleness must not be negative (got {NearCacheMaxStaleness}).");
        if (HeuristicMaxLifetime < TimeSpan.Zero)
            errors.Add($"Turbocache HeuristicMaxLifetime must not be negative (got {HeuristicMaxLifetime}).");
        if (LookupBudget <= TimeSpan.Zero)
            errors.Add($"Turbocache LookupBudget must be positive (got {LookupBudget}).");
        if (CoalesceWaitTimeout <= TimeSpan.Zero)
            errors.Add($"Turbocache CoalesceWaitTimeout must be positive (got {CoalesceWaitTimeout}).");
        if (PassThroughTime < TimeSpan.Zero)
            errors.Add($"Turbocache PassThroughTime must not be negative (got {PassThroughTime}).");
        if (EntityIdleTimeout <= TimeSpan.Zero)
            errors.Add($"Turbocache EntityIdleTimeout must be positive (got {EntityIdleTimeout}).");
        if (!string.IsNullOrEmpty(CacheStatusHeader) && CacheStatusHeader.Any(c => c <= ' ' || c == ':' || c >= 127))
            errors.Add($"Turbocache CacheStatusHeader '{CacheStatusHeader}' is not a valid header name.");
        return errors;
    }
}
