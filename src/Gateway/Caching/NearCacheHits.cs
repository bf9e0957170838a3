using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Porter.CacheShard.NearCache;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Hosting.Edge;

namespace Porter.Gateway.Caching;

/// <summary>
/// The apps with the turbocache on, and the answer from this gateway's near cache that both the turbocache step and
/// the <see cref="NearHitMiddleware"/> in front of the pipeline give: no actor round trip, no allocation.
/// </summary>
public sealed class NearCacheHits
{
    private readonly NearResponseCache _near;
    private readonly TimeProvider _clock;
    private readonly FrozenDictionary<string, AppCachePolicy> _apps;

    public NearCacheHits(TurbocacheOptions options, AppResolver apps, NearResponseCache near, TurbocacheStats stats, TimeProvider clock)
    {
        _near = near;
        _clock = clock;
        StatusHeader = string.IsNullOrEmpty(options.CacheStatusHeader) ? null : options.CacheStatusHeader;
        _apps = apps.All
            .Where(r => options.Enabled && !r.App.DisableTurbocaching)
            .ToFrozenDictionary(r => r.App.Name, r => new AppCachePolicy(r.App.Name, options, r.App.VaryTurbocacheByCookie, stats.For(r.App.AppName)));
    }

    /// <summary>The response header that tells the client how the cache answered, or null when turned off.</summary>
    public string? StatusHeader { get; }

    /// <summary>The cache policy of an app with the turbocache on.</summary>
    internal bool TryGetPolicy(string app, out AppCachePolicy policy) => _apps.TryGetValue(app, out policy!);

    /// <summary>
    /// Answers a lookup from the near cache when it holds a variant this request may use; counts the lookup and the
    /// hit only then, so a caller that goes on to the cache entity counts its own lookup.
    /// </summary>
    internal bool TryServe(HttpContext context, AppCachePolicy policy, in RequestEvaluation evaluation, out Task written)
    {
        var now = _clock.GetUtcNow();
        var request = context.Request;
        RequestTarget.Split(context, out var path, out var query);
        var parts = new CacheKeyParts(policy.App, request.Scheme, request.Host.Value, path, query);
        if (!_near.TryGet(parts, request.Headers, now, out var hot) || !evaluation.CanUse(hot, now))
        {
            written = Task.CompletedTask;
            return false;
        }
        policy.Counters.RecordLookup();
        policy.Counters.RecordHit();
        written = CachedResponseWriter.WriteAsync(context, hot, now, StatusHeader, CacheStatus.Hit);
        return true;
    }
}
