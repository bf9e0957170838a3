using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Policy;

/// <summary>Decides whether an app's response may be stored, and with what freshness and variant (one instance per app).</summary>
/// <remarks>
/// Conservative on purpose (the seed's security review): only an explicit lifetime makes a response storable, and
/// responses that identify a user (Set-Cookie, private, authentication) never are. Where RFC 9111 permits more than
/// these rules, the rules win; elsewhere RFC 9111 is followed.
/// <c>no-cache</c> responses are stored but never served without revalidation (stored as must-revalidate with no
/// freshness); they, and any response stale on arrival, are refused when they carry no validator and no
/// stale-serving window, because such an entry could never be used.
/// </remarks>
public sealed class ResponsePolicy
{
    private const string XSendfile = "X-Sendfile";
    private const string XAccelRedirect = "X-Accel-Redirect";

    private readonly TimeSpan _heuristicMaxLifetime;

    public ResponsePolicy(TurbocacheOptions options, string? varyCookieName)
    {
        ArgumentNullException.ThrowIfNull(options);
        MaxBodyBytes = options.MaxBodyBytes;
        _heuristicMaxLifetime = options.HeuristicMaxLifetime;
        VaryCookieName = string.IsNullOrEmpty(varyCookieName) ? null : varyCookieName;
    }

    /// <summary>Largest body stored per entry: a body that grows past it while buffering is refused with <see cref="RefusalReason.BodyTooLarge"/>.</summary>
    public long MaxBodyBytes { get; }

    /// <summary>The app's vary cookie (<c>--vary-turbocache-by-cookie</c>), or null.</summary>
    public string? VaryCookieName { get; }

