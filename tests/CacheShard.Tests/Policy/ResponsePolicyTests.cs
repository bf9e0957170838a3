using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Policy;

public sealed class ResponsePolicyTests
{
    [Fact]
    public void Stores_response_with_max_age()
    {
        var evaluation = Evaluate(["Cache-Control: max-age=60"]);
        Assert.True(evaluation.IsStorable);
        Assert.Equal(TimeSpan.FromSeconds(60), evaluation.FreshnessLifetime);
    }

    [Fact]
    public void Stores_response_with_s_maxage()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Evaluate(["Cache-Control: s-maxage=30"]).FreshnessLifetime);
    }

    [Fact]
    public void Stores_response_with_expires()
    {
        var evaluation = Evaluate([$"Expires: {Date(T0.AddMinutes(5))}"]);
        Assert.True(evaluation.IsStorable);
        Assert.Equal(TimeSpan.FromMinutes(5), evaluation.FreshnessLifetime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Last-Modified: Sat, 01 Feb 2025 12:00:00 GMT")]
    [InlineData("Cache-Control: must-revalidate")]
    [InlineData("Cache-Control: public")] // public alone: no Last-Modified to base a heuristic on
    [InlineData("ETag: \"v1\"")]
    public void Refuses_response_without_explicit_lifetime(string header)
    {
        Assert.Equal(RefusalReason.NoExplicitLifetime, Evaluate(header.Length == 0 ? [] : [header]).Refusal);
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(203, true)]
    [InlineData(204, true)]
    [InlineData(300, true)]
    [InlineData(301, true)]
    [InlineData(308, true)]
    [InlineData(404, true)]
    [InlineData(405, true)]
    [InlineData(410, true)]
    [InlineData(414, true)]
    [InlineData(501, true)]
    [InlineData(201, false)]
    [InlineData(206, false)]
    [InlineData(302, false)]
    [InlineData(304, false)]
    [InlineData(307, false)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(500, false)]
    [InlineData(502, false)]
    [InlineData(503, false)]
    public void Stores_only_listed_statuses(int status, bool storable)
    {
        var evaluation = Evaluate(["Cache-Control: max-age=60"], status: status);
        Assert.Equal(storable ? RefusalReason.None : RefusalReason.StatusNotCacheable, evaluation.Refusal);
    }

    [Theory]
    [InlineData("GET", RefusalReason.None)]
    [InlineData("HEAD", RefusalReason.MethodNotCacheable)]
    [InlineData("POST", RefusalReason.MethodNotCacheable)]
    [InlineData("get", RefusalReason.MethodNotCacheable)]
    public void Stores_only_responses_to_get(string method, RefusalReason expected)
    {
        Assert.Equal(expected, Evaluate(["Cache-Control: max-age=60"], method: method).Refusal);
    }

    [Theory]
    [InlineData("private, max-age=60")]
    [InlineData("PRIVATE, max-age=60")]
    [InlineData("max-age=60, private=\"Set-Cookie\"")]
    public void Refuses_private_response(string cacheControl)
    {
        Assert.Equal(RefusalReason.Private, Evaluate([$"Cache-Control: {cacheControl}"]).Refusal);
    }

    [Fact]
    public void Refuses_no_store_response_even_on_a_second_line()
    {
        Assert.Equal(RefusalReason.NoStore, Evaluate(["Cache-Control: max-age=60", "Cache-Control: no-store"]).Refusal);
    }

    [Fact]
    public void Refuses_response_to_request_with_no_store()
    {
        Assert.Equal(RefusalReason.RequestNoStore,
            Evaluate(["Cache-Control: max-age=60"], ["Cache-Control: no-store"]).Refusal);
    }

    [Theory]
    [InlineData("Set-Cookie: session=abc; HttpOnly", RefusalReason.SetCookie)]
    [InlineData("set-cookie: a=b", RefusalReason.SetCookie)]
    [InlineData("WWW-Authenticate: Basic realm=\"x\"", RefusalReason.AuthenticationChallenge)]
    [InlineData("Proxy-Authenticate: Basic", RefusalReason.AuthenticationChallenge)]
    [InlineData("X-Sendfile: /srv/file", RefusalReason.InternalRedirect)]
    [InlineData("X-Accel-Redirect: /internal/file", RefusalReason.InternalRedirect)]
    public void Refuses_response_with_per_client_or_front_server_headers(string header, RefusalReason expected)
    {
        Assert.Equal(expected, Evaluate(["Cache-Control: public, max-age=60", header]).Refusal);
    }

    [Theory]
    [InlineData("s-maxage=10, max-age=20", 10)]
    [InlineData("max-age=20, s-maxage=10", 10)]
    [InlineData("s-maxage=30, max-age=20", 30)]
    [InlineData("max-age=20", 20)]
    public void Freshness_precedence_is_s_maxage_then_max_age_then_expires(string cacheControl, int expectedSeconds)
    {
        // Expires says 5 minutes: it only counts when neither directive is present.
        var evaluation = Evaluate([$"Cache-Control: {cacheControl}", $"Expires: {Date(T0.AddMinutes(5))}"]);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), evaluation.FreshnessLifetime);
    }

    [Fact]
    public void Expires_lifetime_is_measured_from_date_not_from_receipt()
    {
        // The app's clock is 1 hour behind: Expires - Date is what counts.
        var appNow = T0.AddHours(-1);
        var evaluation = Evaluate([$"Date: {Date(appNow)}", $"Expires: {Date(appNow.AddMinutes(10))}", "ETag: \"x\""]);
        Assert.Equal(TimeSpan.FromMinutes(10), evaluation.FreshnessLifetime);
    }

    [Fact]
    public void Expires_without_date_is_measured_from_receipt()
    {
        var response = Headers($"Expires: {Date(T0.AddMinutes(10))}");
        var evaluation = ResponsePolicyFor().Evaluate("GET", Headers(), 200, response, 1, T0, T0);
        Assert.Equal(TimeSpan.FromMinutes(10), evaluation.FreshnessLifetime);
        Assert.Equal(T0, evaluation.Date);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("yesterday")]
    [InlineData("Thu,  18 Aug 2050 02:01:18 GMT")] // a date in the future, but two spaces: not an HTTP-date
    [InlineData("Thu, 18 Aug 2050 02:01:18 UTC")]
    [InlineData("Thu, 18 Aug 50 02:01:18 GMT")]
    public void Invalid_expires_means_already_expired(string expires)
    {
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate([$"Expires: {expires}"]).Refusal);
        var withValidator = Evaluate([$"Expires: {expires}", "ETag: \"v1\""]);
        Assert.True(withValidator.IsStorable);
        Assert.Equal(TimeSpan.Zero, withValidator.FreshnessLifetime);
    }

    [Fact]
    public void Several_expires_lines_mean_already_expired()
    {
        var evaluation = Evaluate([$"Expires: {Date(T0.AddMinutes(5))}", $"Expires: {Date(T0.AddMinutes(10))}", "ETag: \"v1\""]);
        Assert.True(evaluation.IsStorable);
        Assert.Equal(TimeSpan.Zero, evaluation.FreshnessLifetime);
    }

    [Fact]
    public void An_invalid_date_header_dates_the_response_at_receipt()
    {
        var response = Headers("Date: Sat,  01 Mar 2025 11:00:00 GMT", "Cache-Control: max-age=60");
        var evaluation = ResponsePolicyFor().Evaluate("GET", Headers(), 200, response, 1, T0, T0);
        Assert.Equal(T0, evaluation.Date);
    }

    [Fact]
    public void Expires_in_the_past_means_already_expired()
    {
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate([$"Expires: {Date(T0.AddMinutes(-1))}"]).Refusal);
    }

    [Fact]
    public void Heuristic_freshness_applies_only_to_public_responses()
    {
        string lastModified = $"Last-Modified: {Date(T0.AddDays(-1))}";
        var publicResponse = Evaluate(["Cache-Control: public", lastModified]);
        Assert.True(publicResponse.IsStorable);
        Assert.Equal(TimeSpan.FromHours(2.4), publicResponse.FreshnessLifetime);

        Assert.Equal(RefusalReason.NoExplicitLifetime, Evaluate([lastModified]).Refusal);
    }

    [Fact]
    public void Heuristic_freshness_is_capped()
    {
        var evaluation = Evaluate(["Cache-Control: public", $"Last-Modified: {Date(T0.AddDays(-365))}"]);
        Assert.Equal(new TurbocacheOptions().HeuristicMaxLifetime, evaluation.FreshnessLifetime);
    }

    [Fact]
    public void Heuristic_freshness_needs_a_last_modified_in_the_past()
    {
        Assert.Equal(RefusalReason.NoExplicitLifetime,
            Evaluate(["Cache-Control: public", $"Last-Modified: {Date(T0.AddDays(1))}"]).Refusal);
    }

    [Theory]
    [InlineData("max-age=60", false)]
    [InlineData("public, max-age=60", true)]
    [InlineData("s-maxage=60", true)]
    [InlineData("max-age=60, must-revalidate", true)]
    [InlineData("max-age=60, proxy-revalidate", false)]
    public void Stores_response_to_authorized_request_only_when_marked_shareable(string cacheControl, bool storable)
    {
        var evaluation = Evaluate([$"Cache-Control: {cacheControl}"], ["Authorization: Bearer abc"]);
        Assert.Equal(storable ? RefusalReason.None : RefusalReason.AuthorizedRequest, evaluation.Refusal);
    }

    [Fact]
    public void Refuses_vary_star()
    {
        Assert.Equal(RefusalReason.VaryAll, Evaluate(["Cache-Control: max-age=60", "Vary: Accept, *"]).Refusal);
    }

    [Fact]
    public void Stores_vary_response_keyed_by_the_named_headers()
    {
        var ajax = Evaluate(["Cache-Control: max-age=60", "Vary: X-Requested-With"], ["X-Requested-With: XMLHttpRequest"]);
        var page = Evaluate(["Cache-Control: max-age=60", "Vary: X-Requested-With"]);
        Assert.True(ajax.IsStorable);
        Assert.True(page.IsStorable);
        Assert.NotEqual(ajax.Variant, page.Variant);
        Assert.Equal(["x-requested-with"], ajax.Variant.HeaderNames);
        Assert.Equal(["XMLHttpRequest"], ajax.Variant.HeaderValues);
        Assert.Equal([(string?)null], page.Variant.HeaderValues);
    }

    [Fact]
    public void Vary_names_are_case_insensitive_and_order_independent()
    {
        string[] request = ["Accept: text/html", "X-Requested-With: XMLHttpRequest"];
        var a = Evaluate(["Cache-Control: max-age=60", "Vary: Accept, X-Requested-With"], request);
        var b = Evaluate(["Cache-Control: max-age=60", "Vary: x-requested-with", "Vary: ACCEPT, accept"], request);
        Assert.Equal(a.Variant, b.Variant);
    }

    [Fact]
    public void Refuses_vary_cookie_without_a_vary_cookie_configured()
    {
        Assert.Equal(RefusalReason.VaryCookieNotConfigured,
            Evaluate(["Cache-Control: max-age=60", "Vary: Accept-Encoding, Cookie"], ["Cookie: user_id=1"]).Refusal);
    }

    [Fact]
    public void Vary_cookie_with_a_vary_cookie_configured_keys_only_by_that_cookie()
    {
        string[] response = ["Cache-Control: max-age=60", "Vary: Cookie"];
        var staff = Evaluate(response, ["Cookie: level=staff; _session=abc"], varyCookie: "level");
        var staffOtherSession = Evaluate(response, ["Cookie: _session=xyz; level=staff"], varyCookie: "level");
        var member = Evaluate(response, ["Cookie: level=member; _session=abc"], varyCookie: "level");

        Assert.True(staff.IsStorable);
        Assert.Empty(staff.Variant.HeaderNames);
        Assert.Equal("staff", staff.Variant.CookieValue);
        Assert.Equal(staff.Variant, staffOtherSession.Variant);
        Assert.NotEqual(staff.Variant, member.Variant);
    }

    [Fact]
    public void Vary_cookie_keys_every_response_of_the_app_and_anonymous_requests_share_one_variant()
    {
        string[] response = ["Cache-Control: max-age=60"];
        var anonymous = Evaluate(response, ["Cookie: other=1"], varyCookie: "user_id");
        var noCookies = Evaluate(response, varyCookie: "user_id");
        var user = Evaluate(response, ["Cookie: user_id=42"], varyCookie: "user_id");

        Assert.Equal("user_id", anonymous.Variant!.CookieName);
        Assert.Null(anonymous.Variant.CookieValue);
        Assert.Equal(anonymous.Variant, noCookies.Variant);
        Assert.Equal("42", user.Variant!.CookieValue);
        Assert.NotEqual(anonymous.Variant, user.Variant);
    }

    [Fact]
    public void Refuses_when_the_vary_cookie_is_sent_twice_with_different_values()
    {
        Assert.Equal(RefusalReason.AmbiguousVaryCookie,
            Evaluate(["Cache-Control: max-age=60"], ["Cookie: level=staff", "Cookie: level=anon"], varyCookie: "level").Refusal);
    }

    [Theory]
    [InlineData(1L << 20, RefusalReason.None)]
    [InlineData((1L << 20) + 1, RefusalReason.BodyTooLarge)]
    public void Refuses_body_larger_than_the_entry_limit(long contentLength, RefusalReason expected)
    {
        Assert.Equal(expected, Evaluate(["Cache-Control: max-age=60"], contentLength: contentLength).Refusal);
    }

    [Fact]
    public void Stores_no_cache_response_with_validator_as_never_fresh()
    {
        var entry = Store(["Cache-Control: no-cache, max-age=60", "ETag: \"v1\""]);
        Assert.True((entry.Flags & CacheEntryFlags.NoCache) != 0);
        Assert.False(entry.IsFresh(T0));
        Assert.False(entry.CanServeStaleIfError(T0));
    }

    [Fact]
    public void Refuses_no_cache_response_without_validator()
    {
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate(["Cache-Control: no-cache, max-age=60"]).Refusal);
    }

    [Fact]
    public void Stores_max_age_zero_response_only_with_a_validator()
    {
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate(["Cache-Control: max-age=0"]).Refusal);
        Assert.True(Evaluate(["Cache-Control: max-age=0", $"Last-Modified: {Date(T0.AddDays(-1))}"]).IsStorable);
        // A Last-Modified that is no HTTP-date validates nothing.
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate(["Cache-Control: max-age=0", "Last-Modified: yesterday"]).Refusal);
    }

    [Fact]
    public void Refuses_response_stale_on_arrival_without_validator()
    {
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate(["Cache-Control: max-age=60", "Age: 120"]).Refusal);
    }

    [Fact]
    public void Stores_expired_response_that_allows_stale_if_error()
    {
        var entry = Store(["Cache-Control: max-age=0, stale-if-error=60"]);
        Assert.False(entry.IsFresh(T0));
        Assert.True(entry.CanServeStaleIfError(T0.AddSeconds(30)));
    }

    [Fact]
    public void Invalid_max_age_counts_as_zero()
    {
        Assert.Equal(RefusalReason.StaleWithoutValidator, Evaluate(["Cache-Control: max-age=soon"]).Refusal);
    }

    [Fact]
    public void Flags_record_revalidation_and_authorization_sharing()
    {
        Assert.Equal(CacheEntryFlags.MustRevalidate | CacheEntryFlags.SharedWithAuthorization,
            Evaluate(["Cache-Control: max-age=60, must-revalidate"]).Flags);
        Assert.Equal(CacheEntryFlags.SharedWithAuthorization, Evaluate(["Cache-Control: s-maxage=60"]).Flags);
        Assert.Equal(CacheEntryFlags.None, Evaluate(["Cache-Control: max-age=60"]).Flags);
    }
}
