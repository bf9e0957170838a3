using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using Porter.Workers.Dispatching;
using Yarp.ReverseProxy.Forwarder;

namespace Porter.Gateway.Caching;

/// <summary>
/// One trip to the app on behalf of the cache. It adds the stored validators when revalidating, judges the app's
/// answer the moment its headers arrive (before any byte reaches the client), swaps in a refreshed or stale entry
/// when the app says 304 or fails, and afterwards stores the captured body or releases the key's waiters.
/// </summary>
/// <remarks>
/// A 304 to a revalidation answers the cache's conditional, not the client's, so it never reaches the client: it
/// refreshes the entry; or, when the refreshed headers are not storable, the updated response answers this request
/// alone; or, when it validates another representation (RFC 9111 §4.3.4), the request is sent again without the
/// cache's validators. The client sees a 304 only when its own conditionals match what it is answered with.
/// </remarks>
internal sealed class CacheExchange(
    TurbocacheMiddleware owner,
    HttpContext context,
    AppCachePolicy policy,
    RequestEvaluation request,
    CacheKey key,
    FetchMode mode,
    long requestId,
    CachedResponse? revalidating,
    CachedResponse? staleIfError,
    string cacheStatus,
    DateTimeOffset requestTime) : IUpstreamResponseHook
{
    private DateTimeOffset _responseTime;
    private ResponseEvaluation _evaluation;
    private bool _evaluated;
    private CachedResponse? _answerWith;
    private RefusalReason _refusal;
    private string _answerStatus = CacheStatus.Hit;
    private bool _store;
    private bool _refetch;
    private bool _reported;
    private CaptureStream? _capture;

    public void OnRequest(HttpContext httpContext, HttpRequestMessage proxyRequest)
    {
        if (revalidating is null) return;
        // Our validators replace the client's: the app's 304 must speak about the stored entry (RFC 9111 §4.3.1).
        proxyRequest.Headers.Remove(HeaderNames.IfNoneMatch);
        proxyRequest.Headers.Remove(HeaderNames.IfModifiedSince);
        foreach (var (name, value) in ConditionalPolicy.RevalidationHeaders(revalidating))
            proxyRequest.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
    }

    public bool OnResponse(HttpContext httpContext, HttpResponseMessage proxyResponse)
    {
        _responseTime = owner.Clock.GetUtcNow();
        var response = httpContext.Response;
        var status = response.StatusCode;

        if (revalidating is not null && status == StatusCodes.Status304NotModified)
        {
            var refreshed = ConditionalPolicy.Refresh(policy.Response, revalidating, response.Headers,
                httpContext.Request.Headers, requestTime, _responseTime);
            switch (refreshed.Outcome)
            {
                case RefreshOutcome.Refreshed:
                    AnswerWith(refreshed.Entry!, CacheStatus.Hit);
                    _store = true;
                    return false;
                case RefreshOutcome.NoLongerStorable:
                    policy.Counters.RecordRefusal(refreshed.Refusal);
                    _refusal = refreshed.Refusal;
                    AnswerWith(refreshed.Entry!, cacheStatus);
                    return false;
                default:
                    _refetch = true;
                    context.Response.Clear();
                    return false;
            }
        }
        if (status >= 500 && staleIfError is not null)
        {
            AnswerWith(staleIfError, CacheStatus.Stale);
            return false;
        }

        // HEAD answers carry no body: nothing of them can become the GET entry.
        if (!request.IsHead)
        {
            _evaluation = policy.Response.Evaluate(httpContext.Request.Method, httpContext.Request.Headers, status,
                response.Headers, response.ContentLength, requestTime, _responseTime);
            _evaluated = true;
            if (!_evaluation.IsStorable) policy.Counters.RecordRefusal(_evaluation.Refusal);
            // Only a storable answer is copied on its way to the client: uncacheable traffic streams untouched.
            else if (_capture is null) response.Body = _capture = new CaptureStream(response.Body, policy.Response.MaxBodyBytes);
        }
        owner.SetCacheStatus(httpContext, cacheStatus);
        return true;
    }

    public bool OnNoResponse(HttpContext httpContext, int statusCode)
    {
        if (staleIfError is null) return false;
        AnswerWith(staleIfError, CacheStatus.Stale);
        return true;
    }

    private void AnswerWith(CachedResponse entry, string status)
    {
        _answerWith = entry;
        _answerStatus = status;
        context.Response.Clear();
    }

    /// <summary>After forwarding: answer from the cache if the hook took over, then store or release the key.</summary>
    public async Task CompleteAsync()
    {
        using var capture = _capture;
        try
        {
            if (_refetch)
            {
                // The fill (if this is one) passes to the unconditional fetch, which reports it.
                _reported = true;
                await owner.FetchAsync(context, policy, request, key, mode, requestId, null, staleIfError, cacheStatus);
                return;
            }
            if (_answerWith is { } answer)
            {
                var now = owner.Clock.GetUtcNow();
                if (_store) Store(answer, now);
                else ReleaseAfterRefusal(_refusal, now);
                if (!context.Response.HasStarted)
                    await CachedResponseWriter.WriteAsync(context, answer, now, owner.StatusHeader, _answerStatus);
                return;
            }

            if (_evaluated && _evaluation.IsStorable && capture is not null && CompletedWhole(capture))
            {
                var entry = CachedResponse.Create(_evaluation, context.Response.StatusCode, context.Response.Headers, capture.ToArray());
                Store(entry, owner.Clock.GetUtcNow());
                return;
            }
            if (_evaluated && _evaluation.IsStorable)
                policy.Counters.RecordRefusal(capture?.Overflowed == true ? RefusalReason.BodyTooLarge : RefusalReason.IncompleteBody);
            ReleaseAfterRefusal(_evaluated ? _evaluation.Refusal : RefusalReason.None, owner.Clock.GetUtcNow());
        }
        finally
        {
            if (!_reported) Release(passThrough: false);
        }
    }

    /// <summary>
    /// Releases the key after an answer that was not stored. Waiters should not queue behind a key whose answers cannot
    /// be stored; a refusal caused by this request (its Authorization, no-store or vary cookie) says nothing about the
    /// key's other requests.
    /// </summary>
    private void ReleaseAfterRefusal(RefusalReason refusal, DateTimeOffset now)
    {
        var passThrough = refusal != RefusalReason.None && !IsCausedByRequest(refusal);
        if (passThrough) owner.PassThrough.Mark(key, now);
        Release(passThrough);
    }

    private static bool IsCausedByRequest(RefusalReason refusal) =>
        refusal is RefusalReason.AuthorizedRequest or RefusalReason.RequestNoStore or RefusalReason.AmbiguousVaryCookie
            or RefusalReason.RequestBody;

    /// <summary>The body arrived whole: forwarding ended without error, nothing past the limit, and Content-Length (if any) matched.</summary>
    private bool CompletedWhole(CaptureStream capture) =>
        context.Features.Get<IForwarderErrorFeature>() is null
        && !context.RequestAborted.IsCancellationRequested
        && !capture.Overflowed
        && (context.Response.ContentLength is not { } length || length == capture.Captured);

    private void Store(CachedResponse entry, DateTimeOffset now)
    {
        owner.PassThrough.Clear(key);
        // Stamped with the moment this fetch started: an invalidation since then may have changed what it describes.
        owner.Near.Set(key, entry, requestTime, now);
        if (mode != FetchMode.NearOnly) owner.Entities.Tell(new CacheProtocol.Store(key, CacheEntryMapping.ToData(entry)));
        _reported = true;
    }

    private void Release(bool passThrough)
    {
        if (_reported) return;
        _reported = true;
        if (mode == FetchMode.Fill) owner.Entities.Tell(new CacheProtocol.FillAbandoned(key, passThrough, requestId));
    }
}