    /// <summary>Status codes stored: the seed's defaults plus 308 and 404, minus 400.</summary>
    public static bool IsStorableStatus(int statusCode) =>
        statusCode is 200 or 203 or 204 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    /// <summary>RFC 9110 §15.1: the only statuses a heuristic lifetime may be given to.</summary>
    public static bool IsHeuristicallyCacheable(int statusCode) =>
        statusCode is 200 or 203 or 204 or 206 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    /// <summary>Evaluates a response (headers only; the body is buffered afterwards if storable).</summary>
    /// <param name="contentLength">The declared body length if known; the buffering caller enforces <see cref="MaxBodyBytes"/> otherwise.</param>
    /// <param name="requestTime">When the request was sent to the app (RFC 9111 §4.2.3 request_time).</param>
    /// <param name="responseTime">When the response headers arrived (response_time).</param>
    public ResponseEvaluation Evaluate(string method, IHeaderDictionary requestHeaders, int statusCode,
        IHeaderDictionary responseHeaders, long? contentLength, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        if (!HttpMethodRules.IsGet(method))
            return ResponseEvaluation.Refused(RefusalReason.MethodNotCacheable);
        if (!IsStorableStatus(statusCode))
            return ResponseEvaluation.Refused(RefusalReason.StatusNotCacheable);
        if (CacheControl.Parse(requestHeaders.CacheControl).NoStore)
            return ResponseEvaluation.Refused(RefusalReason.RequestNoStore);

        var cc = CacheControl.Parse(responseHeaders.CacheControl);
        if (cc.NoStore)
            return ResponseEvaluation.Refused(RefusalReason.NoStore);
        if (cc.Private)
            return ResponseEvaluation.Refused(RefusalReason.Private);
        if (responseHeaders.ContainsKey(HeaderNames.SetCookie))
            return ResponseEvaluation.Refused(RefusalReason.SetCookie);
        if (responseHeaders.ContainsKey(HeaderNames.WWWAuthenticate) || responseHeaders.ContainsKey(HeaderNames.ProxyAuthenticate))
            return ResponseEvaluation.Refused(RefusalReason.AuthenticationChallenge);
        if (responseHeaders.ContainsKey(XSendfile) || responseHeaders.ContainsKey(XAccelRedirect))
            return ResponseEvaluation.Refused(RefusalReason.InternalRedirect);

        bool sharedWithAuthorization = cc.Public || cc.SMaxAge.HasValue || cc.MustRevalidate;
        if (requestHeaders.Authorization.Count > 0 && !sharedWithAuthorization)
            return ResponseEvaluation.Refused(RefusalReason.AuthorizedRequest);

        var varyRefusal = ReadVary(responseHeaders.Vary, out SortedSet<string>? varyNames);
        if (varyRefusal != RefusalReason.None)
            return ResponseEvaluation.Refused(varyRefusal);

        ReadOnlySpan<char> cookie = default;
        var cookieLookup = VaryCookieName is null
            ? CookieLookup.Absent
            : RequestCookies.Find(requestHeaders.Cookie, VaryCookieName, out cookie);
        if (cookieLookup == CookieLookup.Ambiguous)
            return ResponseEvaluation.Refused(RefusalReason.AmbiguousVaryCookie);

        if (contentLength > MaxBodyBytes)
            return ResponseEvaluation.Refused(RefusalReason.BodyTooLarge);

        // RFC 9110 §6.6.1: a response without a valid Date is dated when it was received.
        var date = HttpDate.TryParse(responseHeaders.Date, out var parsedDate) ? parsedDate : responseTime;
        var ageValue = TimeSpan.FromSeconds(ParseAge(responseHeaders.Age));
        if (FreshnessLifetime(cc, responseHeaders, statusCode, date) is not { } lifetime)
            return ResponseEvaluation.Refused(RefusalReason.NoExplicitLifetime);

        var flags = CacheEntryFlags.None;
        if (cc.NoCache)
            flags |= CacheEntryFlags.NoCache;
        if (cc.MustRevalidate || cc.ProxyRevalidate || cc.NoCache)
            flags |= CacheEntryFlags.MustRevalidate;
        if (sharedWithAuthorization)
            flags |= CacheEntryFlags.SharedWithAuthorization;
        var staleWhileRevalidate = TimeSpan.FromSeconds(cc.StaleWhileRevalidate ?? 0);
        var staleIfError = TimeSpan.FromSeconds(cc.StaleIfError ?? 0);

        var initialAge = CachedResponse.CorrectedInitialAge(requestTime, responseTime, date, ageValue);
        bool freshOnArrival = !cc.NoCache && lifetime > initialAge;
        bool hasValidator = responseHeaders.ContainsKey(HeaderNames.ETag) || HttpDate.TryParse(responseHeaders.LastModified, out _);
        bool staleServable = (flags & CacheEntryFlags.MustRevalidate) == 0
            && initialAge <= lifetime + (staleWhileRevalidate > staleIfError ? staleWhileRevalidate : staleIfError)
            && (staleWhileRevalidate > TimeSpan.Zero || staleIfError > TimeSpan.Zero);
        if (!freshOnArrival && !hasValidator && !staleServable)
            return ResponseEvaluation.Refused(RefusalReason.StaleWithoutValidator);

        var variant = BuildVariant(varyNames, requestHeaders, cookieLookup == CookieLookup.Found ? cookie.ToString() : null);
        return new ResponseEvaluation(variant, requestTime, responseTime, date, ageValue, lifetime,
            staleWhileRevalidate, staleIfError, flags);
    }

    /// <summary>RFC 9111 §4.2.1 order: s-maxage, then max-age, then Expires − Date; then the public-only heuristic. Null: no lifetime.</summary>
    private TimeSpan? FreshnessLifetime(in CacheControl cc, IHeaderDictionary responseHeaders, int statusCode, DateTimeOffset date)
    {
        if (cc.SMaxAge is { } sMaxAge)
            return TimeSpan.FromSeconds(sMaxAge);
        if (cc.MaxAge is { } maxAge)
            return TimeSpan.FromSeconds(maxAge);

        StringValues expires = responseHeaders.Expires;
        if (expires.Count > 0)
        {
            // RFC 9111 §5.3: an invalid Expires ("0", extra spaces, several field lines) means already expired.
            if (!HttpDate.TryParse(expires, out var expiresAt))
                return TimeSpan.Zero;
            var lifetime = expiresAt - date;
            return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
        }

        // Heuristic freshness only where the app explicitly said the response is for everyone (RFC 9111 §4.2.2).
        if (cc.Public && IsHeuristicallyCacheable(statusCode)
            && HttpDate.TryParse(responseHeaders.LastModified, out var lastModified) && lastModified <= date)
        {
            var heuristic = (date - lastModified) / 10;
            return heuristic < _heuristicMaxLifetime ? heuristic : _heuristicMaxLifetime;
        }
        return null;
    }

