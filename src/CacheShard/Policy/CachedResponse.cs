using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Porter.CacheShard.Policy;

/// <summary>Flags of a stored response that limit how it may be served.</summary>
[Flags]
public enum CacheEntryFlags : byte
{
    None = 0,

    /// <summary>Response said no-cache: never served without successful revalidation.</summary>
    NoCache = 1,

    /// <summary>must-revalidate, proxy-revalidate or no-cache: never served stale, not even within stale-while-revalidate or stale-if-error.</summary>
    MustRevalidate = 2,

    /// <summary>public, s-maxage or must-revalidate: may answer requests that carry Authorization (RFC 9111 §3.5).</summary>
    SharedWithAuthorization = 4,
}

/// <summary>A stored response: immutable, shared by every thread that serves it, replaced (never mutated) on refresh.</summary>
/// <remarks>
/// The header block is kept as an array of (name, <see cref="StringValues"/>) pairs built once at store time: a hit
/// copies them into the response's header dictionary (Kestrel stores the same string references, so nothing is
/// allocated), which a prebuilt byte block could not do because Kestrel owns header serialisation. Hop-by-hop and
/// Connection-listed fields, Content-Length (served from the body length) and Age (computed per hit) are left out;
/// Date is always present (the receipt time when the app sent none).
/// </remarks>
public sealed class CachedResponse
{
    private const int CachedAgeStrings = 4096;
    private static readonly string?[] AgeStrings = new string?[CachedAgeStrings];

    private readonly KeyValuePair<string, StringValues>[] _headers;
    private readonly KeyValuePair<string, StringValues>[] _notModifiedHeaders;
    private readonly byte[] _body;

    /// <summary>Rebuilds an entry from its parts (the cluster serializer's path); live responses use <see cref="Create"/>.</summary>
    public CachedResponse(int statusCode, KeyValuePair<string, StringValues>[] headers, byte[] body, VariantKey variant,
        DateTimeOffset requestTime, DateTimeOffset responseTime, DateTimeOffset date, TimeSpan ageValue,
        TimeSpan freshnessLifetime, TimeSpan staleWhileRevalidate, TimeSpan staleIfError, CacheEntryFlags flags)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(variant);
        StatusCode = statusCode;
        _headers = headers;
        _body = body;
        Variant = variant;
        RequestTime = requestTime;
        ResponseTime = responseTime;
        Date = date;
        AgeValue = ageValue;
        FreshnessLifetime = freshnessLifetime;
        StaleWhileRevalidate = staleWhileRevalidate;
        StaleIfError = staleIfError;
        Flags = flags;
        InitialAge = CorrectedInitialAge(requestTime, responseTime, date, ageValue);

