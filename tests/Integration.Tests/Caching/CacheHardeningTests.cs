using System.Net;
using System.Text;
using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>
/// What the turbocache does with requests and answers outside the common path: a GET with a body, a 304 that cannot
/// refresh the entry it was asked about, header values with obs-text (bytes 0x80-0xFF), through a real gateway and app.
/// </summary>
public sealed class CacheHardeningTests(CachingNodeFixture fixture) : IClassFixture<CachingNodeFixture>
{
    private HttpClient Client => fixture.Porter.Client;

    private static string? CacheStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var v) ? v.Single() : null;

    private async Task<(HttpResponseMessage Response, string Body)> GetAsync(string url, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        configure?.Invoke(request);
        var response = await Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_get_with_a_body_is_neither_answered_from_nor_stored_in_the_cache()
    {
        var url = CacheUrls.Headers("get-body", "v{hit}", null, "Cache-Control:public, max-age=60");
        var (poisoned, poisonedBody) = await GetAsync(url, r => r.Content = new StringContent("POISONED-BODY"));
        Assert.Equal("BYPASS", CacheStatus(poisoned));
        Assert.Equal("v1", poisonedBody);

        // The clean GET is not answered with what the bodied one got: it fills the entry itself.
        var (clean, cleanBody) = await GetAsync(url);
        Assert.Equal("MISS", CacheStatus(clean));
        Assert.Equal("v2", cleanBody);
        Assert.Equal("HIT", CacheStatus((await GetAsync(url)).Response));

        // Nor is a bodied GET answered from the entry, chunked or not.
        var (chunked, chunkedBody) = await GetAsync(url, r =>
        {
            r.Content = new StringContent("POISONED-BODY");
            r.Headers.TransferEncodingChunked = true;
        });
        Assert.Equal("BYPASS", CacheStatus(chunked));
        Assert.Equal("v3", chunkedBody);
        Assert.Equal(3, await CacheUrls.HitsAsync(Client, url));

        using var report = await fixture.Porter.Management.GetAsync("/cache");
        var app = JsonDocument.Parse(await report.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes")[0].GetProperty("apps").GetProperty("testapp");
        Assert.True(app.GetProperty("refusals").GetProperty("RequestBody").GetInt64() >= 2);
    }

    [Fact]
    public async Task A_304_for_another_etag_is_not_passed_to_a_plain_get_the_request_is_sent_again()
    {
        // Stale at once, so the second request revalidates; the app's 304 names another ETag than the one asked about.
        var url = CacheUrls.Headers("304-etag", "v{hit}", null, "Cache-Control:max-age=0", "ETag:\"e1\"", "X-Test:1")
            + "&h304=" + Uri.EscapeDataString("ETag:\"e2\"");
        Assert.Equal("v1", (await GetAsync(url)).Body);

        var (second, body) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("v3", body); // hit 2 was the revalidation, hit 3 the unconditional fetch
        Assert.Equal("\"e1\"", second.Headers.ETag?.Tag);
        Assert.Equal(3, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task A_304_with_a_set_cookie_answers_the_client_in_full_and_is_not_stored()
    {
        var url = CacheUrls.Headers("304-cookie", "v{hit}", null, "Cache-Control:max-age=0", "ETag:\"e1\"")
            + "&h304=" + Uri.EscapeDataString("Set-Cookie:sid=for-this-client");
        Assert.Equal("v1", (await GetAsync(url)).Body);

        // The 304 validates the stored body; the client gets it in full with the cookie the app set for it.
        var (second, body) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("v1", body);
        Assert.Equal("sid=for-this-client", second.Headers.GetValues("Set-Cookie").Single());
        Assert.Equal(2, await CacheUrls.HitsAsync(Client, url));

        // The cookie never lands in the cache: the next client is answered by the app, without it.
        var (third, thirdBody) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.False(third.Headers.Contains("Set-Cookie"));
        Assert.Equal("v3", thirdBody);
    }

    [Fact]
    public async Task Obs_text_header_values_pass_byte_for_byte_through_the_cache_both_ways()
    {
        // testapp sets the header from the decoded query, and Node writes header strings as Latin-1: "\u00e9" is byte 0xE9.
        var url = CacheUrls.Headers("obs-text", "v{hit}", null, "Cache-Control:public, max-age=60", "ETag:\"caf\u00e9\"",
            "X-Note:\u00e0\u00ff\u0080");
        var get = $"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";

        var miss = await SendAsync(get + "\r\n");
        Assert.Equal(200, RawHttp.StatusOf(miss));
        AssertHas(miss, "\r\nETag: \"caf\u00e9\"\r\n");
        AssertHas(miss, "\r\nX-Note: \u00e0\u00ff\u0080\r\n");

        var hit = await SendAsync(get + "\r\n");
        Assert.Equal(200, RawHttp.StatusOf(hit));
        AssertHas(hit, "\r\nX-Cache: HIT\r\n");
        AssertHas(hit, "\r\nETag: \"caf\u00e9\"\r\n");
        AssertHas(hit, "\r\nX-Note: \u00e0\u00ff\u0080\r\n");

        // The client's validator, in the same bytes, matches the stored one.
        var notModified = await SendAsync(get + "If-None-Match: \"caf\u00e9\"\r\n\r\n");
        Assert.Equal(304, RawHttp.StatusOf(notModified));
        AssertHas(notModified, "\r\nETag: \"caf\u00e9\"\r\n");
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));

        // A request header with obs-text reaches the app as the same bytes (Node reads them as Latin-1).
        var echo = await SendAsync("GET /echo-request HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Obs: caf\u00e9 \u00ff\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, RawHttp.StatusOf(echo));
        Assert.Equal("caf\u00e9 \u00ff", JsonDocument.Parse(RawHttp.BodyOf(echo)).RootElement.GetProperty("headers").GetProperty("x-obs").GetString());
    }

    [Fact]
    public async Task Entries_with_empty_bodies_and_large_headers_are_bounded_by_the_memory_limit()
    {
        // The reproduction in small: header-heavy entries with no body used to count as 0 bytes and were
        // never evicted. Keys are alike in length, so each costs the same.
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp, "--max-instances", "1"], environment: new Dictionary<string, string>
        {
            ["PORTER__TURBOCACHE__MAXBODYBYTES"] = "65536",
            ["PORTER__TURBOCACHE__MAXTOTALBYTES"] = "262144",
            ["PORTER__TURBOCACHE__NEARCACHEMAXBYTES"] = "65536",
        });
        var padding = new string('x', 3000);
        for (int i = 0; i < 100; i++)
        {
            using var response = await porter.Client.GetAsync(
                CacheUrls.Headers($"zz-{i:000}", "", null, "Cache-Control:public, max-age=600", $"X-Padding:{padding}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var report = await porter.Management.GetAsync("/cache");
        var node = JsonDocument.Parse(await report.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes")[0];
        var entities = node.GetProperty("entities");
        var app = node.GetProperty("apps").GetProperty("testapp");
        var near = node.GetProperty("nearCache");
        long held = entities.GetProperty("bytes").GetInt64();
        Assert.Equal(262144, entities.GetProperty("maxBytes").GetInt64());
        Assert.InRange(held, 262144 / 2, 262144); // about 6 KB of key and 3 KB of headers each: some 25 of the 100 fit
        Assert.True(entities.GetProperty("evicted").GetInt64() >= 50, $"evicted: {entities}");
        Assert.True(app.GetProperty("evictions").GetInt64() >= 50, $"app: {app}");
        Assert.Equal(held, app.GetProperty("bytesHeld").GetInt64());
        Assert.InRange(near.GetProperty("bytes").GetInt64(), 1, 65536);
        Assert.True(near.GetProperty("evictions").GetInt64() >= 50, $"near cache: {near}");
    }

    private static void AssertHas(byte[] response, string latin1)
    {
        if (!RawHttp.Contains(response, latin1))
            Assert.Fail($"expected the bytes of {JsonSerializer.Serialize(latin1)} in {JsonSerializer.Serialize(Encoding.Latin1.GetString(response))}");
    }

    private Task<byte[]> SendAsync(string latin1Request) => RawHttp.ExchangeAsync("127.0.0.1", fixture.Porter.Port, latin1Request);
}
