using System.Net;
using System.Net.Http.Headers;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>One porter node with the turbocache on, serving tests/apps/testapp.</summary>
public sealed class CachingNodeFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;

    // One app process: the tests count origin hits with /hits, which each process counts for itself.
    public async Task InitializeAsync() => Porter = await PorterProcess.StartAsync([Repo.TestApp, "--max-instances", "1"]);

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}

/// <summary>The turbocache through a real gateway and app: what is stored, what is served, what is refused.</summary>
public sealed class TurbocacheTests(CachingNodeFixture fixture) : IClassFixture<CachingNodeFixture>
{
    private HttpClient Client => fixture.Porter.Client;

    private async Task<(HttpResponseMessage Response, string Body)> GetAsync(string url, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        configure?.Invoke(request);
        var response = await Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private static string? CacheStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var v) ? v.Single() : null;

    [Fact]
    public async Task Stores_response_with_max_age_and_serves_hits_with_age()
    {
        var url = CacheUrls.Headers("max-age", "v{hit}", null, "Cache-Control:public, max-age=60");
        var (first, firstBody) = await GetAsync(url);
        var (second, secondBody) = await GetAsync(url);
        Assert.Equal("MISS", CacheStatus(first));
        Assert.Equal("HIT", CacheStatus(second));
        Assert.Equal("v1", firstBody);
        Assert.Equal("v1", secondBody);
        Assert.NotNull(second.Headers.Age);
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));
    }

    [Theory]
    [InlineData("Cache-Control:private, max-age=60")]
    [InlineData("Cache-Control:no-store")]
    [InlineData("X-Nothing:explicit lifetime missing")]
    [InlineData("Vary:*")]
    public async Task Refuses_responses_that_do_not_ask_to_be_cached(string header)
    {
        var url = CacheUrls.Headers("refused", "v{hit}", null, header, header.StartsWith("Vary", StringComparison.Ordinal) ? "Cache-Control:max-age=60" : "X-Filler:1");
        await GetAsync(url);
        var (second, body) = await GetAsync(url);
        Assert.Equal("v2", body);
        Assert.Equal(2, await CacheUrls.HitsAsync(Client, url));
        Assert.NotEqual("HIT", CacheStatus(second));
    }

    [Fact]
    public async Task A_set_cookie_response_is_never_served_to_a_second_client()
    {
        var url = CacheUrls.Headers("set-cookie", "v{hit}", null, "Cache-Control:public, max-age=60", "Set-Cookie:session=secret-of-client-1");
        var (first, _) = await GetAsync(url);
        Assert.Contains("session=secret-of-client-1", first.Headers.GetValues("Set-Cookie").Single());
        var (second, body) = await GetAsync(url);
        Assert.Equal("v2", body);
        Assert.NotEqual("HIT", CacheStatus(second));
        Assert.Equal(2, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Vary_keeps_ajax_and_html_answers_apart()
    {
        var url = CacheUrls.Headers("vary", "v{hit}", null, "Cache-Control:public, max-age=60", "Vary:X-Requested-With");
        void Ajax(HttpRequestMessage r) => r.Headers.Add("X-Requested-With", "XMLHttpRequest");
        var html = (await GetAsync(url)).Body;
        var ajax = (await GetAsync(url, Ajax)).Body;
        Assert.NotEqual(html, ajax);
        Assert.Equal(html, (await GetAsync(url)).Body);
        var (again, ajaxAgain) = await GetAsync(url, Ajax);
        Assert.Equal(ajax, ajaxAgain);
        Assert.Equal("HIT", CacheStatus(again));
        Assert.Equal(2, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Concurrent_misses_on_one_key_send_one_request_to_the_app()
    {
        var url = CacheUrls.Headers("coalesce", "v{hit}", 300, "Cache-Control:public, max-age=60");
        var answers = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => GetAsync(url)));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Response.StatusCode));
        Assert.All(answers, a => Assert.Equal("v1", a.Body));
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Uncacheable_answer_releases_coalesced_waiters_to_the_app()
    {
        var url = CacheUrls.Headers("coalesce-private", "v{hit}", 200, "Cache-Control:private");
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => GetAsync(url)));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Response.StatusCode));
        // Eight different app answers: every waiter went to the app, none got another's private response.
        Assert.Equal(8, answers.Select(a => a.Body).Distinct().Count());
        Assert.Equal(8, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Unsafe_request_invalidates_the_uri_before_its_response()
    {
        var url = CacheUrls.Headers("invalidate", "v{hit}", null, "Cache-Control:public, max-age=60");
        await GetAsync(url);
        Assert.Equal("HIT", CacheStatus((await GetAsync(url)).Response));
        using var post = await Client.PostAsync(url, new StringContent("change"));
        Assert.True(post.IsSuccessStatusCode);
        var (after, body) = await GetAsync(url);
        Assert.Equal("MISS", CacheStatus(after));
        Assert.Equal("v3", body);
    }

    [Fact]
    public async Task Conditional_request_gets_304_from_a_fresh_entry()
    {
        var url = CacheUrls.Headers("etag", "v{hit}", null, "Cache-Control:public, max-age=60", "ETag:\"abc\"");
        await GetAsync(url);
        var (response, _) = await GetAsync(url, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"abc\"")));
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Stale_entry_with_validator_is_revalidated_and_refreshed_by_a_304()
    {
        var url = CacheUrls.Headers("revalidate", "v{hit}", null, "Cache-Control:public, max-age=0", "ETag:\"r1\"");
        Assert.Equal("v1", (await GetAsync(url)).Body);
        var (second, body) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("v1", body);
        // The app was asked again (revalidation) but answered 304, so the stored body was served.
        Assert.Equal(2, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Head_is_answered_from_the_get_entry_without_a_body()
    {
        var url = CacheUrls.Headers("head", "v{hit}", null, "Cache-Control:public, max-age=60");
        await GetAsync(url);
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal("HIT", CacheStatus(head));
        Assert.Equal(2, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task Authorized_request_is_served_from_the_cache_only_when_the_response_is_public()
    {
        var privateish = CacheUrls.Headers("auth", "v{hit}", null, "Cache-Control:max-age=60");
        void Auth(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "t");
        await GetAsync(privateish, Auth);
        await GetAsync(privateish, Auth);
        Assert.Equal(2, await CacheUrls.HitsAsync(Client, privateish));

        var shared = CacheUrls.Headers("auth-public", "v{hit}", null, "Cache-Control:public, max-age=60");
        await GetAsync(shared, Auth);
        Assert.Equal("HIT", CacheStatus((await GetAsync(shared, Auth)).Response));
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, shared));
    }

    [Fact]
    public async Task App_failing_with_500_serves_the_stale_copy_within_stale_if_error()
    {
        var url = CacheUrls.Headers("stale-if-error", "v{hit}", null, "Cache-Control:public, max-age=0, stale-if-error=600");
        Assert.Equal("v1", (await GetAsync(url)).Body);
        using var fail = await Client.PostAsync("/fail-next?n=1&status=500", null);
        var (response, body) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("v1", body);
        Assert.Equal("STALE", CacheStatus(response));
    }

    [Fact]
    public async Task Stale_while_revalidate_serves_stale_and_refreshes_once_in_the_background()
    {
        var url = CacheUrls.Headers("swr", "v{hit}", null, "Cache-Control:public, max-age=0, stale-while-revalidate=600");
        Assert.Equal("v1", (await GetAsync(url)).Body);
        var (stale, body) = await GetAsync(url);
        Assert.Equal("STALE", CacheStatus(stale));
        Assert.Equal("v1", body);
        await Poll.UntilAsync(async () => await CacheUrls.HitsAsync(Client, url) == 2 ? "" : null, TimeSpan.FromSeconds(10), "the background refresh");
    }

    [Fact]
    public async Task Request_no_cache_bypasses_the_lookup_but_refreshes_the_entry()
    {
        var url = CacheUrls.Headers("bypass", "v{hit}", null, "Cache-Control:public, max-age=60");
        await GetAsync(url);
        var (bypass, body) = await GetAsync(url, r => r.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true });
        Assert.Equal("BYPASS", CacheStatus(bypass));
        Assert.Equal("v2", body);
        Assert.Equal("v2", (await GetAsync(url)).Body);
    }

    [Fact]
    public async Task Cache_counters_are_readable_on_the_management_port()
    {
        var url = CacheUrls.Headers("counters", "v{hit}", null, "Cache-Control:public, max-age=60");
        await GetAsync(url);
        await GetAsync(url);
        await GetAsync(CacheUrls.Headers("counters-private", "p", null, "Cache-Control:private"));
        using var response = await fixture.Porter.Management.GetAsync("/cache");
        var app = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes")[0].GetProperty("apps").GetProperty("testapp");
        Assert.True(app.GetProperty("hits").GetInt64() >= 1);
        Assert.True(app.GetProperty("stores").GetInt64() >= 1);
        Assert.True(app.GetProperty("refusals").GetProperty("Private").GetInt64() >= 1);
    }

    [Fact]
    public async Task Oob_headers_never_reach_the_client_nor_the_cache()
    {
        var url = CacheUrls.Headers("oob", "v{hit}", null, "Cache-Control:public, max-age=60", "X-Porter-Request-OOB-Work:true");
        var (first, _) = await GetAsync(url);
        var (second, _) = await GetAsync(url);
        Assert.False(first.Headers.Contains("X-Porter-Request-OOB-Work"));
        Assert.Equal("HIT", CacheStatus(second));
        Assert.False(second.Headers.Contains("X-Porter-Request-OOB-Work"));
    }
}
