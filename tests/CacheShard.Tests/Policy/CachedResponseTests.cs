using Porter.CacheShard.Policy;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Policy;

public sealed class CachedResponseTests
{
    [Fact]
    public void Age_includes_apparent_age_from_date()
    {
        var entry = Store(["Cache-Control: max-age=60", $"Date: {Date(T0.AddSeconds(-10))}"]);
        Assert.Equal(TimeSpan.FromSeconds(10), entry.CurrentAge(T0));
    }

    [Fact]
    public void Age_includes_upstream_age_plus_response_delay()
    {
        // Sent at T0-2s, received at T0 with Age 30 and a Date equal to receipt: corrected age is 30 + 2.
        var entry = Store(["Cache-Control: max-age=60", "Age: 30"], requestTime: T0.AddSeconds(-2));
        Assert.Equal(TimeSpan.FromSeconds(32), entry.InitialAge);
    }

    [Fact]
    public void Age_takes_the_larger_of_apparent_and_corrected_age()
    {
        var entry = Store(["Cache-Control: max-age=600", "Age: 5", $"Date: {Date(T0.AddSeconds(-100))}"],
            requestTime: T0.AddSeconds(-1));
        Assert.Equal(TimeSpan.FromSeconds(100), entry.InitialAge);
    }

    [Fact]
    public void Date_in_the_future_gives_no_negative_age()
    {
        var entry = Store(["Cache-Control: max-age=60", $"Date: {Date(T0.AddMinutes(5))}"]);
        Assert.Equal(TimeSpan.Zero, entry.CurrentAge(T0));
    }

    [Fact]
    public void Age_grows_with_time_resident_in_the_cache()
    {
        var entry = Store(["Cache-Control: max-age=60", "Age: 10"]);
        Assert.Equal(TimeSpan.FromSeconds(25), entry.CurrentAge(T0.AddSeconds(15)));
        Assert.Equal("25", entry.AgeHeaderValue(T0.AddSeconds(15)));
        Assert.Same(entry.AgeHeaderValue(T0.AddSeconds(15)), entry.AgeHeaderValue(T0.AddSeconds(15.5)));
    }

    [Fact]
    public void Invalid_upstream_age_is_ignored()
    {
        Assert.Equal(TimeSpan.Zero, Store(["Cache-Control: max-age=60", "Age: -5"]).InitialAge);
        Assert.Equal(TimeSpan.Zero, Store(["Cache-Control: max-age=60", "Age: ten"]).InitialAge);
    }

    [Fact]
    public void Is_fresh_until_age_reaches_lifetime()
    {
        var entry = Store(["Cache-Control: max-age=60"]);
        Assert.True(entry.IsFresh(T0.AddSeconds(59)));
        Assert.False(entry.IsFresh(T0.AddSeconds(60)));
    }

    [Fact]
    public void Serves_stale_while_revalidate_only_within_its_window()
    {
        var entry = Store(["Cache-Control: max-age=60, stale-while-revalidate=30"]);
        Assert.False(entry.CanServeStaleWhileRevalidate(T0.AddSeconds(30))); // still fresh
        Assert.True(entry.CanServeStaleWhileRevalidate(T0.AddSeconds(75)));
        Assert.True(entry.CanServeStaleWhileRevalidate(T0.AddSeconds(90)));
        Assert.False(entry.CanServeStaleWhileRevalidate(T0.AddSeconds(91)));
        Assert.False(entry.CanServeStaleIfError(T0.AddSeconds(75)));
    }

    [Fact]
    public void Serves_stale_if_error_only_within_its_window()
    {
        var entry = Store(["Cache-Control: max-age=60, stale-if-error=600"]);
        Assert.True(entry.CanServeStaleIfError(T0.AddSeconds(600)));
        Assert.False(entry.CanServeStaleIfError(T0.AddSeconds(661)));
    }

    [Theory]
    [InlineData("max-age=60, must-revalidate, stale-if-error=600, stale-while-revalidate=600")]
    [InlineData("max-age=60, proxy-revalidate, stale-if-error=600, stale-while-revalidate=600")]
    public void Must_revalidate_forbids_serving_stale(string cacheControl)
    {
        var entry = Store([$"Cache-Control: {cacheControl}"]);
        Assert.False(entry.CanServeStaleIfError(T0.AddSeconds(90)));
        Assert.False(entry.CanServeStaleWhileRevalidate(T0.AddSeconds(90)));
    }

    [Fact]
    public void Explicit_stale_if_error_is_honoured_with_s_maxage()
    {
        var entry = Store(["Cache-Control: s-maxage=60, stale-if-error=600"]);
        Assert.True(entry.CanServeStaleIfError(T0.AddSeconds(90)));
    }

    [Fact]
    public void Stored_headers_drop_hop_by_hop_connection_listed_length_and_age()
    {
        var entry = Store([
            "Cache-Control: max-age=60", "Content-Type: text/plain", "Connection: close, X-Trace",
            "X-Trace: 1", "Keep-Alive: timeout=5", "Transfer-Encoding: chunked", "Content-Length: 5",
            "Age: 3", "Upgrade: h2c", "X-App: kept",
        ]);
        var names = entry.Headers.ToArray().Select(h => h.Key).ToArray();
        Assert.Equal(["Date", "Cache-Control", "Content-Type", "X-App"], names);
    }

    [Fact]
    public void Date_is_added_when_the_app_sent_none()
    {
        var response = Headers("Cache-Control: max-age=60");
        var evaluation = ResponsePolicyFor().Evaluate("GET", Headers(), 200, response, 1, T0, T0);
        var entry = CachedResponse.Create(evaluation, 200, response, [1]);
        Assert.Equal(Date(T0), entry.Headers.ToArray().Single(h => h.Key == "Date").Value.ToString());
    }

    [Fact]
    public void Not_modified_headers_carry_only_what_a_304_needs()
    {
        var entry = Store([
            "Cache-Control: max-age=60", "ETag: \"v1\"", "Vary: Accept", "Content-Type: text/html",
            "Content-Location: /a.html", $"Expires: {Date(T0.AddMinutes(1))}", $"Last-Modified: {Date(T0.AddDays(-1))}",
        ]);
        var names = entry.NotModifiedHeaders.ToArray().Select(h => h.Key).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(["Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary"], names);
        Assert.Equal("\"v1\"", entry.ETag);
    }

    [Fact]
    public void Not_modified_headers_include_last_modified_when_there_is_no_etag()
    {
        var entry = Store(["Cache-Control: max-age=60", $"Last-Modified: {Date(T0.AddDays(-1))}"]);
        Assert.Contains(entry.NotModifiedHeaders.ToArray(), h => h.Key == "Last-Modified");
        Assert.Equal(T0.AddDays(-1), entry.LastModifiedDate);
    }

    [Fact]
    public void No_content_has_no_content_length()
    {
        var response = Headers("Cache-Control: max-age=60");
        var evaluation = ResponsePolicyFor().Evaluate("GET", Headers(), 204, response, 0, T0, T0);
        Assert.Null(CachedResponse.Create(evaluation, 204, response, []).ContentLength);
        Assert.Equal(5, Store(["Cache-Control: max-age=60"]).ContentLength);
    }

    [Fact]
    public void A_refused_evaluation_cannot_become_an_entry()
    {
        var evaluation = Evaluate(["Cache-Control: private"]);
        Assert.Throws<InvalidOperationException>(() => CachedResponse.Create(evaluation, 200, Headers(), []));
    }
}
