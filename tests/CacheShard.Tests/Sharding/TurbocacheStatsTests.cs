using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Ids;

namespace Porter.CacheShard.Tests.Sharding;

public sealed class TurbocacheStatsTests
{
    [Fact]
    public void Counters_are_kept_per_app_named_by_the_key_prefix()
    {
        var stats = new TurbocacheStats();
        stats.For(CacheKey.Create("blog", "http", "example.com", "/a", null)).RecordStore(10);
        stats.For(CacheKey.Create("blog", "https", "example.com", "/b", "?x=1")).RecordStore(5);
        stats.For(new AppName("blog")).RecordHit();
        stats.For(CacheKey.Create("shop", "http", "shop.example.com", "/", null)).RecordMiss();

        var blog = stats.Snapshot(new AppName("blog"));
        Assert.Equal(2, blog.Stores);
        Assert.Equal(15, blog.BytesHeld);
        Assert.Equal(1, blog.Hits);
        Assert.Equal(1, stats.Snapshot(new AppName("shop")).Misses);
        Assert.Equal(["blog", "shop"], stats.Snapshot().Keys);
    }

    [Fact]
    public void Same_app_gets_the_same_counters()
    {
        var stats = new TurbocacheStats();
        var key = CacheKey.Create("blog", "http", "example.com", "/", null);
        Assert.Same(stats.For(key), stats.For(new AppName("blog")));
        Assert.Equal("blog", TurbocacheStats.AppOf(key).ToString());
    }

    [Fact]
    public void Unknown_app_has_an_all_zero_snapshot()
    {
        var snapshot = new TurbocacheStats().Snapshot(new AppName("nobody"));
        Assert.Equal(0, snapshot.Lookups);
        Assert.Empty(snapshot.Refusals);
        Assert.Empty(new TurbocacheStats().Snapshot());
    }

    [Fact]
    public void Concurrent_recording_loses_nothing()
    {
        var stats = new TurbocacheStats();
        Parallel.For(0, 8_000, i => stats.For(new AppName("app" + (i % 4))).RecordLookup());
        Assert.All(stats.Snapshot().Values, s => Assert.Equal(2_000, s.Lookups));
        Assert.Equal(4, stats.Snapshot().Count);
    }
}
