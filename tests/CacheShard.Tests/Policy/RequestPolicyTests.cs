using Porter.CacheShard.Policy;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Policy;

public sealed class RequestPolicyTests
{
    private static RequestEvaluation Evaluate(string method, params string[] headers) =>
        new RequestPolicy(null).Evaluate(method, Headers(headers));

    [Theory]
    [InlineData("GET", RequestDisposition.Lookup)]
    [InlineData("HEAD", RequestDisposition.Lookup)]
    [InlineData("OPTIONS", RequestDisposition.Pass)]
    [InlineData("TRACE", RequestDisposition.Pass)]
    [InlineData("POST", RequestDisposition.Invalidate)]
    [InlineData("PUT", RequestDisposition.Invalidate)]
    [InlineData("PATCH", RequestDisposition.Invalidate)]
    [InlineData("DELETE", RequestDisposition.Invalidate)]
    [InlineData("PROPPATCH", RequestDisposition.Invalidate)]
    [InlineData("get", RequestDisposition.Invalidate)]
    public void Only_get_and_head_are_looked_up_and_unsafe_methods_invalidate(string method, RequestDisposition expected)
    {
        Assert.Equal(expected, Evaluate(method).Disposition);
    }

    [Fact]
    public void Head_is_answered_from_the_get_entry()
    {
        var evaluation = Evaluate("HEAD");
        Assert.True(evaluation.IsHead);
        Assert.True(evaluation.CanLookup);
    }

    [Theory]
    [InlineData("Cache-Control: no-cache")]
    [InlineData("Cache-Control: max-age=0")]
    [InlineData("Cache-Control: max-age=garbage")]
    [InlineData("Pragma: no-cache")]
    [InlineData("If-Match: \"v1\"")]
    [InlineData("If-Unmodified-Since: Sat, 01 Mar 2025 12:00:00 GMT")]
    public void Bypasses_lookup_but_may_store(string header)
    {
        var evaluation = Evaluate("GET", header);
        Assert.Equal(RequestDisposition.Bypass, evaluation.Disposition);
        Assert.False(evaluation.CanLookup);
        Assert.True(evaluation.MayStore);
    }

    [Fact]
    public void Pragma_is_ignored_when_cache_control_is_present()
    {
        Assert.Equal(RequestDisposition.Lookup, Evaluate("GET", "Cache-Control: max-age=60", "Pragma: no-cache").Disposition);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public void No_store_request_neither_looks_up_nor_stores(string method)
    {
        var evaluation = Evaluate(method, "Cache-Control: no-store");
        Assert.Equal(RequestDisposition.NoStore, evaluation.Disposition);
        Assert.Equal(RefusalReason.RequestNoStore, evaluation.Refusal);
        Assert.False(evaluation.MayStore);
    }

    [Theory]
    [InlineData("level=staff; level=anon")]
    [InlineData("a=1 level=staff")]
    [InlineData("a=1, level=staff")]
    [InlineData("level=\"staff\"")]
    public void Ambiguous_vary_cookie_neither_looks_up_nor_stores(string cookie)
    {
        var evaluation = new RequestPolicy("level").Evaluate("GET", Headers($"Cookie: {cookie}"));
        Assert.Equal(RequestDisposition.NoStore, evaluation.Disposition);
        Assert.Equal(RefusalReason.AmbiguousVaryCookie, evaluation.Refusal);
        Assert.Equal(RequestDisposition.Lookup,
            new RequestPolicy("level").Evaluate("GET", Headers("Cookie: level=staff; level=staff")).Disposition);
    }

    [Fact]
    public void Cookie_header_shape_matters_only_with_a_vary_cookie()
    {
        Assert.Equal(RequestDisposition.Lookup, Evaluate("GET", "Cookie: a=1 level=staff").Disposition);
    }

    [Theory]
    [InlineData("GET", "Content-Length: 13")]
    [InlineData("GET", "Transfer-Encoding: chunked")]
    [InlineData("HEAD", "Content-Length: 1")]
    [InlineData("GET", "Transfer-Encoding: identity")]
    public void Request_with_a_body_neither_looks_up_nor_stores(string method, string header)
    {
        var evaluation = Evaluate(method, header);
        Assert.Equal(RequestDisposition.NoStore, evaluation.Disposition);
        Assert.Equal(RefusalReason.RequestBody, evaluation.Refusal);
        Assert.False(evaluation.CanLookup);
        Assert.False(evaluation.MayStore);
    }

    [Fact]
    public void An_empty_body_is_no_body()
    {
        var evaluation = Evaluate("GET", "Content-Length: 0");
        Assert.Equal(RequestDisposition.Lookup, evaluation.Disposition);
        Assert.Equal(RefusalReason.None, evaluation.Refusal);
    }

    [Fact]
    public void Plain_get_is_served_from_a_fresh_entry()
    {
        var entry = Store(["Cache-Control: max-age=60"]);
        Assert.True(Evaluate("GET").CanUse(entry, T0.AddSeconds(10)));
        Assert.False(Evaluate("GET").CanUse(entry, T0.AddSeconds(60)));
    }

    [Theory]
    [InlineData("max-age=60", false)]
    [InlineData("public, max-age=60", true)]
    [InlineData("s-maxage=60", true)]
    [InlineData("max-age=60, must-revalidate", true)]
    public void Authorized_request_is_served_only_from_entries_marked_shareable(string cacheControl, bool served)
    {
        var entry = Store([$"Cache-Control: {cacheControl}"]);
        Assert.Equal(served, Evaluate("GET", "Authorization: Basic dXNlcjpwdw==").CanUse(entry, T0));
        Assert.True(Evaluate("GET").CanUse(entry, T0));
    }

    [Fact]
    public void Request_max_age_limits_the_age_served()
    {
        var entry = Store(["Cache-Control: max-age=600"]);
        Assert.True(Evaluate("GET", "Cache-Control: max-age=30").CanUse(entry, T0.AddSeconds(30)));
        Assert.False(Evaluate("GET", "Cache-Control: max-age=30").CanUse(entry, T0.AddSeconds(31)));
    }

    [Fact]
    public void Request_min_fresh_requires_remaining_freshness()
    {
        var entry = Store(["Cache-Control: max-age=60"]);
        Assert.True(Evaluate("GET", "Cache-Control: min-fresh=20").CanUse(entry, T0.AddSeconds(40)));
        Assert.False(Evaluate("GET", "Cache-Control: min-fresh=20").CanUse(entry, T0.AddSeconds(41)));
    }

    [Fact]
    public void Bypassing_request_never_uses_an_entry()
    {
        var entry = Store(["Cache-Control: max-age=60"]);
        Assert.False(Evaluate("GET", "Cache-Control: no-cache").CanUse(entry, T0));
    }

    [Fact]
    public void Only_if_cached_is_reported()
    {
        Assert.True(Evaluate("GET", "Cache-Control: only-if-cached").OnlyIfCached);
    }
}
