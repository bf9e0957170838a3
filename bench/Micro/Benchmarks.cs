using System.Reflection;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.Bench.Micro;

/// <summary>Cache key: the lookup form (format into a stack buffer) against the allocating forms.</summary>
[MemoryDiagnoser]
public class CacheKeyBenchmarks
{
    // Fields, not constants, so the JIT cannot fold the work away.
    private string _app = Samples.App, _scheme = Samples.Scheme, _host = Samples.Host, _path = Samples.Path, _query = Samples.Query;

    [Benchmark(Baseline = true, Description = "CacheKeyParts.Format (lookup form, stack buffer)")]
    public int FormatIntoStackBuffer()
    {
        var parts = new CacheKeyParts(_app, _scheme, _host, _path, _query);
        Span<char> buffer = stackalloc char[parts.Length];
        return parts.Format(buffer);
    }

    [Benchmark(Description = "CacheKeyParts.ToKey (store form, allocates the string)")]
    public CacheKey ToKey() => new CacheKeyParts(_app, _scheme, _host, _path, _query).ToKey();

    [Benchmark(Description = "CacheKey.Create")]
    public CacheKey Create() => CacheKey.Create(_app, _scheme, _host, _path, _query);

    private readonly CacheMessageExtractor _extractor = new();
    private readonly CacheKey _key = CacheKey.Create(Samples.App, Samples.Scheme, Samples.Host, Samples.Path, Samples.Query);

    [Benchmark(Description = "CacheMessageExtractor.ShardOf (key to its shard's store)")]
    public string ShardOf() => _extractor.ShardOf(_key);
}

/// <summary>Request policy: a browser GET (the common case) and one with Cache-Control: max-age=0 (a reload).</summary>
[MemoryDiagnoser]
public class RequestPolicyBenchmarks
{
    private readonly RequestPolicy _policy = new(null);
    private readonly RequestPolicy _cookiePolicy = new("access_level");
    private IHeaderDictionary _browser = null!, _reload = null!, _withCookie = null!;
    private CachedResponse _entry = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        _now = DateTimeOffset.UtcNow;
        _browser = Samples.BrowserRequest();
        _reload = Samples.BrowserRequest();
        _reload.CacheControl = "max-age=0";
        _withCookie = Samples.BrowserRequest();
        _withCookie.Cookie = "_ga=GA1.2.3.4; access_level=member; theme=dark; session=abcdef0123456789";
        _entry = Samples.Entry(_now);
    }

    [Benchmark(Baseline = true, Description = "Evaluate: browser GET")]
    public RequestDisposition Browser() => _policy.Evaluate("GET", _browser).Disposition;

    [Benchmark(Description = "Evaluate: GET with Cache-Control: max-age=0")]
    public RequestDisposition Reload() => _policy.Evaluate("GET", _reload).Disposition;

    [Benchmark(Description = "Evaluate: GET, vary-by-cookie app, 4 cookies")]
    public RequestDisposition VaryCookie() => _cookiePolicy.Evaluate("GET", _withCookie).Disposition;

    [Benchmark(Description = "Evaluate + CanUse(entry)")]
    public bool EvaluateAndCanUse() => _policy.Evaluate("GET", _browser).CanUse(_entry, _now);
}

/// <summary>Response policy on the origin's answer, and building the stored entry (the miss/store path).</summary>
[MemoryDiagnoser]
public class ResponsePolicyBenchmarks
{
    private readonly ResponsePolicy _policy = new(Samples.Options, null);
    private IHeaderDictionary _request = null!, _response = null!, _private = null!;
    private DateTimeOffset _now;
    private byte[] _body = null!;

    [GlobalSetup]
    public void Setup()
    {
        _now = DateTimeOffset.UtcNow;
        _request = Samples.BrowserRequest();
        _response = Samples.OriginResponse(_now);
        _private = Samples.OriginResponse(_now);
        _private.CacheControl = "private";
        _body = Samples.Body();
    }

    [Benchmark(Baseline = true, Description = "Evaluate: public, max-age=60")]
    public RefusalReason Storable() => _policy.Evaluate("GET", _request, 200, _response, 2048, _now, _now).Refusal;

    [Benchmark(Description = "Evaluate: private (refused)")]
    public RefusalReason Private() => _policy.Evaluate("GET", _request, 200, _private, 2048, _now, _now).Refusal;

    [Benchmark(Description = "Evaluate + CachedResponse.Create (store path)")]
    public CachedResponse EvaluateAndCreate()
    {
        var evaluation = _policy.Evaluate("GET", _request, 200, _response, 2048, _now, _now);
        return CachedResponse.Create(evaluation, 200, _response, _body);
    }
}

/// <summary>Near cache: a hot key's lookup must allocate nothing (the span-keyed alternate lookup).</summary>
[MemoryDiagnoser]
public class NearCacheBenchmarks
{
    private NearResponseCache _cache = null!;
    private IHeaderDictionary _request = null!;
    private CacheKey _key;
    private string _app = Samples.App, _scheme = Samples.Scheme, _host = Samples.Host, _path = Samples.Path, _query = Samples.Query;

    /// <summary>Entries held besides the hot one (a near cache at its default bound holds 4096).</summary>
    [Params(1, 4096)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        // Long staleness bound so entries stay servable for the whole benchmark.
        _cache = new NearResponseCache(new TurbocacheOptions { NearCacheMaxStaleness = TimeSpan.FromHours(1), NearCacheMaxEntries = 8192 });
        _request = Samples.BrowserRequest();
        var entry = Samples.Entry(now);
        _key = CacheKey.Create(_app, _scheme, _host, _path, _query);
        for (int i = 1; i < Entries; i++)
            _cache.Set(CacheKey.Create(_app, _scheme, _host, _path, "?page=" + i), entry, now);
        _cache.Set(_key, entry, now);
    }

