using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Porter.CacheShard.Policy;

/// <summary>Conditional requests against stored responses (RFC 9110 §13, RFC 9111 §4.3): answering 304, revalidating, refreshing.</summary>
public static class ConditionalPolicy
{
    /// <summary>True when a GET/HEAD request's If-None-Match (weak comparison, lists, *) or, without it, If-Modified-Since lets a fresh entry answer 304.</summary>
    public static bool IsNotModified(IHeaderDictionary requestHeaders, CachedResponse entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        StringValues ifNoneMatch = requestHeaders.IfNoneMatch;
        if (ifNoneMatch.Count > 0)
            return MatchesAny(ifNoneMatch, entry.ETag);

        // RFC 9111 §4.3.2: compare with Last-Modified, else with Date; an invalid date means "no condition".
        if (!HttpDate.TryParse(requestHeaders.IfModifiedSince, out var since))
            return false;
        return (entry.LastModifiedDate ?? entry.Date) <= since;
    }

    /// <summary>If-None-Match evaluation: "*" matches any stored representation; otherwise any listed tag weakly equal to <paramref name="etag"/>.</summary>
    internal static bool MatchesAny(StringValues ifNoneMatch, string? etag)
    {
        foreach (string? line in ifNoneMatch)
        {
            if (line is null)
                continue;
            ReadOnlySpan<char> s = line.AsSpan();
            int i = 0;
            while (i < s.Length)
            {
                while (i < s.Length && (s[i] == ',' || HeaderRules.IsSpace(s[i])))
                    i++;
                if (i >= s.Length)
                    break;
                if (s[i] == '*')
                    return true;
                int start = i;
                if (s[i..].StartsWith("W/", StringComparison.Ordinal))
                    i += 2;
                int end;
                if (i < s.Length && s[i] == '"')
                {
                    // etagc may contain commas: the tag ends at its closing quote, not at the next comma.
                    int close = s[(i + 1)..].IndexOf('"');
                    end = close < 0 ? s.Length : i + 2 + close;
                }
                else
                {
                    int comma = s[i..].IndexOf(',');
                    end = comma < 0 ? s.Length : i + comma;
                }
                if (etag is not null && WeakEquals(s[start..end].TrimEnd(" \t"), etag))
                    return true;
                i = end;
            }
        }
        return false;
    }

