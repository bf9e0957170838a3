using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Policy;

/// <summary>Which primary keys an unsafe request invalidates (RFC 9111 §4.4), all variants of each.</summary>
/// <remarks>
/// Location and Content-Location are resolved against the request URI and count only on the request's host (any
/// port or scheme), so an app cannot purge another host's entries. Their keys use <see cref="Uri"/>'s escaped path,
/// which matches the request key whenever the app's URLs are already in canonical percent-encoding.
/// </remarks>
public static class InvalidationPolicy
{
    /// <summary>An unsafe method answered with 2xx or 3xx invalidates; errors and safe methods do not.</summary>
    public static bool Invalidates(string method, int statusCode) =>
        !HttpMethodRules.IsSafe(method) && statusCode is >= 200 and < 400;

    /// <summary>The keys to invalidate, request URI first, without duplicates; empty when nothing is invalidated.</summary>
    /// <param name="host">The Host header value (port included).</param>
    public static IReadOnlyList<CacheKey> KeysToInvalidate(string method, int statusCode, string app, string scheme,
        string host, string path, string? query, IHeaderDictionary responseHeaders)
    {
        if (!Invalidates(method, statusCode))
            return [];

        var keys = new List<CacheKey>(3) { CacheKey.Create(app, scheme, host, path, query) };
        string? location = HeaderRules.First(responseHeaders.Location);
        string? contentLocation = HeaderRules.First(responseHeaders[HeaderNames.ContentLocation]);
        if (location is null && contentLocation is null)
            return keys;

        string queryPart = string.IsNullOrEmpty(query) || query[0] == '?' ? query ?? "" : "?" + query;
        if (!Uri.TryCreate($"{scheme}://{host}{(path.Length == 0 ? "/" : path)}{queryPart}", UriKind.Absolute, out var requestUri))
            return keys;
        AddSameHost(keys, app, requestUri, location);
        AddSameHost(keys, app, requestUri, contentLocation);
        return keys;
    }

    private static void AddSameHost(List<CacheKey> keys, string app, Uri requestUri, string? reference)
    {
        if (reference is null || !Uri.TryCreate(requestUri, reference.Trim(), out var target))
            return;
        if (target.Scheme is not ("http" or "https")
            || !string.Equals(target.Host, requestUri.Host, StringComparison.OrdinalIgnoreCase))
            return;
        var key = CacheKey.FromUri(app, target);
        if (!keys.Contains(key))
            keys.Add(key);
    }
}
