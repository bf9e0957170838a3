using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>--vary-turbocache-by-cookie: users at one access level share entries; users at different levels never see each other's.</summary>
public sealed class VaryCookieTests
{
    [Fact]
    public async Task Users_with_different_cookie_values_never_see_each_others_entry()
    {
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp, "--vary-turbocache-by-cookie", "access"]);
        var url = CacheUrls.Headers("vary-cookie", "page {hit}", null, "Cache-Control:public, max-age=60", "Vary:Cookie");

        async Task<string> GetAs(string? cookie)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (cookie is not null) request.Headers.Add("Cookie", cookie);
            using var response = await porter.Client.SendAsync(request);
            return await response.Content.ReadAsStringAsync();
        }

        var staff = await GetAs("_ga=GA1.2.123; access=staff; theme=dark");
        var member = await GetAs("access=member");
        var anonymous = await GetAs(null);
        Assert.Equal(3, new[] { staff, member, anonymous }.Distinct().Count());

        // Same level, different tracking cookies: the same entry.
        Assert.Equal(staff, await GetAs("access=staff; _ga=GA1.2.999"));
        Assert.Equal(member, await GetAs("theme=light; access=\"member\""));
        // A request without the cookie shares the anonymous entry, whatever else it sends.
        Assert.Equal(anonymous, await GetAs("_ga=GA1.2.555"));
        Assert.Equal(3, await CacheUrls.HitsAsync(porter.Client, url));
    }

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
