using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using Porter.Gateway.Edge;
using Porter.Workers.Dispatching;
using Porter.Hosting.Edge;

namespace Porter.Gateway.Caching;

/// <summary>
/// The turbocache on the request path. A hit on a hot key is answered from this gateway's near cache without an
/// actor round trip or allocation; otherwise the key's cache entity (Akka.Cluster.Sharding) decides who fetches
/// from the app (one filler per key, the rest wait), and storable answers are kept on the way to the client.
/// Unsafe requests invalidate the URI (and same-host Location / Content-Location) before their response starts, at
/// the entity and then in every gateway's near cache.
/// </summary>
/// <remarks>
/// No request waits on an entity longer than <see cref="TurbocacheOptions.LookupBudget"/> (a shard that has not answered
/// this gateway yet may be being allocated: <see cref="ShardBreakers.FirstAnswerBudget"/>), and none on a shard whose
/// breaker is open (<see cref="ShardBreakers"/>): such requests go to the app as BYPASS. A coalesced wait is bounded
/// by <see cref="TurbocacheOptions.CoalesceWaitTimeout"/> and ends early when the shard's breaker trips.
/// </remarks>
public sealed class TurbocacheMiddleware
{
    private readonly RequestDelegate _next;
    private readonly NearCacheHits _hits;
    private readonly NearResponseCache _near;
    private readonly IActorRef _entities;
    private readonly ShardBreakers _breakers;
    private readonly NearCacheInvalidation _nearInvalidation;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly TimeSpan _budget;
    private readonly TimeSpan _joinTimeout;
    private readonly PassThroughKeys _passThrough;
    // Request ids: random per gateway (ids from different gateways never meet in practice), then counted up.
    private long _lastRequestId = Random.Shared.NextInt64();

    public TurbocacheMiddleware(RequestDelegate next, TurbocacheOptions options, NearCacheHits hits, NearResponseCache near,
        IRequiredActor<CacheEntity> entities, ShardBreakers breakers, NearCacheInvalidation nearInvalidation, TimeProvider clock,
        ILogger<TurbocacheMiddleware> logger)
    {
        _next = next;
        _hits = hits;
        _near = near;
        _entities = entities.ActorRef;
        _breakers = breakers;
        _nearInvalidation = nearInvalidation;
        _clock = clock;
        _logger = logger;
        _budget = options.LookupBudget;
        // The entity ends a fill (and answers its waiters) at the coalescing timeout; the budget covers the answer's way back.
        _joinTimeout = options.CoalesceWaitTimeout + options.LookupBudget;
        _passThrough = new PassThroughKeys(options.PassThroughTime);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var app = context.Features.Get<ResolvedApp>()!.App;
        if (!_hits.TryGetPolicy(app.Name, out var policy)) return _next(context);

        var request = context.Request;
        var evaluation = policy.Request.Evaluate(request.Method, request.Headers);
        switch (evaluation.Disposition)
        {
            case RequestDisposition.Lookup:
                return LookupAsync(context, policy, evaluation);
            case RequestDisposition.Bypass:
                policy.Counters.RecordBypass();
                return FetchAsync(context, policy, evaluation, KeyOf(context, policy), FetchMode.StoreIfStorable, 0, null, null, CacheStatus.Bypass);
            case RequestDisposition.NoStore:
                policy.Counters.RecordBypass();
                policy.Counters.RecordRefusal(evaluation.Refusal);
                SetCacheStatus(context, CacheStatus.Bypass);
                return _next(context);
            case RequestDisposition.Invalidate:
                context.Response.OnStarting(static state => ((InvalidationState)state).Owner.InvalidateAsync((InvalidationState)state),
                    new InvalidationState(this, context, policy));
                return _next(context);
            default:
                return _next(context);
        }
    }

    private Task LookupAsync(HttpContext context, AppCachePolicy policy, RequestEvaluation evaluation)
    {
        if (_hits.TryServe(context, policy, evaluation, out var written)) return written;
        policy.Counters.RecordLookup();
        var now = _clock.GetUtcNow();
        var request = context.Request;
        RequestTarget.Split(context, out var path, out var query);
        var parts = new CacheKeyParts(policy.App, request.Scheme, request.Host.Value, path, query);
        var key = parts.ToKey();
        var shard = _breakers.ShardOf(key);
        if (_breakers.IsOpen(shard)) return BypassAsync(context, policy, evaluation, key);
        if (_passThrough.Contains(parts, now) && !evaluation.OnlyIfCached)
        {
            // Recently uncacheable here: skip the entity round trip; a storable answer is still stored.
            policy.Counters.RecordMiss();
            return FetchAsync(context, policy, evaluation, key, FetchMode.StoreIfStorable, 0, null, null, CacheStatus.Miss);
        }
        return AskEntityAsync(context, policy, evaluation, key, shard, now);
    }

