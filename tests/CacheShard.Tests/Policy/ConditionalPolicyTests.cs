using Porter.CacheShard.Policy;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Policy;

public sealed class ConditionalPolicyTests
{
    private static readonly DateTimeOffset Modified = T0.AddDays(-1);

    private static CachedResponse Entry(params string[] extra) =>
        Store(["Cache-Control: max-age=60", .. extra]);

    [Theory]
    [InlineData("\"v1\"", "\"v1\"", true)]
    [InlineData("\"v1\"", "W/\"v1\"", true)]
    [InlineData("W/\"v1\"", "\"v1\"", true)]
    [InlineData("W/\"v1\"", "W/\"v1\"", true)]
    [InlineData("\"v1\"", "\"v2\"", false)]
    [InlineData("\"v1\"", "\"v0\", \"v1\"", true)]
    [InlineData("\"v1\"", "\"v0\",W/\"v1\"", true)]
    [InlineData("\"v1\"", "\"v0\", \"v2\"", false)]
    [InlineData("\"v1\"", "*", true)]
    [InlineData("\"a,b\"", "\"a,b\"", true)]
    [InlineData("\"a,b\"", "\"a\", \"b\"", false)]
    [InlineData("\"v1\"", "\"V1\"", false)]
    public void If_none_match_uses_weak_comparison_lists_and_star(string etag, string ifNoneMatch, bool notModified)
    {
        var entry = Entry($"ETag: {etag}");
        Assert.Equal(notModified, ConditionalPolicy.IsNotModified(Headers($"If-None-Match: {ifNoneMatch}"), entry));
    }

    [Fact]
    public void If_none_match_across_several_field_lines()
    {
        var entry = Entry("ETag: \"v3\"");
        Assert.True(ConditionalPolicy.IsNotModified(Headers("If-None-Match: \"v1\"", "If-None-Match: \"v3\""), entry));
    }

    [Fact]
    public void If_none_match_star_matches_an_entry_without_etag()
    {
        Assert.True(ConditionalPolicy.IsNotModified(Headers("If-None-Match: *"), Entry()));
        Assert.False(ConditionalPolicy.IsNotModified(Headers("If-None-Match: \"v1\""), Entry()));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(3600, true)]
    [InlineData(-1, false)]
    public void If_modified_since_compares_with_last_modified(int offsetSeconds, bool notModified)
    {
        var entry = Entry($"Last-Modified: {Date(Modified)}");
        var request = Headers($"If-Modified-Since: {Date(Modified.AddSeconds(offsetSeconds))}");
        Assert.Equal(notModified, ConditionalPolicy.IsNotModified(request, entry));
    }

    [Fact]
    public void If_modified_since_falls_back_to_date_without_last_modified()
    {
        var entry = Entry();
        Assert.True(ConditionalPolicy.IsNotModified(Headers($"If-Modified-Since: {Date(T0)}"), entry));
        Assert.False(ConditionalPolicy.IsNotModified(Headers($"If-Modified-Since: {Date(T0.AddSeconds(-1))}"), entry));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("Sat,  01 Mar 2025 12:00:00 GMT")] // after Last-Modified, but two spaces: not an HTTP-date
    public void Invalid_if_modified_since_is_ignored(string since)
    {
        var entry = Entry($"Last-Modified: {Date(Modified)}");
        Assert.False(ConditionalPolicy.IsNotModified(Headers($"If-Modified-Since: {since}"), entry));
    }

    [Fact]
    public void If_modified_since_is_ignored_when_if_none_match_is_present()
    {
        var entry = Entry("ETag: \"v1\"", $"Last-Modified: {Date(Modified)}");
        var request = Headers("If-None-Match: \"v2\"", $"If-Modified-Since: {Date(T0)}");
        Assert.False(ConditionalPolicy.IsNotModified(request, entry));
    }

    [Fact]
    public void Unconditional_request_gets_the_full_response()
    {
        Assert.False(ConditionalPolicy.IsNotModified(Headers(), Entry("ETag: \"v1\"")));
    }

    [Fact]
    public void Revalidation_sends_the_entrys_validators()
    {
        static string[] Lines(KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>[] headers) =>
            headers.Select(h => $"{h.Key}: {h.Value}").ToArray();

        Assert.Equal(["If-None-Match: \"v1\"", $"If-Modified-Since: {Date(Modified)}"],
            Lines(ConditionalPolicy.RevalidationHeaders(Entry("ETag: \"v1\"", $"Last-Modified: {Date(Modified)}"))));
        Assert.Equal([$"If-Modified-Since: {Date(Modified)}"],
            Lines(ConditionalPolicy.RevalidationHeaders(Entry($"Last-Modified: {Date(Modified)}"))));
        Assert.Empty(ConditionalPolicy.RevalidationHeaders(Entry()));
        // An invalid Last-Modified is not a validator: nothing to send, nothing to revalidate.
        var invalid = Entry("Last-Modified: Sat,  01 Mar 2025 11:00:00 GMT");
        Assert.Empty(ConditionalPolicy.RevalidationHeaders(invalid));
        Assert.False(invalid.HasValidator);
    }