        var notModified = new List<KeyValuePair<string, StringValues>>();
        foreach (var header in headers)
        {
            if (ETag is null && string.Equals(header.Key, HeaderNames.ETag, StringComparison.OrdinalIgnoreCase))
                ETag = HeaderRules.First(header.Value);
            else if (LastModified is null && string.Equals(header.Key, HeaderNames.LastModified, StringComparison.OrdinalIgnoreCase))
                LastModified = HeaderRules.First(header.Value);
            if (IsNotModifiedField(header.Key))
                notModified.Add(header);
        }
        if (LastModified is not null && HttpDate.TryParse(LastModified.AsSpan(), out var lastModified))
            LastModifiedDate = lastModified;
        // RFC 9110 §15.4.5: Last-Modified only helps a 304 when there is no ETag to update by.
        if (ETag is null && LastModified is not null)
            notModified.Add(new(HeaderNames.LastModified, LastModified));
        _notModifiedHeaders = notModified.ToArray();
    }

    /// <summary>Builds the entry from a storable evaluation, the app's response headers and the buffered body (ownership passes to the entry).</summary>
    public static CachedResponse Create(in ResponseEvaluation evaluation, int statusCode, IHeaderDictionary responseHeaders, byte[] body)
    {
        if (!evaluation.IsStorable)
            throw new InvalidOperationException($"A refused response ({evaluation.Refusal}) cannot become a cache entry.");
        ArgumentNullException.ThrowIfNull(responseHeaders);
        return new CachedResponse(statusCode, ReplayedHeaders(responseHeaders, evaluation.Date), body, evaluation.Variant,
            evaluation.RequestTime, evaluation.ResponseTime, evaluation.Date, evaluation.AgeValue, evaluation.FreshnessLifetime,
            evaluation.StaleWhileRevalidate, evaluation.StaleIfError, evaluation.Flags);
    }

    /// <summary>
    /// A response that answers one request and is never stored: a stored entry updated by a 304 whose headers make it
    /// unstorable (Set-Cookie, private, ...). It is what the app would have sent in full, so it has no freshness.
    /// </summary>
    public static CachedResponse Unstored(int statusCode, IHeaderDictionary responseHeaders, byte[] body,
        DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        var date = HttpDate.TryParse(responseHeaders.Date, out var parsed) ? parsed : responseTime;
        return new CachedResponse(statusCode, ReplayedHeaders(responseHeaders, date), body, VariantKey.None, requestTime,
            responseTime, date, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero,
            CacheEntryFlags.NoCache | CacheEntryFlags.MustRevalidate);
    }

    // The app's fields as they are replayed: no hop-by-hop or Connection-listed ones, no Content-Length (served from the
    // body) or Age (computed per answer), and exactly one Date.
    private static KeyValuePair<string, StringValues>[] ReplayedHeaders(IHeaderDictionary responseHeaders, DateTimeOffset date)
    {
        var connectionListed = HeaderRules.ConnectionListed(responseHeaders);
        var headers = new List<KeyValuePair<string, StringValues>>(responseHeaders.Count + 1)
        {
            new(HeaderNames.Date, HttpDate.Format(date)),
        };
        foreach (var header in responseHeaders)
        {
            if (!HeaderRules.IsExcludedFromStorage(header.Key, connectionListed)
                && !string.Equals(header.Key, HeaderNames.Date, StringComparison.OrdinalIgnoreCase))
                headers.Add(header);
        }
        return headers.ToArray();
    }

    public int StatusCode { get; }

    /// <summary>The headers to replay on a full response, ready to copy.</summary>
    public ReadOnlySpan<KeyValuePair<string, StringValues>> Headers => _headers;

    /// <summary>The headers a 304 from this entry carries (RFC 9110 §15.4.5: Cache-Control, Content-Location, Date, ETag, Expires, Vary; and an unstored answer's Set-Cookie).</summary>
    public ReadOnlySpan<KeyValuePair<string, StringValues>> NotModifiedHeaders => _notModifiedHeaders;

    public ReadOnlyMemory<byte> Body => _body;

    internal byte[] BodyArray => _body;

    /// <summary>The Content-Length to send (also for HEAD); null for 204, which must not carry one.</summary>
    public long? ContentLength => StatusCode == 204 ? null : _body.Length;

    public VariantKey Variant { get; }
    public DateTimeOffset RequestTime { get; }
    public DateTimeOffset ResponseTime { get; }

    /// <summary>date_value of RFC 9111 §4.2.3 (the response's Date, or its receipt time).</summary>
    public DateTimeOffset Date { get; }

    /// <summary>age_value of RFC 9111 §4.2.3 (the upstream Age header).</summary>
    public TimeSpan AgeValue { get; }

    /// <summary>corrected_initial_age of RFC 9111 §4.2.3.</summary>
    public TimeSpan InitialAge { get; }

    public TimeSpan FreshnessLifetime { get; }
    public TimeSpan StaleWhileRevalidate { get; }
    public TimeSpan StaleIfError { get; }
    public CacheEntryFlags Flags { get; }
    public string? ETag { get; }
    public string? LastModified { get; }
    public DateTimeOffset? LastModifiedDate { get; }

    /// <summary>An ETag, or a Last-Modified that is a valid HTTP-date (an invalid one validates nothing).</summary>
    public bool HasValidator => ETag is not null || LastModifiedDate is not null;

    public bool AllowsAuthorizedRequests => (Flags & CacheEntryFlags.SharedWithAuthorization) != 0;

    /// <summary>current_age (RFC 9111 §4.2.3): corrected initial age plus the time resident here.</summary>
    public TimeSpan CurrentAge(DateTimeOffset now) => CurrentAge(InitialAge, ResponseTime, now);

    /// <summary>Fresh: may be served without contacting the app. A no-cache entry never is.</summary>
    public bool IsFresh(DateTimeOffset now) => IsFresh(Flags, FreshnessLifetime, CurrentAge(now));

    /// <summary>Stale but within stale-while-revalidate: serve it and refresh in the background.</summary>
    public bool CanServeStaleWhileRevalidate(DateTimeOffset now) => WithinStaleWindow(now, StaleWhileRevalidate);

    /// <summary>Stale but within stale-if-error: serve it when the app answers 5xx or no process is available.</summary>
    public bool CanServeStaleIfError(DateTimeOffset now) => WithinStaleWindow(now, StaleIfError);

    /// <summary>The Age header value in whole seconds; small ages come from a shared table so a hit does not allocate.</summary>
    public string AgeHeaderValue(DateTimeOffset now)
    {
        long seconds = Math.Min((long)CurrentAge(now).TotalSeconds, CacheControl.MaxDeltaSeconds);
        if (seconds >= CachedAgeStrings)
            return seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Racing writers store equal strings; either one wins.
        return AgeStrings[seconds] ??= seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    // Explicit must-revalidate, proxy-revalidate and no-cache forbid stale serving; s-maxage's implied proxy-revalidate
    // does not override an explicit stale-while-revalidate / stale-if-error window given in the same response.
    private bool WithinStaleWindow(DateTimeOffset now, TimeSpan window) =>
        WithinStaleWindow(Flags, FreshnessLifetime, window, InitialAge, ResponseTime, now);

    // The arithmetic itself, shared with the cache store's compact entries (which keep no CachedResponse).
    internal static TimeSpan CurrentAge(TimeSpan initialAge, DateTimeOffset responseTime, DateTimeOffset now)
    {
        var resident = now - responseTime;
        return resident > TimeSpan.Zero ? initialAge + resident : initialAge;
    }

    internal static bool IsFresh(CacheEntryFlags flags, TimeSpan freshnessLifetime, TimeSpan currentAge) =>
        (flags & CacheEntryFlags.NoCache) == 0 && freshnessLifetime > currentAge;

    internal static bool WithinStaleWindow(CacheEntryFlags flags, TimeSpan freshnessLifetime, TimeSpan window,
        TimeSpan initialAge, DateTimeOffset responseTime, DateTimeOffset now)
    {
        if ((flags & CacheEntryFlags.MustRevalidate) != 0 || window <= TimeSpan.Zero)
            return false;
        var age = CurrentAge(initialAge, responseTime, now);
        return age >= freshnessLifetime && age - freshnessLifetime <= window;
    }

    /// <summary>RFC 9111 §4.2.3: max(apparent_age, age_value + response_delay).</summary>
    internal static TimeSpan CorrectedInitialAge(DateTimeOffset requestTime, DateTimeOffset responseTime, DateTimeOffset date, TimeSpan ageValue)
    {
        var apparentAge = responseTime - date;
        if (apparentAge < TimeSpan.Zero)
            apparentAge = TimeSpan.Zero;
        var responseDelay = responseTime - requestTime;
        if (responseDelay < TimeSpan.Zero)
            responseDelay = TimeSpan.Zero;
        var correctedAgeValue = ageValue + responseDelay;
        return apparentAge > correctedAgeValue ? apparentAge : correctedAgeValue;
    }

    // Set-Cookie is no representation metadata, but only an unstored answer (see Unstored) can hold one: the app's
    // cookie for this client stays on a 304 made from it.
    private static bool IsNotModifiedField(string name) =>
        string.Equals(name, HeaderNames.SetCookie, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.CacheControl, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.ContentLocation, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.Date, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.ETag, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.Expires, StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, HeaderNames.Vary, StringComparison.OrdinalIgnoreCase);
}