    /// <summary>
    /// Goes to the app without the key's entity: its shard does not answer (or this gateway is stopping). A storable
    /// answer is kept in this gateway's near cache only, so that the app is not asked on every request meanwhile.
    /// </summary>
    private Task BypassAsync(HttpContext context, AppCachePolicy policy, RequestEvaluation evaluation, CacheKey key)
    {
        policy.Counters.RecordBypass();
        if (evaluation.OnlyIfCached) return WriteOnlyIfCachedMissAsync(context);
        return FetchAsync(context, policy, evaluation, key, FetchMode.NearOnly, 0, null, null, CacheStatus.Bypass);
    }

    private async Task AskEntityAsync(HttpContext context, AppCachePolicy policy, RequestEvaluation evaluation, CacheKey key, int shard,
        DateTimeOffset lookedUpAt)
    {
        var requestId = Interlocked.Increment(ref _lastRequestId);
        var lookup = new CacheProtocol.Lookup(key, CacheEntryMapping.RequestHeaders(context.Request.Headers), LookupMode.Normal, requestId);
        var result = await AskAsync(lookup, _breakers.BudgetFor(shard, _budget), shard, context, tripsOnTimeout: true);
        if (result?.Outcome == LookupOutcome.Wait)
            result = await AskAsync(lookup with { Mode = LookupMode.JoinFill }, _joinTimeout, shard, context, tripsOnTimeout: false);
        if (result is null)
        {
            // Unanswered in time: the entity may still have made this request the key's filler, which it now is not.
            _entities.Tell(new CacheProtocol.FillAbandoned(key, PassThrough: false, requestId));
            if (!context.RequestAborted.IsCancellationRequested) await BypassAsync(context, policy, evaluation, key);
            return;
        }

        var entry = result.Entry is { } data ? CacheEntryMapping.ToEntry(data) : null;
        var now = _clock.GetUtcNow();
        switch (result.Outcome)
        {
            case LookupOutcome.Hit when entry is not null && evaluation.CanUse(entry, now):
                policy.Counters.RecordHit();
                _near.Set(key, entry, lookedUpAt, now);
                await CachedResponseWriter.WriteAsync(context, entry, now, StatusHeader, CacheStatus.Hit);
                return;
            case LookupOutcome.Hit when entry is not null && CanServeStale(entry, evaluation, now):
                // Another gateway is refreshing this entry within stale-while-revalidate: serve the stale copy meanwhile.
                policy.Counters.RecordStaleHit();
                _near.Set(key, entry, lookedUpAt, now);
                await CachedResponseWriter.WriteAsync(context, entry, now, StatusHeader, CacheStatus.Stale);
                return;
            case LookupOutcome.StaleRefresh when entry is not null && CanServeStale(entry, evaluation, now):
                policy.Counters.RecordStaleHit();
                StartBackgroundRefresh(context, policy, key, requestId, entry);
                await CachedResponseWriter.WriteAsync(context, entry, now, StatusHeader, CacheStatus.Stale);
                return;
            case LookupOutcome.StaleRefresh:
                // Stale content may not answer this request (Authorization), but the refresh is still ours to do.
                policy.Counters.RecordMiss();
                await FetchAsync(context, policy, evaluation, key, FetchMode.Fill, requestId, null, null, CacheStatus.Miss);
                return;
            case LookupOutcome.Revalidate:
                policy.Counters.RecordMiss();
                policy.Counters.RecordRevalidation();
                await FetchAsync(context, policy, evaluation, key, FetchMode.Fill, requestId, entry, StaleIfErrorFallback(entry, now), CacheStatus.Miss);
                return;
            case LookupOutcome.Fill:
                policy.Counters.RecordMiss();
                if (evaluation.OnlyIfCached)
                {
                    _entities.Tell(new CacheProtocol.FillAbandoned(key, PassThrough: false, requestId));
                    await WriteOnlyIfCachedMissAsync(context);
                    return;
                }
                await FetchAsync(context, policy, evaluation, key, FetchMode.Fill, requestId, null, StaleIfErrorFallback(entry, now), CacheStatus.Miss);
                return;
            default:
                policy.Counters.RecordMiss();
                // Go: the key is pass-through at its entity (or a coalesced wait ran out): remember it locally too.
                _passThrough.Mark(key, now);
                if (evaluation.OnlyIfCached)
                {
                    await WriteOnlyIfCachedMissAsync(context);
                    return;
                }
                await FetchAsync(context, policy, evaluation, key, FetchMode.StoreIfStorable, 0, null, null, CacheStatus.Miss);
                return;
        }
    }