    [Fact]
    public void Refresh_from_304_updates_headers_and_freshness_and_keeps_the_body()
    {
        var entry = Store(["Cache-Control: max-age=60", "ETag: \"v1\"", "X-Version: 1", "Content-Type: text/plain"]);
        var later = T0.AddMinutes(5);
        var notModified = Headers("Cache-Control: max-age=120", "ETag: \"v1\"", "X-Version: 2", $"Date: {Date(later)}", "Content-Length: 0");

        var result = ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, notModified, Headers(), later, later);

        Assert.Equal(RefreshOutcome.Refreshed, result.Outcome);
        var refreshed = result.Entry!;
        Assert.Equal(TimeSpan.FromSeconds(120), refreshed.FreshnessLifetime);
        Assert.True(refreshed.IsFresh(later.AddSeconds(100)));
        Assert.Equal("2", refreshed.Headers.ToArray().Single(h => h.Key == "X-Version").Value.ToString());
        Assert.Equal("text/plain", refreshed.Headers.ToArray().Single(h => h.Key == "Content-Type").Value.ToString());
        Assert.DoesNotContain(refreshed.Headers.ToArray(), h => h.Key == "Content-Length");
        Assert.Equal("hello"u8.ToArray(), refreshed.Body.ToArray());
        Assert.Equal(5, refreshed.ContentLength);
    }

    [Fact]
    public void Refresh_without_date_dates_the_entry_at_receipt()
    {
        var entry = Store(["Cache-Control: max-age=60", "ETag: \"v1\""]);
        var later = T0.AddMinutes(5);
        var result = ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, Headers("ETag: \"v1\""), Headers(), later, later);
        Assert.Equal(RefreshOutcome.Refreshed, result.Outcome);
        Assert.Equal(later, result.Entry!.Date);
        Assert.True(result.Entry.IsFresh(later.AddSeconds(59)));
    }

    [Fact]
    public void Refresh_with_a_different_strong_etag_is_a_mismatch()
    {
        var entry = Store(["Cache-Control: max-age=60", "ETag: \"v1\""]);
        var result = ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, Headers("ETag: \"v2\""), Headers(), T0, T0);
        Assert.Equal(RefreshOutcome.ValidatorMismatch, result.Outcome);
        Assert.Null(result.Entry);
    }

    [Fact]
    public void Refresh_with_a_weak_etag_matches_weakly()
    {
        var entry = Store(["Cache-Control: max-age=60", "ETag: W/\"v1\""]);
        Assert.Equal(RefreshOutcome.Refreshed, ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, Headers("ETag: W/\"v1\""), Headers(), T0, T0).Outcome);
        Assert.Equal(RefreshOutcome.ValidatorMismatch, ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, Headers("ETag: \"v1\""), Headers(), T0, T0).Outcome);
    }

    [Fact]
    public void Refresh_with_a_different_last_modified_is_a_mismatch()
    {
        var entry = Store(["Cache-Control: max-age=60", $"Last-Modified: {Date(Modified)}"]);
        var result = ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, Headers($"Last-Modified: {Date(T0)}"), Headers(), T0, T0);
        Assert.Equal(RefreshOutcome.ValidatorMismatch, result.Outcome);
    }

    [Theory]
    [InlineData("Set-Cookie: session=1", RefusalReason.SetCookie)]
    [InlineData("Cache-Control: private", RefusalReason.Private)]
    [InlineData("Cache-Control: no-store", RefusalReason.NoStore)]
    public void Refresh_that_makes_the_entry_unstorable_answers_this_request_only(string header, RefusalReason reason)
    {
        var entry = Store(["Cache-Control: max-age=60", "ETag: \"v1\"", "X-Version: 1"]);
        var later = T0.AddMinutes(5);
        var result = ConditionalPolicy.Refresh(ResponsePolicyFor(), entry, Headers("ETag: \"v1\"", "X-Version: 2", header), Headers(), later, later);
        Assert.Equal(RefreshOutcome.NoLongerStorable, result.Outcome);
        Assert.Equal(reason, result.Refusal);
        // The full response the app stands by: the stored body with the 304's fields, never fresh (it is not to be kept).
        var answer = result.Entry!;
        Assert.Equal(200, answer.StatusCode);
        Assert.Equal("hello"u8.ToArray(), answer.Body.ToArray());
        var (name, value) = header.Split(": ", 2) is [var n, var v] ? (n, v) : throw new InvalidOperationException();
        Assert.Contains(answer.Headers.ToArray(), h => h.Key == name && h.Value.ToString() == value);
        Assert.Equal("2", answer.Headers.ToArray().Single(h => h.Key == "X-Version").Value.ToString());
        Assert.Equal(later, answer.Date);
        Assert.False(answer.IsFresh(later));
    }
}
