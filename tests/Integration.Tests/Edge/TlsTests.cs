using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Porter.Integration.Tests.Caching;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Edge;

/// <summary>
/// A copy of testapp with a public/ folder, served over plain HTTP on --port and HTTPS (HTTP/2 and HTTP/1.1 by ALPN) on
/// --ssl-port with a certificate made for the test; its cache varies by the cookie "access".
/// </summary>
public sealed class TlsFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;
    public TestCertificate Certificate { get; } = TestCertificate.Create();
    public int TlsPort { get; } = Repo.FreePort();
    public HttpClient Http2 { get; private set; } = null!;
    public HttpClient Http11 { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var root = Repo.TempDir("tls");
        var app = Path.Combine(root, "tlsapp");
        Directory.CreateDirectory(Path.Combine(app, "public"));
        File.Copy(Path.Combine(Repo.TestApp, "app.js"), Path.Combine(app, "app.js"));
        await File.WriteAllTextAsync(Path.Combine(app, "public", "hello.txt"), "static hello\n");
        var (certificate, key) = Certificate.WriteTo(root);
        Porter = await PorterProcess.StartAsync([app, "--ssl-port", TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--ssl-certificate", certificate, "--ssl-certificate-key", key, "--vary-turbocache-by-cookie", "access", "--max-instances", "1"]);
        Http2 = TestCertificate.Client(TlsPort, HttpVersion.Version20, () => [Certificate.Certificate.Thumbprint]);
        Http11 = TestCertificate.Client(TlsPort, HttpVersion.Version11, () => [Certificate.Certificate.Thumbprint]);
    }

    public async Task DisposeAsync()
    {
        Http2.Dispose();
        Http11.Dispose();
        await Porter.DisposeAsync();
    }
}

/// <summary>HTTPS and HTTP/2 on the public port: the app, the turbocache, vary-by-cookie, static files and the guards alike over every protocol.</summary>
public sealed class TlsTests(TlsFixture fixture) : IClassFixture<TlsFixture>
{
    private PorterProcess Porter => fixture.Porter;

    private static async Task<JsonElement> EchoAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static string Header(JsonElement echo, string name) => echo.GetProperty("headers").GetProperty(name).GetString()!;

    private static string? CacheStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var values) ? values.Single() : null;

    [Fact]
    public async Task Http2_and_http11_over_tls_reach_the_app_as_https_over_http11()
    {
        using var h2 = await fixture.Http2.GetAsync("/echo-request");
        Assert.Equal(HttpVersion.Version20, h2.Version);
        var echo = await EchoAsync(h2);
        // The app keeps talking HTTP/1.1; :authority became its Host.
        Assert.Equal("1.1", echo.GetProperty("httpVersion").GetString());
        Assert.Equal($"127.0.0.1:{fixture.TlsPort}", Header(echo, "host"));
        Assert.Equal("https", Header(echo, "x-forwarded-proto"));
        Assert.Equal(fixture.TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(echo, "x-forwarded-port"));

        using var h1 = await fixture.Http11.GetAsync("/echo-request");
        Assert.Equal(HttpVersion.Version11, h1.Version);
        Assert.Equal("https", Header(await EchoAsync(h1), "x-forwarded-proto"));

        using var plain = await Porter.Client.GetAsync("/echo-request");
        Assert.Equal("http", Header(await EchoAsync(plain), "x-forwarded-proto"));
    }

    [Fact]
    public async Task Curl_negotiates_http2_by_alpn()
    {
        var psi = new ProcessStartInfo("curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--http2", "-k", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                     $"https://127.0.0.1:{fixture.TlsPort}/pid" })
            psi.ArgumentList.Add(arg);
        using var curl = Process.Start(psi)!;
        var output = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Assert.True(curl.ExitCode == 0, await curl.StandardError.ReadToEndAsync());
        Assert.Equal("2 200", output.Trim());
    }

    [Fact]
    public async Task A_cached_entry_is_hit_over_http2_and_http11_alike()
    {
        var url = CacheUrls.Headers("tls-cache", "page {hit}", null, "Cache-Control:public, max-age=60");
        using var first = await fixture.Http2.GetAsync(url);
        Assert.Equal("page 1", await first.Content.ReadAsStringAsync());
        Assert.Equal("MISS", CacheStatus(first));
        using var overHttp11 = await fixture.Http11.GetAsync(url);
        Assert.Equal("page 1", await overHttp11.Content.ReadAsStringAsync());
        Assert.Equal("HIT", CacheStatus(overHttp11));
        using var again = await fixture.Http2.GetAsync(url);
        Assert.Equal("page 1", await again.Content.ReadAsStringAsync());
        Assert.Equal("HIT", CacheStatus(again));
        Assert.Equal(1, await CacheUrls.HitsAsync(Porter.Client, url));
    }

    [Fact]
    public async Task Vary_by_cookie_keeps_levels_apart_over_http2()
    {
        var url = CacheUrls.Headers("tls-vary-cookie", "page {hit}", null, "Cache-Control:public, max-age=60", "Vary:Cookie");
        async Task<string> GetAs(HttpClient client, string cookie)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
            using var response = await client.SendAsync(request);
            return await response.Content.ReadAsStringAsync();
        }

        Assert.Equal("page 1", await GetAs(fixture.Http2, "_ga=1; access=staff"));
        Assert.Equal("page 2", await GetAs(fixture.Http2, "access=member"));
        Assert.Equal("page 1", await GetAs(fixture.Http11, "access=staff; theme=dark"));
        Assert.Equal("page 2", await GetAs(fixture.Http11, "access=member"));
        Assert.Equal("page 1", await GetAs(fixture.Http2, "access=staff"));
        Assert.Equal(2, await CacheUrls.HitsAsync(Porter.Client, url));
    }

    [Fact]
    public async Task Static_files_and_the_guards_answer_over_http2_as_over_http11()
    {
        foreach (var client in new[] { fixture.Http2, fixture.Http11 })
        {
            using var file = await client.GetAsync("/hello.txt");
            Assert.Equal(HttpStatusCode.OK, file.StatusCode);
            Assert.Equal("static hello\n", await file.Content.ReadAsStringAsync());
            using var climbing = await client.GetAsync("/x/%252e%252e/app.js");
            Assert.Equal(HttpStatusCode.BadRequest, climbing.StatusCode);
            using var internalPath = await client.GetAsync("/.porter/oob-work");
            Assert.Equal(HttpStatusCode.NotFound, internalPath.StatusCode);
        }
    }
}