    [Benchmark(Baseline = true, Description = "TryGet(CacheKeyParts) hot key")]
    public bool LookupByParts()
    {
        var parts = new CacheKeyParts(_app, _scheme, _host, _path, _query);
        return _cache.TryGet(parts, _request, DateTimeOffset.UtcNow, out _);
    }

    [Benchmark(Description = "TryGet(CacheKey) hot key, key prebuilt")]
    public bool LookupByKey() => _cache.TryGet(_key, _request, DateTimeOffset.UtcNow, out _);

    [Benchmark(Description = "TryGet(CacheKeyParts) miss")]
    public bool Miss()
    {
        var parts = new CacheKeyParts(_app, _scheme, _host, "/not/cached", _query);
        return _cache.TryGet(parts, _request, DateTimeOffset.UtcNow, out _);
    }
}

/// <summary>
/// Header serialisation on a hit: copying a CachedResponse's header block into the response's header dictionary,
/// into ASP.NET's HeaderDictionary and into Kestrel's own HttpResponseHeaders (the type a real response uses).
/// </summary>
[MemoryDiagnoser]
public class HeaderSerialisationBenchmarks
{
    private CachedResponse _entry = null!;
    private IHeaderDictionary _plain = null!, _kestrel = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        _now = DateTimeOffset.UtcNow;
        _entry = Samples.Entry(_now);
        _plain = new HeaderDictionary();
        _kestrel = KestrelResponseHeaders();
        // First copies size the dictionaries, as on a connection that has served before.
        Copy(_plain);
        Copy(_kestrel);
    }

    [Benchmark(Baseline = true, Description = "into Kestrel HttpResponseHeaders")]
    public int IntoKestrel() => Copy(_kestrel);

    [Benchmark(Description = "into HeaderDictionary")]
    public int IntoHeaderDictionary() => Copy(_plain);

    private int Copy(IHeaderDictionary headers)
    {
        headers.Clear();
        foreach (var header in _entry.Headers)
            headers[header.Key] = header.Value;
        headers.ContentLength = _entry.ContentLength;
        headers.Age = _entry.AgeHeaderValue(_now);
        headers["X-Cache"] = "HIT";
        return headers.Count;
    }

    internal static IHeaderDictionary KestrelResponseHeaders()
    {
        var type = Type.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpResponseHeaders, Microsoft.AspNetCore.Server.Kestrel.Core", throwOnError: true)!;
        var instance = Activator.CreateInstance(type, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic,
            binder: null, args: [null], culture: null)!;
        return (IHeaderDictionary)instance;
    }
}

/// <summary>
/// Header serialisation between the gateway and the cache store: a CachedResponse's headers into the one
/// <see cref="HeaderBlock"/> the store keeps (store path), and back (an answer from the store, once per near-cache fill).
/// </summary>
[MemoryDiagnoser]
public class HeaderBlockBenchmarks
{
    private CachedResponse _entry = null!;
    private CacheEntryData _data = null!;

    [GlobalSetup]
    public void Setup()
    {
        _entry = Samples.Entry(DateTimeOffset.UtcNow);
        _data = CacheEntryMapping.ToData(_entry);
    }

    [Benchmark(Baseline = true, Description = "encode the stored headers into one block")]
    public int Encode() => CacheEntryMapping.EncodeHeaders(_entry.Headers).Length;

    [Benchmark(Description = "ToData (wire/store record of an entry)")]
    public CacheEntryData ToData() => CacheEntryMapping.ToData(_entry);

    [Benchmark(Description = "ToEntry (rebuild a CachedResponse from the store record)")]
    public CachedResponse ToEntry() => CacheEntryMapping.ToEntry(_data);

    [Benchmark(Description = "HeaderBlock.Contains (validator check, no decoding)")]
    public bool ContainsETag() => HeaderBlock.Contains(_data.Headers, "ETag");
}

/// <summary>The whole per-hit work outside Kestrel: key, request policy, near-cache lookup, freshness, conditional check, header copy.</summary>
[MemoryDiagnoser]
public class HitPathBenchmarks
{
    private NearResponseCache _cache = null!;
    private readonly RequestPolicy _policy = new(null);
    private IHeaderDictionary _request = null!, _response = null!;
    private string _app = Samples.App, _scheme = Samples.Scheme, _host = Samples.Host, _path = Samples.Path, _query = Samples.Query;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        _cache = new NearResponseCache(new TurbocacheOptions { NearCacheMaxStaleness = TimeSpan.FromHours(1) });
        _request = Samples.BrowserRequest();
        _cache.Set(CacheKey.Create(_app, _scheme, _host, _path, _query), Samples.Entry(now), now);
        _response = HeaderSerialisationBenchmarks.KestrelResponseHeaders();
    }

    [Benchmark(Description = "hit: key + policy + near lookup + CanUse + 304 check + headers")]
    public int Hit()
    {
        var now = DateTimeOffset.UtcNow;
        var evaluation = _policy.Evaluate("GET", _request);
        if (!evaluation.CanLookup)
            return -1;
        var parts = new CacheKeyParts(_app, _scheme, _host, _path, _query);
        if (!_cache.TryGet(parts, _request, now, out var entry) || !evaluation.CanUse(entry, now))
            return -2;
        if (ConditionalPolicy.IsNotModified(_request, entry))
            return 304;
        _response.Clear();
        foreach (var header in entry.Headers)
            _response[header.Key] = header.Value;
        _response.ContentLength = entry.ContentLength;
        _response.Age = entry.AgeHeaderValue(now);
        _response["X-Cache"] = "HIT";
        return entry.Body.Length;
    }
}
