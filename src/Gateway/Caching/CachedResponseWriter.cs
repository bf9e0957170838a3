using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Porter.CacheShard.Policy;

namespace Porter.Gateway.Caching;

/// <summary>Writes a stored response to the client: status, the pre-built header block, Age, the cache status, the body.</summary>
internal static class CachedResponseWriter
{
    /// <summary>
    /// Answers from <paramref name="entry"/>: 304 when the request's own conditionals match (RFC 9110 §13.2.2),
    /// no body for HEAD, and <c>Age</c> computed now (RFC 9111 §4.2.3).
    /// </summary>
    public static Task WriteAsync(HttpContext context, CachedResponse entry, DateTimeOffset now, string? statusHeader, string cacheStatus)
    {
        var response = context.Response;
        var notModified = ConditionalPolicy.IsNotModified(context.Request.Headers, entry);
        var headers = response.Headers;
        if (notModified)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            Copy(headers, entry.NotModifiedHeaders);
        }
        else
        {
            response.StatusCode = entry.StatusCode;
            Copy(headers, entry.Headers);
            response.ContentLength = entry.ContentLength;
        }
        headers.Age = entry.AgeHeaderValue(now);
        context.Features.Set(CacheVerdict.Of(cacheStatus));
        if (statusHeader is not null) headers[statusHeader] = cacheStatus;

        if (notModified || HttpMethods.IsHead(context.Request.Method) || entry.Body.IsEmpty) return Task.CompletedTask;
        return response.Body.WriteAsync(entry.Body, context.RequestAborted).AsTask();
    }

    private static void Copy(IHeaderDictionary target, ReadOnlySpan<KeyValuePair<string, StringValues>> source)
    {
        foreach (var (name, value) in source) target[name] = value;
    }
}
