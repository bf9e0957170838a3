namespace Porter.CacheShard.Policy;

/// <summary>Values of the cache status header (<c>X-Cache</c> by default), as interned strings so setting one does not allocate.</summary>
public static class CacheStatus
{
    /// <summary>Served from a fresh entry.</summary>
    public const string Hit = "HIT";

    /// <summary>Fetched from the app (and stored if storable).</summary>
    public const string Miss = "MISS";

    /// <summary>Served from a stale entry (stale-while-revalidate or stale-if-error).</summary>
    public const string Stale = "STALE";

    /// <summary>The cache was not consulted (request directives, unsafe or uncacheable method).</summary>
    public const string Bypass = "BYPASS";
}
