using Microsoft.AspNetCore.Http;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Policy;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.NearCache;

public sealed class NearResponseCacheTests
{
    private static readonly CacheKey Home = CacheKey.Create("blog", "http", "example.com", "/", "?page=1");

    private static NearResponseCache Cache(int maxEntries = 100, long maxBytes = 1 << 20, double stalenessSeconds = 1) =>
        new(new TurbocacheOptions
        {
            NearCacheMaxEntries = maxEntries,
            NearCacheMaxBytes = maxBytes,
            NearCacheMaxStaleness = TimeSpan.FromSeconds(stalenessSeconds),
        });

    private static CachedResponse Fresh(string body = "hello", params string[] extra) =>
        Store(["Cache-Control: max-age=60", .. extra], body: body);

    private static CacheKey Key(int i) => CacheKey.Create("blog", "http", "example.com", $"/{i}", null);

    private static bool Hit(NearResponseCache cache, CacheKey key, DateTimeOffset now, IHeaderDictionary? request = null) =>
        cache.TryGet(key, request ?? Headers(), now, out _);

    /// <summary>What <paramref name="variants"/> of <paramref name="key"/> cost in a near cache.</summary>
    private static long Cost(CacheKey key, params CachedResponse[] variants) =>
        EntryCost.OfNearKey(key.Value) + variants.Sum(EntryCost.OfNearVariant);

    [Fact]
    public void Serves_a_stored_entry()
    {
        var cache = Cache();
        var entry = Fresh();
        cache.Set(Home, entry, T0);

        Assert.True(cache.TryGet(Home, Headers(), T0.AddMilliseconds(500), out var hit));
        Assert.Same(entry, hit);
        Assert.Equal(1, cache.Count);
        Assert.Equal(Cost(Home, entry), cache.BytesHeld);
    }

    [Fact]
    public void Lookup_by_request_parts_finds_the_normalised_key()
    {
        var cache = Cache();
        cache.Set(Home, Fresh(), T0);

        Assert.True(cache.TryGet(new CacheKeyParts("blog", "HTTP", "Example.COM:80", "/", "?page=1"), Headers(), T0, out _));
        Assert.False(cache.TryGet(new CacheKeyParts("blog", "http", "example.com", "/", "?page=2"), Headers(), T0, out _));
        Assert.False(cache.TryGet(new CacheKeyParts("wiki", "http", "example.com", "/", "?page=1"), Headers(), T0, out _));
    }

    [Fact]
    public void Long_keys_are_found_by_parts_too()
    {
        var cache = Cache();
        string path = "/" + new string('x', 3000);
        cache.Set(CacheKey.Create("blog", "http", "h", path, null), Fresh(), T0);
        Assert.True(cache.TryGet(new CacheKeyParts("blog", "http", "h", path, ""), Headers(), T0, out _));
    }

    [Fact]
    public void Never_serves_an_entry_past_its_freshness()
    {
        var cache = Cache(stalenessSeconds: 3600);
        var entry = Store(["Cache-Control: max-age=2"]);
        cache.Set(Home, entry, T0);

        Assert.True(Hit(cache, Home, T0.AddSeconds(1.9)));
        Assert.False(Hit(cache, Home, T0.AddSeconds(2)));
    }

    [Fact]
    public void Does_not_serve_an_entry_held_longer_than_the_staleness_bound()
    {
        var cache = Cache(stalenessSeconds: 1);
        cache.Set(Home, Fresh(), T0);

        Assert.True(Hit(cache, Home, T0.AddSeconds(1)));
        Assert.False(Hit(cache, Home, T0.AddSeconds(1.001)));
    }

    [Fact]
    public void Staleness_counts_from_when_the_lookup_or_fill_started_not_from_when_the_entry_was_stored()
    {
        var cache = Cache(stalenessSeconds: 1);
        cache.Set(Home, Fresh(), fetchedAt: T0, now: T0.AddSeconds(0.8));

        Assert.True(Hit(cache, Home, T0.AddSeconds(1)));
        Assert.False(Hit(cache, Home, T0.AddSeconds(1.001)));
    }

