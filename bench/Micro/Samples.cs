using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;

namespace Porter.Bench.Micro;

/// <summary>Requests and responses shaped like the side-by-side benchmark's (a browser GET of a 2 KB public page).</summary>
public static class Samples
{
    public const string App = "shop";
    public const string Scheme = "http";
    public const string Host = "Shop.Example.com:80";
    public const string Path = "/products/42";
    public const string Query = "?page=2&sort=price";

    public static readonly TurbocacheOptions Options = new();

    /// <summary>What a browser sends (wrk sends only Host; this is the heavier, realistic case).</summary>
    public static HeaderDictionary BrowserRequest() => new()
    {
        ["Host"] = "shop.example.com",
        ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ["Accept-Language"] = "en-GB,en;q=0.5",
        ["Accept-Encoding"] = "gzip, deflate, br",
        ["Connection"] = "keep-alive",
    };

    /// <summary>The origin's answer to `/`: public, max-age=60, with a validator, as Node sends it.</summary>
    public static HeaderDictionary OriginResponse(DateTimeOffset now, string cacheControl = "public, max-age=60") => new()
    {
        ["Content-Type"] = "text/html; charset=utf-8",
        ["Content-Length"] = "2048",
        ["Cache-Control"] = cacheControl,
        ["ETag"] = "\"800-5f2a9c\"",
        ["Last-Modified"] = now.AddHours(-1).UtcDateTime.ToString("r"),
        ["Date"] = now.UtcDateTime.ToString("r"),
        ["X-Powered-By"] = "bench-origin",
        ["Keep-Alive"] = "timeout=75",
        ["Connection"] = "keep-alive",
    };

    public static byte[] Body() => new byte[2048];

    /// <summary>A stored entry of the page; max-age=3600 so it stays fresh however long a benchmark process runs.</summary>
    public static CachedResponse Entry(DateTimeOffset now)
    {
        var policy = new ResponsePolicy(Options, null);
        var request = BrowserRequest();
        var response = OriginResponse(now, "public, max-age=3600");
        var evaluation = policy.Evaluate("GET", request, 200, response, 2048, now, now);
        if (!evaluation.IsStorable)
            throw new InvalidOperationException($"sample response refused: {evaluation.Refusal}");
        return CachedResponse.Create(evaluation, 200, response, Body());
    }

    public static KeyValuePair<string, StringValues>[] Copy(IHeaderDictionary headers) => headers.ToArray();
}
