using Porter.Contracts.Options;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Caching;

/// <summary>Two nodes in one cluster share one turbocache: entities are sharded, near caches are kept honest by broadcasts.</summary>
public sealed class ClusterCacheTests
{
    [Fact]
    public async Task Stored_through_one_gateway_hit_through_another_and_invalidated_everywhere()
    {
        await using var a = await InProcessNode.StartAsync(new AppOptions { Name = "testapp", Root = Repo.TestApp });
        await using var b = await InProcessNode.StartAsync(new AppOptions { Name = "testapp", Root = Repo.TestApp }, seed: a);
        var url = CacheUrls.Headers("cluster", "v{hit}", null, "Cache-Control:public, max-age=600");
        // Behind a load balancer every gateway sees the site's own host name, so both share one cache key.
        foreach (var client in new[] { a.Client, b.Client }) client.DefaultRequestHeaders.Host = "shop.test";

        using (var stored = await a.Client.GetAsync(url))
            Assert.Equal("MISS", stored.Headers.GetValues("X-Cache").Single());
        using (var hit = await b.Client.GetAsync(url))
        {
            Assert.Equal("HIT", hit.Headers.GetValues("X-Cache").Single());
            Assert.Equal("v1", await hit.Content.ReadAsStringAsync());
        }
        // B's own app process never saw the URL: the hit came from the cluster's cache.
        Assert.Equal(0, await CacheUrls.HitsAsync(b.Client, url));

        using (var post = await a.Client.PostAsync(url, new StringContent("change")))
            Assert.True(post.IsSuccessStatusCode);

        // B's near cache drops the entry on the broadcast; its safety window bounds how long that may take.
        var miss = await Poll.UntilAsync(async () =>
        {
            using var response = await b.Client.GetAsync(url);
            return response.Headers.GetValues("X-Cache").Single() == "MISS" ? await response.Content.ReadAsStringAsync() : null;
        }, TimeSpan.FromSeconds(10), "a miss on B after the invalidation");
        Assert.Equal("v1", miss);
        Assert.Equal(1, await CacheUrls.HitsAsync(b.Client, url));
    }
}
