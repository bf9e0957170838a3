using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>One porter node whose app keys its cache by the cookie "access".</summary>
public sealed class VaryCookieNodeFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Porter = await PorterProcess.StartAsync([Repo.TestApp, "--vary-turbocache-by-cookie", "access", "--max-instances", "1"]);

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}

/// <summary>--vary-turbocache-by-cookie: users at one access level share entries; users at different levels never see each other's.</summary>
public sealed class VaryCookieTests(VaryCookieNodeFixture fixture) : IClassFixture<VaryCookieNodeFixture>
{
    private PorterProcess Porter => fixture.Porter;

    private async Task<(string Body, string? CacheStatus)> GetAs(string url, string? cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (cookie is not null) request.Headers.TryAddWithoutValidation("Cookie", cookie);
        using var response = await Porter.Client.SendAsync(request);
        return (await response.Content.ReadAsStringAsync(), response.Headers.TryGetValues("X-Cache", out var v) ? v.Single() : null);
    }

    [Fact]
    public async Task Users_with_different_cookie_values_never_see_each_others_entry()
    {
        var url = CacheUrls.Headers("vary-cookie", "page {hit}", null, "Cache-Control:public, max-age=60", "Vary:Cookie");

        var staff = (await GetAs(url, "_ga=GA1.2.123; access=staff; theme=dark")).Body;
        var member = (await GetAs(url, "access=member")).Body;
        var anonymous = (await GetAs(url, null)).Body;
        Assert.Equal(3, new[] { staff, member, anonymous }.Distinct().Count());

        // Same level, different tracking cookies: the same entry.
        Assert.Equal(staff, (await GetAs(url, "access=staff; _ga=GA1.2.999")).Body);
        Assert.Equal(member, (await GetAs(url, "theme=light;access=member")).Body);
        // A request without the cookie shares the anonymous entry, whatever else it sends.
        Assert.Equal(anonymous, (await GetAs(url, "_ga=GA1.2.555")).Body);
        Assert.Equal(3, await CacheUrls.HitsAsync(Porter.Client, url));
    }

    [Theory]
    [InlineData("a=1 access=staff")]
    [InlineData("a=1, access=staff")]
    [InlineData("access=\"staff\"")]
    [InlineData("ACCESS=staff")]
    public async Task A_cookie_header_the_app_may_read_otherwise_bypasses_the_cache(string cookie)
    {
        // Python's http.cookies reads access=staff from the first two, ASP.NET Core from the last: the staff page must
        // not become the anonymous entry, nor be answered from it.
        var url = CacheUrls.Headers("vary-cookie-ambiguous", "page {hit}", null, "Cache-Control:public, max-age=60", "Vary:Cookie");
        var (ambiguous, status) = await GetAs(url, cookie);
        Assert.Equal("page 1", ambiguous);
        Assert.Equal("BYPASS", status);
        var (anonymous, anonymousStatus) = await GetAs(url, null);
        Assert.Equal("page 2", anonymous);
        Assert.Equal("MISS", anonymousStatus);
        // The anonymous entry now exists; an ambiguous request still goes to the app.
        Assert.Equal("page 3", (await GetAs(url, cookie)).Body);
        Assert.Equal(3, await CacheUrls.HitsAsync(Porter.Client, url));
    }
}

/// <summary>Apps without a vary cookie, and apps with the turbocache off.</summary>
public sealed class VaryCookieOffTests
{
    [Fact]
    public async Task Vary_cookie_is_refused_without_a_configured_vary_cookie_and_caching_can_be_disabled()
    {
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp]);
        var varyCookie = CacheUrls.Headers("vary-cookie-off", "v{hit}", null, "Cache-Control:public, max-age=60", "Vary:Cookie");
        await porter.Client.GetAsync(varyCookie);
        await porter.Client.GetAsync(varyCookie);
        Assert.Equal(2, await CacheUrls.HitsAsync(porter.Client, varyCookie));

        await using var disabled = await PorterProcess.StartAsync([Repo.TestApp, "--disable-turbocaching"]);
        var url = CacheUrls.Headers("disabled", "v{hit}", null, "Cache-Control:public, max-age=60");
        using var first = await disabled.Client.GetAsync(url);
        using var second = await disabled.Client.GetAsync(url);
        Assert.False(second.Headers.Contains("X-Cache"));
        Assert.Equal(2, await CacheUrls.HitsAsync(disabled.Client, url));
    }
}
