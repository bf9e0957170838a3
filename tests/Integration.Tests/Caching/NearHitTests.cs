using System.Net;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>A copy of testapp named "nearapp" with a public/ folder the tests write to, served by one porter node.</summary>
public sealed class NearHitFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "porter-nearhit-" + Guid.NewGuid().ToString("N")[..8]);

    public PorterProcess Porter { get; private set; } = null!;

    public string AppDir => Path.Combine(_root, "nearapp");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(AppDir, "public"));
        File.Copy(Path.Combine(Repo.TestApp, "app.js"), Path.Combine(AppDir, "app.js"));
        Porter = await PorterProcess.StartAsync([AppDir, "--max-instances", "1"]);
    }

    public async Task DisposeAsync()
    {
        await Porter.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>
/// Hits on hot keys are answered at the front of the gateway pipeline; these check that the answer is the one the
/// full pipeline would give: counted in the metrics, never hiding a static file, and forwarded headers still rewritten first.
/// </summary>
public sealed class NearHitTests(NearHitFixture fixture) : IClassFixture<NearHitFixture>
{
    private HttpClient Client => fixture.Porter.Client;

    private static string? CacheStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var v) ? v.Single() : null;

    private async Task<(HttpResponseMessage Response, string Body)> GetAsync(string url, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
        var response = await Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private async Task<double> HitCountAsync()
    {
        var samples = PrometheusText.Parse(await fixture.Porter.Management.GetStringAsync("/metrics"));
        return samples.Where(s => s.Name.StartsWith("porter_requests", StringComparison.Ordinal)
                                  && s.Labels.GetValueOrDefault("app") == "nearapp" && s.Labels.GetValueOrDefault("cache") == "HIT")
            .Sum(s => s.Value);
    }

    [Fact]
    public async Task Hits_count_in_the_request_metrics()
    {
        var url = CacheUrls.Headers("metrics", "v{hit}", null, "Cache-Control:public, max-age=60");
        Assert.Equal("MISS", CacheStatus((await GetAsync(url)).Response));
        var before = await HitCountAsync();
        for (var i = 0; i < 5; i++)
            Assert.Equal("HIT", CacheStatus((await GetAsync(url)).Response));
        Assert.Equal(before + 5, await HitCountAsync());
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));
    }

    [Fact]
    public async Task A_static_file_added_after_its_path_was_cached_is_served_from_public()
    {
        var url = CacheUrls.Headers("/headers/late.txt", "late", "from-app", null, "Cache-Control:public, max-age=60");
        Assert.Equal("from-app", (await GetAsync(url)).Body);
        Assert.Equal("HIT", CacheStatus((await GetAsync(url)).Response));

        Directory.CreateDirectory(Path.Combine(fixture.AppDir, "public", "headers"));
        await File.WriteAllTextAsync(Path.Combine(fixture.AppDir, "public", "headers", "late.txt"), "from-file");
        var (response, body) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("from-file", body);
        Assert.Null(CacheStatus(response));
    }

    [Fact]
    public async Task Vary_on_a_forwarded_header_matches_the_value_porter_sets_not_the_clients()
    {
        // Porter replaces a client's X-Forwarded-For with the peer address before the cache looks, so forged values,
        // and no value at all, all select the variant stored for this client's address.
        var url = CacheUrls.Headers("vary-xff", "v{hit}", null, "Cache-Control:public, max-age=60", "Vary:X-Forwarded-For");
        Assert.Equal("v1", (await GetAsync(url, forwardedFor: "203.0.113.7")).Body);
        foreach (var forged in new[] { null, "198.51.100.1", "203.0.113.7" })
        {
            var (response, body) = await GetAsync(url, forged);
            Assert.Equal("HIT", CacheStatus(response));
            Assert.Equal("v1", body);
        }
        Assert.Equal(1, await CacheUrls.HitsAsync(Client, url));
    }
}
