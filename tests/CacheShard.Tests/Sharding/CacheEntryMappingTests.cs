using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Sharding;

public sealed class CacheEntryMappingTests
{
    [Fact]
    public void Entry_round_trips_through_its_wire_form()
    {
        var original = Store(
            ["Cache-Control: s-maxage=60, must-revalidate, stale-if-error=30", "Vary: Accept, X-Requested-With",
                "ETag: \"v1\"", $"Last-Modified: {Date(T0.AddDays(-1))}", "Content-Type: text/html", "X-Multi: a", "X-Multi: b",
                "Age: 7"],
            ["Accept: text/html", "Cookie: level=admin; other=1"],
            varyCookie: "level", body: "<p>hello</p>", requestTime: T0.AddSeconds(-2));

        var copy = CacheEntryMapping.ToEntry(CacheEntryMapping.ToData(original));

        Assert.Equal(original.StatusCode, copy.StatusCode);
        Assert.Equal(original.Headers.ToArray(), copy.Headers.ToArray());
        Assert.Equal(original.NotModifiedHeaders.ToArray(), copy.NotModifiedHeaders.ToArray());
        Assert.Equal(original.Body.ToArray(), copy.Body.ToArray());
        Assert.Equal(original.Variant, copy.Variant);
        Assert.Equal("admin", copy.Variant.CookieValue);
        Assert.Equal(["accept", "x-requested-with"], copy.Variant.HeaderNames);
        Assert.Equal(["text/html", null], copy.Variant.HeaderValues);
        Assert.Equal(original.RequestTime, copy.RequestTime);
        Assert.Equal(original.ResponseTime, copy.ResponseTime);
        Assert.Equal(original.Date, copy.Date);
        Assert.Equal(original.AgeValue, copy.AgeValue);
        Assert.Equal(original.InitialAge, copy.InitialAge);
        Assert.Equal(original.FreshnessLifetime, copy.FreshnessLifetime);
        Assert.Equal(original.StaleWhileRevalidate, copy.StaleWhileRevalidate);
        Assert.Equal(original.StaleIfError, copy.StaleIfError);
        Assert.Equal(original.Flags, copy.Flags);
        Assert.Equal(CacheEntryFlags.MustRevalidate | CacheEntryFlags.SharedWithAuthorization, copy.Flags);
        Assert.Equal(original.ETag, copy.ETag);
        Assert.Equal(original.LastModifiedDate, copy.LastModifiedDate);
    }

    [Fact]
    public void Wire_form_shares_the_body_instead_of_copying_it()
    {
        var entry = Store(["Cache-Control: max-age=60"]);
        var data = CacheEntryMapping.ToData(entry);
        Assert.Same(data.Body, CacheEntryMapping.ToEntry(data).BodyArray);
    }

    [Fact]
    public void Entry_without_vary_maps_to_the_shared_empty_variant()
    {
        var copy = CacheEntryMapping.ToEntry(CacheEntryMapping.ToData(Store(["Cache-Control: max-age=60"])));
        Assert.Same(VariantKey.None, copy.Variant);
    }

    [Fact]
    public void Lookup_headers_leave_out_hop_by_hop_fields_and_keep_the_rest()
    {
        var request = Headers("Accept: text/html", "Connection: keep-alive, X-Hop", "X-Hop: 1", "Keep-Alive: timeout=5",
            "TE: trailers", "Cookie: level=admin", "Authorization: Bearer t", "X-Requested-With: XMLHttpRequest");

        var names = CacheEntryMapping.RequestHeaders(request).Select(h => h.Name).Order(StringComparer.Ordinal);

        Assert.Equal(["Accept", "Authorization", "Cookie", "X-Requested-With"], names);
    }

    [Fact]
    public void Lookup_headers_rebuild_multi_line_fields()
    {
        var request = Headers("Accept: text/html", "Accept: application/json", "X-One: 1");
        var rebuilt = CacheEntryMapping.ToHeaders(CacheEntryMapping.RequestHeaders(request));
        Assert.Equal(request["Accept"], rebuilt["Accept"]);
        Assert.Equal("1", rebuilt["X-One"].ToString());
        Assert.Equal(2, rebuilt.Count);
    }

    [Fact]
    public void Rebuilt_lookup_headers_select_the_same_variant()
    {
        var entry = Store(["Cache-Control: max-age=60", "Vary: X-Requested-With"], ["X-Requested-With: XMLHttpRequest"]);
        var ajax = CacheEntryMapping.ToHeaders(CacheEntryMapping.RequestHeaders(Headers("X-Requested-With: XMLHttpRequest")));
        var plain = CacheEntryMapping.ToHeaders(CacheEntryMapping.RequestHeaders(Headers("Accept: */*")));
        Assert.True(entry.Variant.Matches(ajax));
        Assert.False(entry.Variant.Matches(plain));
    }
}
