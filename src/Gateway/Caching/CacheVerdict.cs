using Porter.CacheShard.Policy;

namespace Porter.Gateway.Caching;

/// <summary>
/// The turbocache's own verdict on a request, kept as a request feature for the request metrics. The metrics never
/// read the cache status response header: an app can set that header itself, to any value.
/// </summary>
public sealed class CacheVerdict
{
    public static readonly CacheVerdict Hit = new(CacheStatus.Hit);
    public static readonly CacheVerdict Miss = new(CacheStatus.Miss);
    public static readonly CacheVerdict Stale = new(CacheStatus.Stale);
    public static readonly CacheVerdict Bypass = new(CacheStatus.Bypass);

    private CacheVerdict(string status) => Status = status;

    /// <summary>One of the <see cref="CacheStatus"/> values.</summary>
    public string Status { get; }

    /// <summary>The shared instance for a <see cref="CacheStatus"/> value (setting the feature allocates nothing).</summary>
    public static CacheVerdict Of(string status) => status switch
    {
        CacheStatus.Hit => Hit,
        CacheStatus.Stale => Stale,
        CacheStatus.Bypass => Bypass,
        _ => Miss,
    };
}
