using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Porter.CacheShard.Policy;

/// <summary>What the cache may do for a request.</summary>
public enum RequestDisposition : byte
{
    /// <summary>GET or HEAD: look up; a storable response may be stored.</summary>
    Lookup,

    /// <summary>Skip the lookup (client asked for a fresh answer), but a storable response may refresh the entry.</summary>
    Bypass,

    /// <summary>Neither look up nor store (request no-store, an ambiguous vary cookie, a body): see <see cref="RequestEvaluation.Refusal"/>.</summary>
    NoStore,

    /// <summary>Safe but not cacheable (OPTIONS, TRACE): forward, nothing else.</summary>
    Pass,

    /// <summary>Unsafe method: forward, then invalidate on a 2xx/3xx answer (see <see cref="InvalidationPolicy"/>).</summary>
    Invalidate,
}

/// <summary>Decides per request whether the turbocache is consulted (one instance per app); allocation-free.</summary>
/// <remarks>
/// Pragma: no-cache counts only when the request has no Cache-Control (RFC 7234 §5.4). If-Match and
/// If-Unmodified-Since are the origin's preconditions (RFC 9111 §4.3.2), so such requests bypass the lookup.
/// A request max-stale is ignored: the turbocache serves stale only under the response's own stale-* windows.
/// A GET or HEAD with a body (Content-Length above 0, or any Transfer-Encoding) is neither looked up nor stored: the
/// app may answer according to the body, and the key is the URL alone.
/// </remarks>
public sealed class RequestPolicy
{
    public RequestPolicy(string? varyCookieName) =>
        VaryCookieName = string.IsNullOrEmpty(varyCookieName) ? null : varyCookieName;

    public string? VaryCookieName { get; }

    public RequestEvaluation Evaluate(string method, IHeaderDictionary headers)
    {
        bool isHead = HttpMethodRules.IsHead(method);
        if (!isHead && !HttpMethodRules.IsGet(method))
            return new(HttpMethodRules.IsSafe(method) ? RequestDisposition.Pass : RequestDisposition.Invalidate, RefusalReason.None, false, false, default);

        var cc = CacheControl.Parse(headers.CacheControl);
        bool hasAuthorization = headers.Authorization.Count > 0;
        var refusal = NoStoreReason(headers, cc);
        RequestDisposition disposition;
        if (refusal != RefusalReason.None)
            disposition = RequestDisposition.NoStore;
        else if (cc.NoCache || cc.MaxAge == 0
            || (!cc.IsPresent && HeaderRules.ListContains(headers.Pragma, "no-cache"))
            || headers.IfMatch.Count > 0 || headers.IfUnmodifiedSince.Count > 0)
            disposition = RequestDisposition.Bypass;
        else
            disposition = RequestDisposition.Lookup;
        return new(disposition, refusal, isHead, hasAuthorization, cc);
    }

    /// <summary>Why the cache must stay out of this request entirely, or None.</summary>
    private RefusalReason NoStoreReason(IHeaderDictionary headers, in CacheControl cc)
    {
        if (HasBody(headers))
            return RefusalReason.RequestBody;
        if (cc.NoStore)
            return RefusalReason.RequestNoStore;
        if (VaryCookieName is not null && RequestCookies.Find(headers.Cookie, VaryCookieName, out _) == CookieLookup.Ambiguous)
            return RefusalReason.AmbiguousVaryCookie;
        return RefusalReason.None;
    }

    /// <summary>RFC 9112 §6.3: a request has a body when it has Transfer-Encoding or a Content-Length above 0.</summary>
    public static bool HasBody(IHeaderDictionary headers) =>
        headers.ContainsKey(HeaderNames.TransferEncoding) || headers.ContentLength > 0;
}

/// <summary>The outcome of <see cref="RequestPolicy.Evaluate"/>, kept for the rest of the request.</summary>
public readonly struct RequestEvaluation
{
    private readonly long? _maxAge;
    private readonly long? _minFresh;

    internal RequestEvaluation(RequestDisposition disposition, RefusalReason refusal, bool isHead, bool hasAuthorization, in CacheControl cc)
    {
        Disposition = disposition;
        Refusal = refusal;
        IsHead = isHead;
        HasAuthorization = hasAuthorization;
        OnlyIfCached = cc.OnlyIfCached;
        _maxAge = cc.MaxAge;
        _minFresh = cc.MinFresh;
    }

    public RequestDisposition Disposition { get; }

    /// <summary>Why the disposition is <see cref="RequestDisposition.NoStore"/> (counted as a refusal); None otherwise.</summary>
    public RefusalReason Refusal { get; }

    /// <summary>HEAD: answer from the GET entry without a body.</summary>
    public bool IsHead { get; }

    public bool HasAuthorization { get; }

    /// <summary>only-if-cached: on a miss answer 504 instead of asking the app (RFC 9111 §5.2.1.7).</summary>
    public bool OnlyIfCached { get; }

    public bool CanLookup => Disposition == RequestDisposition.Lookup;

    public bool MayStore => Disposition is RequestDisposition.Lookup or RequestDisposition.Bypass;

    /// <summary>Whether a looked-up entry may answer this request: fresh, shareable with Authorization if sent, within the request's max-age and min-fresh.</summary>
    public bool CanUse(CachedResponse entry, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!CanLookup || (HasAuthorization && !entry.AllowsAuthorizedRequests) || !entry.IsFresh(now))
            return false;
        var age = entry.CurrentAge(now);
        if (_maxAge is { } maxAge && age > TimeSpan.FromSeconds(maxAge))
            return false;
        return _minFresh is not { } minFresh || entry.FreshnessLifetime - age >= TimeSpan.FromSeconds(minFresh);
    }
}