    /// <summary>Upstream Age (RFC 9111 §5.1): the first list member; an invalid value is ignored, overflow clamps to 2^31.</summary>
    private static long ParseAge(StringValues age)
    {
        var elements = new ListElements(age);
        if (!elements.MoveNext())
            return 0;
        return CacheControl.ParseDeltaSeconds(true, elements.Current);
    }

    private RefusalReason ReadVary(StringValues vary, out SortedSet<string>? names)
    {
        names = null;
        var elements = new ListElements(vary);
        while (elements.MoveNext())
        {
            ReadOnlySpan<char> name = elements.Current;
            if (name.SequenceEqual("*"))
                return RefusalReason.VaryAll;
            if (name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase))
            {
                // The vary cookie already keys every variant of the app; the rest of the Cookie header must not.
                if (VaryCookieName is null)
                    return RefusalReason.VaryCookieNotConfigured;
                continue;
            }
            (names ??= new SortedSet<string>(StringComparer.Ordinal)).Add(name.ToString().ToLowerInvariant());
        }
        return RefusalReason.None;
    }

    private VariantKey BuildVariant(SortedSet<string>? varyNames, IHeaderDictionary requestHeaders, string? cookieValue)
    {
        if (varyNames is null && VaryCookieName is null)
            return VariantKey.None;
        string[] names = varyNames?.ToArray() ?? [];
        var values = new string?[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            values[i] = requestHeaders.TryGetValue(names[i], out var value) && value.Count > 0
                ? HeaderRules.NormalizeList(value)
                : null;
        }
        return new VariantKey(names, values, VaryCookieName, cookieValue);
    }
}

/// <summary>The outcome of <see cref="ResponsePolicy.Evaluate"/>: a refusal, or what is needed to build the <see cref="CachedResponse"/>.</summary>
public readonly struct ResponseEvaluation
{
    internal ResponseEvaluation(VariantKey variant, DateTimeOffset requestTime, DateTimeOffset responseTime,
        DateTimeOffset date, TimeSpan ageValue, TimeSpan freshnessLifetime, TimeSpan staleWhileRevalidate,
        TimeSpan staleIfError, CacheEntryFlags flags)
    {
        Refusal = RefusalReason.None;
        Variant = variant;
        RequestTime = requestTime;
        ResponseTime = responseTime;
        Date = date;
        AgeValue = ageValue;
        FreshnessLifetime = freshnessLifetime;
        StaleWhileRevalidate = staleWhileRevalidate;
        StaleIfError = staleIfError;
        Flags = flags;
    }

    private ResponseEvaluation(RefusalReason refusal) => Refusal = refusal;

    internal static ResponseEvaluation Refused(RefusalReason reason) => new(reason);

    public RefusalReason Refusal { get; }

    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Variant))]
    public bool IsStorable => Refusal == RefusalReason.None;

    /// <summary>The variant the response is stored under; null when refused.</summary>
    public VariantKey? Variant { get; }

    public DateTimeOffset RequestTime { get; }
    public DateTimeOffset ResponseTime { get; }

    /// <summary>The response's Date, or its receipt time when it had none or an invalid one.</summary>
    public DateTimeOffset Date { get; }

    /// <summary>The upstream Age header's value.</summary>
    public TimeSpan AgeValue { get; }

    public TimeSpan FreshnessLifetime { get; }
    public TimeSpan StaleWhileRevalidate { get; }
    public TimeSpan StaleIfError { get; }
    public CacheEntryFlags Flags { get; }
}