/// <summary>HTTPS only (on --port), certificate renewals without a restart, the sticky cookie's Secure, and h2c on a plain port.</summary>
public sealed class TlsNodeTests
{
    [Fact]
    public async Task Https_only_serves_a_renewed_certificate_without_a_restart_and_keeps_the_old_one_for_a_broken_renewal()
    {
        var dir = Repo.TempDir("tls-reload");
        var first = TestCertificate.Create("porter-first");
        var (certificateFile, keyFile) = first.WriteTo(dir);
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp, "--ssl-certificate", certificateFile,
            "--ssl-certificate-key", keyFile, "--sticky-sessions"], waitForApp: false);
        var second = TestCertificate.Create("porter-second");
        var presented = "";
        using var client = TestCertificate.Client(porter.Port, HttpVersion.Version11,
            () => [first.Certificate.Thumbprint, second.Certificate.Thumbprint], c => Volatile.Write(ref presented, c.Thumbprint),
            freshConnections: true);

        using var response = await Poll.UntilAsync(async () =>
        {
            var answer = await client.GetAsync("/pid");
            return answer.StatusCode == HttpStatusCode.OK ? answer : null;
        }, TimeSpan.FromSeconds(60), "the app over HTTPS");
        Assert.Equal(first.Certificate.Thumbprint, Volatile.Read(ref presented));
        // The sticky-session cookie of an https answer is Secure.
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("_porter_route=", setCookie);
        Assert.Contains("; Secure", setCookie);
        // HTTPS only: plain HTTP on the port gets no answer.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => porter.Client.GetAsync("/pid"));

        second.WriteTo(dir);
        await Poll.UntilAsync(async () =>
        {
            using var answer = await client.GetAsync("/pid");
            return answer.StatusCode == HttpStatusCode.OK && Volatile.Read(ref presented) == second.Certificate.Thumbprint ? "" : null;
        }, TimeSpan.FromSeconds(30), "the renewed certificate");
        Assert.Contains("reloaded", porter.Output);

        // A renewal whose key does not fit: the previous certificate keeps serving, and the log says why.
        await File.WriteAllTextAsync(keyFile, first.KeyPem);
        // (Handshakes look at the files: each poll makes one.)
        await Poll.UntilAsync(async () =>
        {
            using var answer = await client.GetAsync("/pid");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(second.Certificate.Thumbprint, Volatile.Read(ref presented));
            return porter.Output.Contains("TLS certificate not reloaded") ? "" : null;
        }, TimeSpan.FromSeconds(30), "the unusable renewal in the log");
    }

    [Fact]
    public async Task H2c_serves_http2_with_prior_knowledge_on_the_plain_port()
    {
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp, "--h2c"], waitForApp: false);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{porter.Port}/"),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await Poll.UntilAsync(async () =>
        {
            var answer = await client.GetAsync("/echo-request");
            return answer.StatusCode == HttpStatusCode.OK ? answer : null;
        }, TimeSpan.FromSeconds(60), "the app over h2c");
        Assert.Equal(HttpVersion.Version20, response.Version);
        var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("http", echo.GetProperty("headers").GetProperty("x-forwarded-proto").GetString());
    }

    [Fact]
    public async Task A_gateway_node_serves_http2_over_tls_for_its_workers_apps()
    {
        var dir = Repo.TempDir("tls-gateway");
        var certificate = TestCertificate.Create();
        var (certificateFile, keyFile) = certificate.WriteTo(dir);
        var tlsPort = Repo.FreePortOnAll("127.0.0.2", "127.0.0.3");
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1,
            gatewayArgs: ["--ssl-port", tlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--ssl-certificate", certificateFile, "--ssl-certificate-key", keyFile]);
        using var client = TestCertificate.Client(tlsPort, HttpVersion.Version20, () => [certificate.Certificate.Thumbprint],
            address: cluster.Gateway.Address);
        using var response = await client.GetAsync("/echo-request");
        Assert.Equal(HttpVersion.Version20, response.Version);
        var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https", echo.GetProperty("headers").GetProperty("x-forwarded-proto").GetString());
        Assert.Contains(echo.GetProperty("pid").GetInt32(), cluster.Workers.Single().RecordedAppPids());
    }
}