    [Fact]
    public void Entry_fetched_longer_ago_than_the_staleness_bound_is_not_stored()
    {
        var cache = Cache(stalenessSeconds: 1);
        cache.Set(Home, Fresh(), fetchedAt: T0, now: T0.AddSeconds(1.5));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Entry_fetched_before_an_invalidation_is_refused_after_it()
    {
        var cache = Cache(stalenessSeconds: 1);
        cache.Invalidate(Home, T0.AddSeconds(1));

        // Its lookup started before the invalidation, its answer arrived after: it may describe the old state.
        cache.Set(Home, Fresh("old"), fetchedAt: T0.AddSeconds(0.5), now: T0.AddSeconds(1.2));
        Assert.False(Hit(cache, Home, T0.AddSeconds(1.2)));

        cache.Set(Home, Fresh("new"), fetchedAt: T0.AddSeconds(1.1), now: T0.AddSeconds(1.2));
        Assert.True(cache.TryGet(Home, Headers(), T0.AddSeconds(1.2), out var entry));
        Assert.Equal("new"u8.ToArray(), entry.Body);
    }

    [Fact]
    public void Too_many_invalidations_at_once_still_refuse_every_entry_fetched_before_them()
    {
        var cache = Cache(stalenessSeconds: 1);
        for (int i = 0; i < 5000; i++)
            cache.Invalidate(Key(i), T0.AddSeconds(1));

        cache.Set(Key(10_000), Fresh(), fetchedAt: T0.AddSeconds(0.5), now: T0.AddSeconds(1.1));
        Assert.Equal(0, cache.Count);
        cache.Set(Key(1), Fresh(), fetchedAt: T0.AddSeconds(1.05), now: T0.AddSeconds(1.1));
        Assert.True(Hit(cache, Key(1), T0.AddSeconds(1.1)));
    }

    [Fact]
    public void Setting_again_restarts_the_staleness_bound()
    {
        var cache = Cache(stalenessSeconds: 1);
        cache.Set(Home, Fresh(), T0);
        cache.Set(Home, Fresh(), T0.AddSeconds(5));
        Assert.True(Hit(cache, Home, T0.AddSeconds(5.5)));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Ignores_entries_that_are_already_stale_or_too_large()
    {
        var cache = Cache(maxBytes: 10);
        cache.Set(Home, Store(["Cache-Control: max-age=0", "ETag: \"v\""]), T0);
        cache.Set(Key(1), Fresh(new string('b', 11)), T0);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Keeps_separate_variants_for_ajax_and_page_requests()
    {
        var cache = Cache();
        string[] response = ["Cache-Control: max-age=60", "Vary: X-Requested-With"];
        var json = Store(response, ["X-Requested-With: XMLHttpRequest"], body: "{}");
        var html = Store(response, body: "<html>");
        cache.Set(Home, json, T0);
        cache.Set(Home, html, T0);

        Assert.True(cache.TryGet(Home, Headers("X-Requested-With: XMLHttpRequest"), T0, out var ajaxHit));
        Assert.Same(json, ajaxHit);
        Assert.True(cache.TryGet(Home, Headers(), T0, out var pageHit));
        Assert.Same(html, pageHit);
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void Keeps_users_with_different_vary_cookies_apart()
    {
        var cache = Cache();
        var staff = Store(["Cache-Control: max-age=60"], ["Cookie: level=staff"], varyCookie: "level", body: "staff");
        cache.Set(Home, staff, T0);

        Assert.True(Hit(cache, Home, T0, Headers("Cookie: level=staff; sid=2")));
        Assert.False(Hit(cache, Home, T0, Headers("Cookie: level=member")));
        Assert.False(Hit(cache, Home, T0, Headers()));
    }

    [Fact]
    public void Replaces_the_same_variant()
    {
        var cache = Cache();
        cache.Set(Home, Fresh("one"), T0);
        var second = Fresh("second");
        cache.Set(Home, second, T0);

        Assert.True(cache.TryGet(Home, Headers(), T0, out var hit));
        Assert.Same(second, hit);
        Assert.Equal(1, cache.Count);
        Assert.Equal(Cost(Home, second), cache.BytesHeld);
    }

    [Fact]
    public void Bounds_variants_per_key()
    {
        var cache = Cache();
        for (int i = 0; i < NearResponseCache.MaxVariantsPerKey + 4; i++)
            cache.Set(Home, Store(["Cache-Control: max-age=60"], [$"Cookie: level={i}"], varyCookie: "level"), T0);

        Assert.Equal(NearResponseCache.MaxVariantsPerKey, cache.Count);
        Assert.False(Hit(cache, Home, T0, Headers("Cookie: level=0")));
        Assert.True(Hit(cache, Home, T0, Headers($"Cookie: level={NearResponseCache.MaxVariantsPerKey + 3}")));
    }

    [Fact]
    public void Invalidate_drops_every_variant_of_the_key()
    {
        var cache = Cache();
        string[] response = ["Cache-Control: max-age=60", "Vary: X-Requested-With"];
        cache.Set(Home, Store(response, ["X-Requested-With: XMLHttpRequest"]), T0);
        cache.Set(Home, Store(response), T0);
        var other = Fresh();
        cache.Set(Key(1), other, T0);

        Assert.True(cache.Invalidate(Home, T0));

        Assert.False(Hit(cache, Home, T0, Headers("X-Requested-With: XMLHttpRequest")));
        Assert.False(Hit(cache, Home, T0));
        Assert.True(Hit(cache, Key(1), T0));
        Assert.Equal(1, cache.Count);
        Assert.Equal(Cost(Key(1), other), cache.BytesHeld);
        Assert.False(cache.Invalidate(Home, T0));
    }

    [Fact]
    public void Bounds_the_number_of_entries()
    {
        var cache = Cache(maxEntries: 3);
        for (int i = 0; i < 10; i++)
            cache.Set(Key(i), Fresh(), T0);

        Assert.Equal(3, cache.Count);
        Assert.Equal(7, cache.Evictions);
        Assert.Equal(3, Enumerable.Range(0, 10).Count(i => Hit(cache, Key(i), T0)));
    }

    [Fact]
    public void Bounds_the_bytes_held()
    {
        long each = Cost(Key(0), Fresh("0123456789"));
        var cache = Cache(maxBytes: 2 * each + each / 2);
        for (int i = 0; i < 10; i++)
            cache.Set(Key(i), Fresh("0123456789"), T0);

        Assert.Equal(2 * each, cache.BytesHeld);
        Assert.Equal(2, cache.Count);
        Assert.Equal(8, cache.Evictions);
    }

    [Fact]
    public void Header_bytes_count_against_the_bound_like_body_bytes()
    {
        // Empty bodies with 4 KB of headers: they used to count as nothing, so only the entry bound held them back.
        var heavy = Fresh("", $"X-Padding: {new string('x', 4000)}");
        var keys = Enumerable.Range(0, 100).Select(i => CacheKey.Create("blog", "http", "example.com", $"/{i:000}", null)).ToList();
        long each = Cost(keys[0], heavy);
        Assert.True(each > 8000, $"4,000 header chars held as a string cost {each}");
        var cache = Cache(maxEntries: 1000, maxBytes: 10 * each);
        foreach (var key in keys)
            cache.Set(key, heavy, T0);

        Assert.Equal(10, cache.Count);
        Assert.Equal(10 * each, cache.BytesHeld);
        Assert.Equal(90, cache.Evictions);
    }

    [Fact]
    public void An_entry_costlier_than_the_whole_bound_is_not_held()
    {
        var entry = Fresh("0123456789");
        var cache = Cache(maxBytes: Cost(Home, entry) - 1);
        cache.Set(Home, entry, T0);
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.BytesHeld);
    }

    [Fact]
    public void Eviction_spares_recently_hit_entries()
    {
        var cache = Cache(maxEntries: 3);
        cache.Set(Key(0), Fresh(), T0);
        cache.Set(Key(1), Fresh(), T0);
        cache.Set(Key(2), Fresh(), T0);
        Assert.True(Hit(cache, Key(0), T0));

        cache.Set(Key(3), Fresh(), T0);

        Assert.True(Hit(cache, Key(0), T0));
        Assert.False(Hit(cache, Key(1), T0));
        Assert.True(Hit(cache, Key(2), T0));
        Assert.True(Hit(cache, Key(3), T0));
    }

    [Fact]
    public void Clear_drops_everything()
    {
        var cache = Cache();
        cache.Set(Home, Fresh(), T0);
        cache.Set(Key(1), Fresh(), T0);
        cache.Clear();

        Assert.False(Hit(cache, Home, T0));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.BytesHeld);
        cache.Set(Home, Fresh(), T0);
        Assert.True(Hit(cache, Home, T0));
    }

    [Fact]
    public void Sweep_drops_entries_that_can_no_longer_be_served()
    {
        var cache = Cache(stalenessSeconds: 10);
        cache.Set(Key(0), Store(["Cache-Control: max-age=5"]), T0);
        cache.Set(Key(1), Fresh(), T0);
        cache.Set(Key(2), Fresh(), T0.AddSeconds(8));

        Assert.Equal(2, cache.Sweep(T0.AddSeconds(12)));
        Assert.Equal(1, cache.Count);
        Assert.True(Hit(cache, Key(2), T0.AddSeconds(12)));
    }

    [Fact]
    public void Disabled_near_cache_holds_nothing()
    {
        var cache = Cache(maxEntries: 0);
        cache.Set(Home, Fresh(), T0);
        Assert.False(Hit(cache, Home, T0));
    }

    [Fact]
    public void Hit_on_a_hot_key_does_not_allocate()
    {
        var cache = Cache();
        string[] response = ["Cache-Control: max-age=60", "Vary: Accept-Encoding, X-Requested-With"];
        var request = Headers("Accept-Encoding: gzip, br", "Cookie: level=staff; sid=9");
        cache.Set(Home, Store(response, ["Accept-Encoding: gzip,br"]), T0);
        var policy = new RequestPolicy("level");

        bool Lookup()
        {
            var evaluation = policy.Evaluate("GET", request);
            var parts = new CacheKeyParts("blog", "http", "Example.com:80", "/", "?page=1");
            return cache.TryGet(parts, request, T0, out var entry)
                && evaluation.CanUse(entry, T0)
                && !ConditionalPolicy.IsNotModified(request, entry)
                && entry.AgeHeaderValue(T0).Length > 0;
        }

        Assert.True(Lookup()); // warm up: JIT, static tables, the Age string
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            Lookup();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Concurrent_readers_and_writers_see_only_whole_entries()
    {
        var cache = Cache(maxEntries: 8);
        var entries = Enumerable.Range(0, 16).Select(i => Fresh($"body-{i}")).ToArray();
        var request = Headers();

        Parallel.For(0, 20_000, i =>
        {
            var key = Key(i % 16);
            switch (i % 4)
            {
                case 0:
                    cache.Set(key, entries[i % 16], T0);
                    break;
                case 1 when i % 64 == 1:
                    cache.Invalidate(key, T0);
                    break;
                default:
                    if (cache.TryGet(key, request, T0, out var hit))
                        Assert.Same(entries[i % 16], hit);
                    break;
            }
        });

        Assert.InRange(cache.Count, 0, 8);
        cache.Clear();
        Assert.Equal(0, cache.BytesHeld);
    }
}