    /// <summary>Weak comparison (RFC 9110 §8.8.3.2): the opaque tags are equal, either or both may be weak.</summary>
    public static bool WeakEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b) => Opaque(a).SequenceEqual(Opaque(b));

    /// <summary>Strong comparison: neither tag weak and the opaque tags equal.</summary>
    public static bool StrongEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b) => !IsWeak(a) && !IsWeak(b) && a.SequenceEqual(b);

    /// <summary>The validators to send when revalidating a stale entry (RFC 9111 §4.3.1); empty when it has none.</summary>
    public static KeyValuePair<string, StringValues>[] RevalidationHeaders(CachedResponse entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        // An invalid Last-Modified is not sent back: the app would have to ignore it (RFC 9110 §13.1.3).
        var lastModified = entry.LastModifiedDate is null ? null : entry.LastModified;
        if (entry.ETag is not null && lastModified is not null)
            return [new(HeaderNames.IfNoneMatch, entry.ETag), new(HeaderNames.IfModifiedSince, lastModified)];
        if (entry.ETag is not null)
            return [new(HeaderNames.IfNoneMatch, entry.ETag)];
        if (lastModified is not null)
            return [new(HeaderNames.IfModifiedSince, lastModified)];
        return [];
    }

    /// <summary>
    /// Applies a 304 from the app to the stored entry (RFC 9111 §4.3.4): its header fields replace the stored ones
    /// (except Content-Length and hop-by-hop fields) and freshness is recomputed with the same storage rules, so a
    /// 304 that adds Set-Cookie or private makes the entry unstorable; the updated response then answers this request
    /// only. A 304 that validates another representation updates nothing.
    /// </summary>
    /// <param name="requestHeaders">The request the revalidation was made for (it selects the variant).</param>
    public static RefreshResult Refresh(ResponsePolicy policy, CachedResponse entry, IHeaderDictionary notModifiedHeaders,
        IHeaderDictionary requestHeaders, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(entry);
        if (!ValidatesEntry(notModifiedHeaders, entry))
            return new(RefreshOutcome.ValidatorMismatch, null, RefusalReason.None);

        var merged = new HeaderDictionary();
        foreach (var header in entry.Headers)
            merged[header.Key] = header.Value;
        var connectionListed = HeaderRules.ConnectionListed(notModifiedHeaders);
        foreach (var header in notModifiedHeaders)
        {
            if (!HeaderRules.IsExcludedFromStorage(header.Key, connectionListed)
                || string.Equals(header.Key, HeaderNames.Age, StringComparison.OrdinalIgnoreCase)) // the 304's age is the new age_value
                merged[header.Key] = header.Value;
        }
        if (!notModifiedHeaders.ContainsKey(HeaderNames.Date))
            merged[HeaderNames.Date] = HttpDate.Format(responseTime); // the stored Date describes the old response

        var evaluation = policy.Evaluate("GET", requestHeaders, entry.StatusCode, merged, entry.Body.Length, requestTime, responseTime);
        if (!evaluation.IsStorable)
            return new(RefreshOutcome.NoLongerStorable,
                CachedResponse.Unstored(entry.StatusCode, merged, entry.BodyArray, requestTime, responseTime), evaluation.Refusal);
        return new(RefreshOutcome.Refreshed, CachedResponse.Create(evaluation, entry.StatusCode, merged, entry.BodyArray), RefusalReason.None);
    }

    /// <summary>RFC 9111 §4.3.4 selection, for the one entry that was revalidated: a strong ETag must match strongly, a weak one weakly, else Last-Modified must agree.</summary>
    private static bool ValidatesEntry(IHeaderDictionary notModifiedHeaders, CachedResponse entry)
    {
        if (HeaderRules.First(notModifiedHeaders.ETag) is { } etag)
        {
            etag = etag.Trim();
            return entry.ETag is not null
                && (IsWeak(etag) ? WeakEquals(etag, entry.ETag) : StrongEquals(etag, entry.ETag));
        }
        if (HeaderRules.First(notModifiedHeaders.LastModified) is { } lastModified)
        {
            return entry.LastModifiedDate is { } stored
                && HttpDate.TryParse(lastModified.AsSpan(), out var received) && received == stored;
        }
        return true; // no validator: it answers the conditional request built from this very entry
    }

    private static bool IsWeak(ReadOnlySpan<char> tag) => tag.StartsWith("W/", StringComparison.Ordinal);

    private static ReadOnlySpan<char> Opaque(ReadOnlySpan<char> tag) => IsWeak(tag) ? tag[2..] : tag;
}

/// <summary>What became of a stored entry after a 304.</summary>
public enum RefreshOutcome : byte
{
    /// <summary>Updated: store <see cref="RefreshResult.Entry"/> in place of the old one and serve it.</summary>
    Refreshed,

    /// <summary>The 304 validates a different representation: keep the entry unchanged and fetch unconditionally (the client asked for no 304).</summary>
    ValidatorMismatch,

    /// <summary>
    /// The updated headers are no longer storable (<see cref="RefreshResult.Refusal"/>): answer this request with the
    /// updated response (<see cref="RefreshResult.Entry"/>, never stored); the stored entry stays as it was, stale.
    /// </summary>
    NoLongerStorable,
}

/// <summary>The result of <see cref="ConditionalPolicy.Refresh"/>.</summary>
public readonly record struct RefreshResult(RefreshOutcome Outcome, CachedResponse? Entry, RefusalReason Refusal);