    /// <summary>
    /// Asks the key's entity, waiting at most <paramref name="timeout"/> and not at all once the shard's breaker trips;
    /// null when unanswered (a timeout within the budget trips the shard) or when the client went away.
    /// </summary>
    private async Task<CacheProtocol.LookupResult?> AskAsync(CacheProtocol.Lookup lookup, TimeSpan timeout, int shard, HttpContext context,
        bool tripsOnTimeout)
    {
        using var released = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _breakers.ReleaseToken(shard));
        try
        {
            var result = await _entities.Ask<CacheProtocol.LookupResult>(lookup, timeout, released.Token);
            _breakers.Answered(shard, result.Home);
            return result;
        }
        catch (AskTimeoutException)
        {
            if (tripsOnTimeout) _breakers.Trip(shard, $"a lookup was not answered within {timeout.TotalMilliseconds:F0} ms");
            else _logger.LogInformation("Coalesced wait for {Key} not answered within {Timeout}; going to the app", lookup.Key.Value, timeout);
            return null;
        }
        catch (OperationCanceledException)
        {
            // The client went away, or the shard's breaker tripped while this request waited on it.
            return null;
        }
    }

    private static bool CanServeStale(CachedResponse entry, RequestEvaluation evaluation, DateTimeOffset now) =>
        evaluation.CanLookup && entry.CanServeStaleWhileRevalidate(now) && (!evaluation.HasAuthorization || entry.AllowsAuthorizedRequests);

    private static CachedResponse? StaleIfErrorFallback(CachedResponse? entry, DateTimeOffset now) =>
        entry is not null && entry.CanServeStaleIfError(now) ? entry : null;

    /// <summary>Forwards to the app with a <see cref="CacheExchange"/> watching the answer, then stores or releases the key.</summary>
    /// <param name="requestId">The request id the lookup that made this request the filler carried (for <see cref="FetchMode.Fill"/>).</param>
    internal async Task FetchAsync(HttpContext context, AppCachePolicy policy, RequestEvaluation evaluation, CacheKey key,
        FetchMode mode, long requestId, CachedResponse? revalidating, CachedResponse? staleIfError, string cacheStatus)
    {
        var exchange = new CacheExchange(this, context, policy, evaluation, key, mode, requestId, revalidating, staleIfError, cacheStatus,
            _clock.GetUtcNow());
        context.Features.Set<IUpstreamResponseHook>(exchange);
        // The exchange puts a capture in front of the body only once the answer turns out storable.
        var body = context.Response.Body;
        try
        {
            await _next(context);
        }
        finally
        {
            context.Response.Body = body;
            context.Features.Set<IUpstreamResponseHook?>(null);
        }
        await exchange.CompleteAsync();
    }

    /// <summary>Serves a stale entry now and refreshes it off the request path; the entity made this gateway the one refresher.</summary>
    private void StartBackgroundRefresh(HttpContext context, AppCachePolicy policy, CacheKey key, long requestId, CachedResponse stale)
    {
        var refresh = new DefaultHttpContext();
        var source = context.Request;
        var target = refresh.Request;
        target.Method = HttpMethods.Get;
        target.Scheme = source.Scheme;
        target.Host = source.Host;
        target.PathBase = source.PathBase;
        target.Path = source.Path;
        target.QueryString = source.QueryString;
        // The refresh forwards the target exactly as the client sent it, as the key names it.
        RequestTarget.CopyRaw(context, refresh);
        foreach (var (name, value) in source.Headers)
        {
            // The client's own conditionals and range belong to its request, not to the refresh.
            if (name.StartsWith("If-", StringComparison.OrdinalIgnoreCase) || name.Equals("Range", StringComparison.OrdinalIgnoreCase)) continue;
            target.Headers[name] = value;
        }
        refresh.Connection.RemoteIpAddress = context.Connection.RemoteIpAddress;
        refresh.Features.Set(context.Features.Get<ResolvedApp>());
        refresh.Response.Body = Stream.Null;
        var evaluation = policy.Request.Evaluate(HttpMethods.Get, target.Headers);
        _ = Task.Run(async () =>
        {
            try
            {
                await FetchAsync(refresh, policy, evaluation, key, FetchMode.Fill, requestId, stale.HasValidator ? stale : null, null, CacheStatus.Miss);
            }
            catch (Exception e)
            {
                _entities.Tell(new CacheProtocol.FillAbandoned(key, PassThrough: false, requestId));
                _logger.LogWarning(e, "Background refresh of {Key} failed", key.Value);
            }
        });
    }

    internal void SetCacheStatus(HttpContext context, string status)
    {
        context.Features.Set(CacheVerdict.Of(status));
        if (StatusHeader is not null) context.Response.Headers[StatusHeader] = status;
    }

    internal string? StatusHeader => _hits.StatusHeader;
    internal PassThroughKeys PassThrough => _passThrough;
    internal NearResponseCache Near => _near;
    internal IActorRef Entities => _entities;
    internal TimeProvider Clock => _clock;
    internal ILogger Logger => _logger;

    private Task WriteOnlyIfCachedMissAsync(HttpContext context)
    {
        // RFC 9111 §5.2.1.7: only-if-cached with nothing to serve is answered 504.
        SetCacheStatus(context, CacheStatus.Miss);
        return ErrorResponses.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "Not in the cache (only-if-cached)");
    }

    private static CacheKey KeyOf(HttpContext context, AppCachePolicy policy)
    {
        RequestTarget.Split(context, out var path, out var query);
        return new CacheKeyParts(policy.App, context.Request.Scheme, context.Request.Host.Value, path, query).ToKey();
    }

    private sealed record InvalidationState(TurbocacheMiddleware Owner, HttpContext Context, AppCachePolicy Policy);

    /// <summary>
    /// Runs as the response starts: a 2xx/3xx answer to an unsafe method drops the affected keys here, then at their
    /// entities (each within the budget), then in every other gateway's near cache (see <see cref="NearCacheInvalidation"/>),
    /// so that no gateway serves them once the client has the answer.
    /// </summary>
    private async Task InvalidateAsync(InvalidationState state)
    {
        var context = state.Context;
        var request = context.Request;
        var status = context.Response.StatusCode;
        if (!InvalidationPolicy.Invalidates(request.Method, status)) return;
        var (path, query) = RequestTarget.ToStrings(context);
        var keys = InvalidationPolicy.KeysToInvalidate(request.Method, status, state.Policy.App, request.Scheme,
            request.Host.Value ?? "", path, query, context.Response.Headers);
        var now = _clock.GetUtcNow();
        var drops = new Task[keys.Count];
        for (int i = 0; i < keys.Count; i++)
        {
            _near.Invalidate(keys[i], now);
            drops[i] = InvalidateEntityAsync(keys[i]);
        }
        await Task.WhenAll(drops);
        await _nearInvalidation.InvalidateEverywhereAsync([.. keys]);
    }

    /// <summary>
    /// Drops the key at its entity and waits for the confirmation within the budget. A shard that does not answer is only
    /// told: its node is gone (and its entries with it) or it is handing over (and its successor starts empty).
    /// </summary>
    private async Task InvalidateEntityAsync(CacheKey key)
    {
        var shard = _breakers.ShardOf(key);
        var invalidate = new CacheProtocol.Invalidate(key);
        if (_breakers.IsOpen(shard))
        {
            _entities.Tell(invalidate);
            return;
        }
        var budget = _breakers.BudgetFor(shard, _budget);
        try
        {
            await _entities.Ask<CacheProtocol.Invalidated>(invalidate, budget, _breakers.ReleaseToken(shard));
        }
        catch (AskTimeoutException)
        {
            _breakers.Trip(shard, $"an invalidation was not answered within {budget.TotalMilliseconds:F0} ms");
        }
        catch (OperationCanceledException)
        {
            // The shard's breaker tripped meanwhile.
        }
    }
}

/// <summary>How a fetch relates to the key's cache entity.</summary>
internal enum FetchMode
{
    /// <summary>This request is the key's one filler: it must report Store or FillAbandoned.</summary>
    Fill,

    /// <summary>Not coordinated: store the answer if storable, report nothing otherwise.</summary>
    StoreIfStorable,

    /// <summary>The key's shard does not answer: a storable answer goes into this gateway's near cache only.</summary>
    NearOnly,
}

/// <summary>The policies and counters of one app with the turbocache on.</summary>
internal sealed class AppCachePolicy(string app, TurbocacheOptions options, string? varyCookie, TurbocacheCounters counters)
{
    public string App { get; } = app;
    public RequestPolicy Request { get; } = new(varyCookie);
    public ResponsePolicy Response { get; } = new(options, varyCookie);
    public TurbocacheCounters Counters { get; } = counters;
}
