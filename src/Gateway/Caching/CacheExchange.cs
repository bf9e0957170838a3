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
    private string _answerStatus = CacheStatus.Hit;
    private bool _store;
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
            if (refreshed.Outcome == RefreshOutcome.Refreshed && refreshed.Entry is { } entry)
            {
                AnswerWith(entry, CacheStatus.Hit);
                _store = true;
                return false;
            }
            policy.Counters.RecordRefusal(refreshed.Refusal);
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
            if (_answerWith is { } answer)
            {
                var now = owner.Clock.GetUtcNow();
                if (_store) Store(answer, now);
                else Release(passThrough: false);
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
            // Waiters should not queue behind a key whose answers cannot be stored; a refusal caused by this
            // request (its Authorization, no-store or vary cookie) says nothing about the key's other requests.
            var passThrough = _evaluated && !_evaluation.IsStorable && !IsCausedByRequest(_evaluation.Refusal);
            if (passThrough) owner.PassThrough.Mark(key, owner.Clock.GetUtcNow());
            Release(passThrough);
        }
        finally
        {
            if (!_reported) Release(passThrough: false);
        }
    }

    private static bool IsCausedByRequest(RefusalReason refusal) =>
        refusal is RefusalReason.AuthorizedRequest or RefusalReason.RequestNoStore or RefusalReason.AmbiguousVaryCookie;

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
