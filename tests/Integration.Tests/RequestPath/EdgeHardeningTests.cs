using System.Net;
using System.Text;
using System.Text.Json;
using Porter.Integration.Tests.Caching;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>
/// A copy of testapp named "edgeapp" with a public/ folder holding symbolic links of every kind, served by one porter
/// node with the turbocache on and vary-by-cookie user_id.
/// </summary>
public sealed class EdgeFixture : IAsyncLifetime
{
    private readonly string _root = Repo.TempDir("edge");

    public const int BlobSize = 200_000;

    public PorterProcess Porter { get; private set; } = null!;

    public string AppDir => Path.Combine(_root, "edgeapp");

    public string Public => Path.Combine(AppDir, "public");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Public, "sub"));
        File.Copy(Path.Combine(Repo.TestApp, "app.js"), Path.Combine(AppDir, "app.js"));
        await File.WriteAllBytesAsync(Path.Combine(Public, "blob.bin"), Enumerable.Range(0, BlobSize).Select(i => (byte)(i % 251)).ToArray());
        await File.WriteAllTextAsync(Path.Combine(Public, "short.txt"), "abc");
        await File.WriteAllTextAsync(Path.Combine(Public, "sub", "inner.txt"), "inner file");
        await File.WriteAllTextAsync(Path.Combine(Public, ".hidden.txt"), "HIDDEN-DOT-FILE");
        await File.WriteAllTextAsync(Path.Combine(AppDir, "outside.txt"), "SECRET-OUTSIDE-PUBLIC");
        File.CreateSymbolicLink(Path.Combine(Public, "rellink.bin"), "blob.bin");
        // The link's own length (its target's name) is longer than the file it points at.
        File.CreateSymbolicLink(Path.Combine(Public, "shortlink.txt"), "sub/../short.txt");
        File.CreateSymbolicLink(Path.Combine(Public, "sublink"), "sub");
        File.CreateSymbolicLink(Path.Combine(Public, "leak.txt"), "../outside.txt");
        File.CreateSymbolicLink(Path.Combine(Public, "absleak.txt"), Path.Combine(AppDir, "outside.txt"));
        File.CreateSymbolicLink(Path.Combine(Public, "updir"), "..");
        File.CreateSymbolicLink(Path.Combine(Public, "dotlink.txt"), ".hidden.txt");
        File.CreateSymbolicLink(Path.Combine(Public, "loop.txt"), "loop.txt");
        Porter = await PorterProcess.StartAsync([AppDir, "--max-instances", "1", "--vary-turbocache-by-cookie", "user_id"]);
    }

    public async Task DisposeAsync()
    {
        await Porter.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>
/// What a hostile or careless client can and cannot do at Porter's edge (issue 15): static-file links, internal paths
/// and headers, hop-by-hop and forwarded headers, the request target as the app and the cache see it, client
/// protocol errors, and metric labels. Malformed HTTP goes over raw sockets, as HttpClient would not send it.
/// </summary>
public sealed class EdgeHardeningTests(EdgeFixture fixture) : IClassFixture<EdgeFixture>
{
    private PorterProcess Porter => fixture.Porter;

    private HttpClient Client => fixture.Porter.Client;

    private static string? CacheStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var v) ? v.Single() : null;

    private async Task<JsonElement> EchoRawAsync(string target, params string[] headers)
    {
        var response = await RawHttp.ExchangeAsync(Porter.Port,
            $"GET {target} HTTP/1.1\r\nHost: edge.example\r\n{string.Concat(headers.Select(h => h + "\r\n"))}Connection: close\r\n\r\n");
        Assert.Equal(200, RawHttp.StatusOf(response));
        return JsonDocument.Parse(RawHttp.BodyOf(response)).RootElement;
    }

    /// <summary>Header names (lower case) the app received.</summary>
    private static HashSet<string> Received(JsonElement echo) =>
        echo.GetProperty("headers").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

    private static string? Header(JsonElement echo, string name) =>
        echo.GetProperty("headers").TryGetProperty(name.ToLowerInvariant(), out var v) ? v.GetString() : null;

    // ---- item 2: static files that are symbolic links ------------------------------------------------------------

    [Fact]
    public async Task A_symlinked_static_file_is_served_with_its_targets_content_length_and_etag()
    {
        using var target = await Client.GetAsync("/blob.bin");
        using var link = await Client.GetAsync("/rellink.bin");
        Assert.Equal(HttpStatusCode.OK, link.StatusCode);
        var body = await link.Content.ReadAsByteArrayAsync();
        Assert.Equal(EdgeFixture.BlobSize, body.Length);
        Assert.Equal(EdgeFixture.BlobSize, link.Content.Headers.ContentLength);
        Assert.Equal(await target.Content.ReadAsByteArrayAsync(), body);
        // The same bytes, so the same validator; the link's own length and time would name another entity.
        Assert.Equal(target.Headers.ETag, link.Headers.ETag);
    }

    [Fact]
    public async Task A_link_to_a_shorter_file_keeps_the_connection_and_its_pipelined_requests()
    {
        var replies = await RawHttp.ExchangeAsync(Porter.Port,
            "GET /shortlink.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/inner.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        // Both answered on the one connection: the first with exactly the three bytes of the target, then the second.
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(replies, "HTTP/1.1 200 OK\r\n").Count);
        Assert.Contains("Content-Length: 3\r\n", replies);
        Assert.Contains("\r\n\r\nabcHTTP/1.1 200 OK", replies);
        Assert.EndsWith("inner file", replies);
    }

    [Fact]
    public async Task Links_within_public_are_followed_into_directories()
    {
        Assert.Equal("inner file", await Client.GetStringAsync("/sublink/inner.txt"));
    }

    [Theory]
    [InlineData("/leak.txt")]
    [InlineData("/absleak.txt")]
    [InlineData("/updir/outside.txt")]
    [InlineData("/dotlink.txt")]
    [InlineData("/loop.txt")]
    public async Task Links_that_leave_public_or_reach_dot_files_are_never_served(string path)
    {
        // Not a file of public/: the request goes on to the app, which has no such route.
        using var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("SECRET-OUTSIDE-PUBLIC", body);
        Assert.DoesNotContain("HIDDEN-DOT-FILE", body);
        Assert.StartsWith("testapp: no route", body);
    }

    // ---- item 4: Porter's internal paths and headers -------------------------------------------------------------

    [Theory]
    [InlineData("POST", "/.porter/oob-work")]
    [InlineData("POST", "/%2Eporter/oob-work")]
    [InlineData("POST", "/.PORTER/oob-work")]
    [InlineData("POST", "//.porter/oob-work")]
    [InlineData("POST", "/%252eporter/oob-work")]
    [InlineData("GET", "/.porter/")]
    public async Task Requests_for_porters_internal_paths_get_404_from_the_edge(string method, string path)
    {
        var response = await RawHttp.ExchangeAsync(Porter.Port,
            $"{method} {path} HTTP/1.1\r\nHost: x\r\nX-Porter-OOB-Token: 1.forged\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        Assert.Equal(404, RawHttp.StatusOf(response));
        // Porter's own page, not the app's: the request never reached it.
        Assert.Contains("<p>Porter</p>", RawHttp.BodyOf(response));
    }

    [Fact]
    public async Task Client_sent_private_headers_of_porter_and_passenger_never_reach_the_app()
    {
        var echo = await EchoRawAsync("/echo-request", "X-Porter-App: other", "X-Porter-OOB-Token: 7.abc", "x-porter-anything: 1",
            "X-Porter-Gateway: 1.2", "!~Request-OOB-Work: true", "!~PASSENGER_APP_ROOT: /", "X-Kept: yes");
        var received = Received(echo);
        Assert.DoesNotContain(received, name => name.StartsWith("x-porter-", StringComparison.Ordinal) || name.StartsWith("!~", StringComparison.Ordinal));
        Assert.Contains("x-kept", received);
    }

    // ---- items 7 and 8: hop-by-hop headers, before the cache looks ------------------------------------------------

    [Theory]
    [InlineData("keep-alive, X-Foo")]
    [InlineData("close, X-Foo")]
    [InlineData("Upgrade, X-Foo")]
    [InlineData("X-Foo, keep-alive")]
    public async Task Connection_listed_headers_never_reach_the_app_whatever_else_connection_says(string connection)
    {
        // A second, closing request ends the exchange whatever the first one's Connection said.
        var replies = await RawHttp.ExchangeAsync(Porter.Port,
            $"GET /echo-request HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\nX-Foo: listed\r\nUpgrade: h2c\r\nX-Bar: kept\r\n\r\n" +
            "GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var first = RawHttp.BodyOf(replies);
        var echo = JsonDocument.Parse(first[..(first.IndexOf("HTTP/1.1 ", StringComparison.Ordinal) is var next and >= 0 ? next : first.Length)]).RootElement;
        var received = Received(echo);
        Assert.DoesNotContain("x-foo", received);
        // Not a real upgrade (no Upgrade in Connection for most, and a GET to a plain route): Upgrade is hop-by-hop too.
        Assert.DoesNotContain("upgrade", received);
        Assert.Contains("x-bar", received);
    }

    [Fact]
    public async Task A_cookie_the_app_never_receives_does_not_choose_the_stored_variant()
    {
        var url = CacheUrls.Headers("hop-cookie", "page {hit}", null, "Cache-Control:public, max-age=60", "Vary:Cookie");
        // Connection: Cookie makes the cookie hop-by-hop: the app renders the anonymous page for this request.
        var first = await RawHttp.ExchangeAsync(Porter.Port,
            $"GET {url} HTTP/1.1\r\nHost: x\r\nCookie: user_id=member\r\nConnection: close, Cookie\r\n\r\n");
        Assert.Equal("page 1", RawHttp.BodyOf(first));

        // A real member must not be served that anonymous page as the member variant.
        using var member = await Porter.GetAsync("x", url, new Dictionary<string, string> { ["Cookie"] = "user_id=member" });
        Assert.Equal("page 2", await member.Content.ReadAsStringAsync());

        // The anonymous entry is what the first request really stored.
        using var anonymous = await Porter.GetAsync("x", url);
        Assert.Equal("HIT", CacheStatus(anonymous));
        Assert.Equal("page 1", await anonymous.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Websocket_upgrades_still_pass_with_extra_connection_options()
    {
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        var response = await RawHttp.SendAsync(Porter.Port,
            $"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade, X-Foo\r\nUpgrade: websocket\r\nX-Foo: 1\r\n" +
            $"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n");
        Assert.Equal(101, RawHttp.StatusOf(response));
    }

    // ---- item 10: the forwarded family from untrusted clients ------------------------------------------------------

    [Fact]
    public async Task Forwarded_family_headers_from_an_untrusted_client_never_reach_the_app()
    {
        string[] forged = ["X-Forwarded-Port: 443", "X-Forwarded-Prefix: /evil", "X-Forwarded-Ssl: on", "X-Forwarded-Scheme: https",
            "X-Real-IP: 6.6.6.6", "True-Client-IP: 6.6.6.6", "CF-Connecting-IP: 6.6.6.6", "X-Client-IP: 6.6.6.6",
            "X-Original-URL: /admin", "X-Rewrite-URL: /admin", "Forwarded: for=6.6.6.6", "X-Forwarded-Host: evil.example"];
        var echo = await EchoRawAsync("/echo-request", forged);
        foreach (var name in new[] { "x-forwarded-prefix", "x-forwarded-ssl", "x-forwarded-scheme", "x-real-ip", "true-client-ip",
                     "cf-connecting-ip", "x-client-ip", "x-original-url", "x-rewrite-url", "forwarded" })
            Assert.Null(Header(echo, name));
        // Porter's own values instead of the client's.
        Assert.Equal(Porter.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(echo, "X-Forwarded-Port"));
        Assert.Equal("edge.example", Header(echo, "X-Forwarded-Host"));
        Assert.Equal("127.0.0.1", Header(echo, "X-Forwarded-For"));
    }

    // ---- item 12: the request target as received -----------------------------------------------------------------

    [Theory]
    [InlineData("/echo-request/a%2Fx")]
    [InlineData("/echo-request/bad%FFutf8/%u0041/%41%7e?q=%2F&r=%u1234")]
    [InlineData("/echo-request/./dot/%2e/seg")]
    public async Task The_request_target_reaches_the_app_exactly_as_sent(string target)
    {
        var echo = await EchoRawAsync(target);
        Assert.Equal(target, echo.GetProperty("url").GetString());
    }

    [Fact]
    public async Task An_absolute_form_target_reaches_the_app_as_its_raw_path_and_query()
    {
        var echo = await EchoRawAsync("http://edge.example/echo-request/a%2Fx%u0041?q=%2F");
        Assert.Equal("/echo-request/a%2Fx%u0041?q=%2F", echo.GetProperty("url").GetString());
    }

    [Fact]
    public async Task Targets_the_app_tells_apart_never_share_a_cache_entry()
    {
        var query = "?t=" + Guid.NewGuid().ToString("N")[..8] + "&h=" + Uri.EscapeDataString("Cache-Control:public, max-age=60");
        var encodedSlash = "/headers/a%2Fx" + query;
        var encodedPercent = "/headers/a%252Fx" + query;
        Assert.Equal(200, RawHttp.StatusOf(await RawHttp.ExchangeAsync(Porter.Port, $"GET {encodedSlash} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
        var second = await RawHttp.ExchangeAsync(Porter.Port, $"GET {encodedPercent} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Contains("X-Cache: MISS", second);
        // Each reached the app once, under its own target.
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, encodedSlash));
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, encodedPercent));
        var again = await RawHttp.ExchangeAsync(Porter.Port, $"GET {encodedSlash} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Contains("X-Cache: HIT", again);
    }

    [Fact]
    public async Task A_fragment_in_the_target_is_refused()
    {
        var response = await RawHttp.ExchangeAsync(Porter.Port, "GET /echo-request#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Equal(400, RawHttp.StatusOf(response));
    }

    // ---- item 13: client protocol errors -------------------------------------------------------------------------

    [Fact]
    public async Task A_malformed_chunk_size_gets_400_and_counts_as_a_client_error_not_an_app_failure()
    {
        var before = await ClientErrorsAsync("bad-body");
        var response = await RawHttp.ExchangeAsync(Porter.Port,
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n");
        Assert.Equal(400, RawHttp.StatusOf(response));
        await Poll.UntilAsync(async () => await ClientErrorsAsync("bad-body") > before ? "" : null, TimeSpan.FromSeconds(15), "the client error to be counted");
        Assert.DoesNotContain("forwarding failed", Porter.Output);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/pid")).StatusCode);
    }

    [Fact]
    public async Task A_stalled_body_gets_408_not_502()
    {
        // Ten bytes of a hundred, then nothing: Kestrel's minimum data rate gives up after its 5 s grace.
        var response = await RawHttp.ExchangeAsync(Porter.Port,
            ["POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"], TimeSpan.FromSeconds(60));
        Assert.Equal(408, RawHttp.StatusOf(response));
        await Poll.UntilAsync(async () => await ClientErrorsAsync("body-timeout") > 0 ? "" : null, TimeSpan.FromSeconds(15), "the stalled body to be counted");
        Assert.DoesNotContain("forwarding failed", Porter.Output);
    }

    [Fact]
    public async Task Connect_is_not_implemented()
    {
        var response = await RawHttp.ExchangeAsync(Porter.Port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            TimeSpan.FromSeconds(10));
        Assert.Equal(501, RawHttp.StatusOf(response));
        Assert.DoesNotContain("forwarding failed", Porter.Output);
    }

    // ---- item 14: metric labels ------------------------------------------------------------------------------------

    [Fact]
    public async Task Response_headers_never_become_metric_labels()
    {
        for (var i = 0; i < 40; i++)
        {
            using var response = await Client.PostAsync($"/headers?h=X-Cache:value-{i}&h=Cache-Control:no-store", new StringContent("x"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var samples = PrometheusText.Parse(await Porter.Management.GetStringAsync("/metrics"));
        var labels = samples.Where(s => s.Name.StartsWith("porter_request", StringComparison.Ordinal) && s.Labels.ContainsKey("cache"))
            .Select(s => s.Labels["cache"]).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("NONE", labels);
        Assert.Subset(new HashSet<string>(["HIT", "MISS", "STALE", "BYPASS", "NONE"], StringComparer.Ordinal), labels);
    }

    private async Task<double> ClientErrorsAsync(string reason)
    {
        var samples = PrometheusText.Parse(await Porter.Management.GetStringAsync("/metrics"));
        return samples.Where(s => s.Name.StartsWith("porter_client_errors", StringComparison.Ordinal) && s.Labels.GetValueOrDefault("reason") == reason)
            .Sum(s => s.Value);
    }
}
