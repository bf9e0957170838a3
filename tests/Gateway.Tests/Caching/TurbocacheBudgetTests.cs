using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Gateway.Caching;
using Porter.Hosting.Edge;
using Porter.Workers.Dispatching;

namespace Porter.Gateway.Tests.Caching;

/// <summary>
/// The turbocache step with a probe standing in for the key's cache entity: whatever the entity does (nothing, or
/// "wait" and then nothing), a request waits at most its budget, or until the shard's breaker trips, and then goes to
/// the app as BYPASS. Real actor asks with real timeouts; the bounds asserted are generous, the budget is 100 ms.
/// </summary>
public sealed class TurbocacheBudgetTests : TestKit
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(3);
    private static readonly Address NodeA = new("akka.tcp", "porter", "127.0.0.2", 4053);

    private readonly TurbocacheOptions _options = new();
    private readonly AppOptions _app = new() { Name = "blog", Root = "/nonexistent" };
    private readonly TestProbe _entity;
    private readonly ShardBreakers _breakers;
    private readonly TurbocacheMiddleware _middleware;
    private int _appCalls;

    public TurbocacheBudgetTests() : base("akka.test.single-expect-default = 10s")
    {
        _entity = CreateTestProbe();
        var registry = new ActorRegistry();
        registry.Register<CacheEntity>(_entity.Ref);
        // Probes are never answered here: a tripped shard stays open for the test's length.
        _breakers = new ShardBreakers(new CacheMessageExtractor(), (_, _, _) => new TaskCompletionSource<string?>().Task,
            TimeProvider.System, NullLogger.Instance);
        var near = new NearResponseCache(_options);
        var hits = new NearCacheHits(_options, new AppResolver(new PorterOptions { Apps = [_app] }), near, new TurbocacheStats(), TimeProvider.System);
        // The app, called as the dispatcher calls it: the cache's hook sees the answer's status and headers first.
        _middleware = new TurbocacheMiddleware(context =>
            {
                Interlocked.Increment(ref _appCalls);
                context.Response.StatusCode = 200;
                if (context.Request.Path.StartsWithSegments("/cacheable")) context.Response.Headers.CacheControl = "public, max-age=60";
                using var upstream = new HttpResponseMessage();
                if (context.Features.Get<IUpstreamResponseHook>() is { } hook && !hook.OnResponse(context, upstream)) return Task.CompletedTask;
                return context.Response.WriteAsync("from the app");
            }, _options, hits, near, new RequiredActor<CacheEntity>(registry), _breakers,
            new NearCacheInvalidation(Sys, new CacheMembership(), _options, TimeProvider.System, NullLogger<NearCacheInvalidation>.Instance),
            TimeProvider.System, NullLogger<TurbocacheMiddleware>.Instance);
    }

    protected override void AfterAll()
    {
        _breakers.Dispose();
        base.AfterAll();
    }

    private DefaultHttpContext Request(string path = "/posts")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("blog.test");
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        context.Features.Set(new ResolvedApp(_app));
        return context;
    }

    private int ShardOf(string path) => _breakers.ShardOf(CacheKey.Create("blog", "http", "blog.test", path, null));

    private static async Task<TimeSpan> Timed(Task request)
    {
        var started = Stopwatch.GetTimestamp();
        await request.WaitAsync(TimeSpan.FromSeconds(30));
        return Stopwatch.GetElapsedTime(started);
    }

    [Fact]
    public async Task Lookup_not_answered_within_the_budget_goes_to_the_app_and_later_requests_skip_the_shard()
    {
        var first = Request();
        var request = _middleware.InvokeAsync(first);
        var lookup = _entity.ExpectMsg<CacheProtocol.Lookup>(); // and never answered

        Assert.True(await Timed(request) < Stall);
        Assert.Equal("BYPASS", first.Response.Headers["X-Cache"].ToString());
        Assert.Equal(1, _appCalls);
        // Had the entity made it the filler after all, the fill is given back under the lookup's request id.
        var abandoned = _entity.ExpectMsg<CacheProtocol.FillAbandoned>();
        Assert.Equal((lookup.Key, lookup.RequestId, false), (abandoned.Key, abandoned.RequestId, abandoned.PassThrough));
        Assert.True(_breakers.IsOpen(ShardOf("/posts")));

        var second = Request();
        await _middleware.InvokeAsync(second).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("BYPASS", second.Response.Headers["X-Cache"].ToString());
        Assert.Equal(2, _appCalls);
        _entity.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // the open shard was not asked
    }

    [Fact]
    public async Task Coalesced_wait_ends_as_soon_as_the_shards_home_becomes_unreachable()
    {
        var context = Request("/hot");
        var request = _middleware.InvokeAsync(context);
        var lookup = _entity.ExpectMsg<CacheProtocol.Lookup>();
        _entity.Reply(new CacheProtocol.LookupResult(lookup.Key, LookupOutcome.Wait, null, NodeA.ToString()));
        var join = _entity.ExpectMsg<CacheProtocol.Lookup>();
        Assert.Equal((LookupMode.JoinFill, lookup.RequestId), (join.Mode, join.RequestId));
        await Task.Delay(300);
        Assert.False(request.IsCompleted); // waiting for the fill, which may take longer than the budget

        var released = Stopwatch.GetTimestamp();
        _breakers.OnNodeChanged(new CacheNodeChanged(NodeA, CacheNodeState.Unreachable));

        await request.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(Stopwatch.GetElapsedTime(released) < Stall);
        Assert.Equal("BYPASS", context.Response.Headers["X-Cache"].ToString());
        Assert.Equal(1, _appCalls);
        Assert.True(_breakers.IsOpen(ShardOf("/hot")));
    }

    [Fact]
    public async Task Answered_lookup_is_served_as_before_and_its_fill_is_stored()
    {
        var context = Request("/fresh");
        var request = _middleware.InvokeAsync(context);
        var lookup = _entity.ExpectMsg<CacheProtocol.Lookup>();
        _entity.Reply(new CacheProtocol.LookupResult(lookup.Key, LookupOutcome.Fill, null, NodeA.ToString()));

        await request.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("MISS", context.Response.Headers["X-Cache"].ToString());
        Assert.Equal(1, _appCalls);
        Assert.False(_breakers.IsOpen(ShardOf("/fresh")));
        Assert.Equal(NodeA.ToString(), _breakers.HomeOf(ShardOf("/fresh")));
        // The app's answer was not storable (no lifetime): the filler gives the fill back under its own id.
        var abandoned = _entity.ExpectMsg<CacheProtocol.FillAbandoned>();
        Assert.Equal(lookup.RequestId, abandoned.RequestId);
    }

    [Fact]
    public async Task While_a_shard_is_skipped_its_storable_answers_are_kept_in_the_near_cache_only()
    {
        _breakers.Trip(ShardOf("/cacheable"), "test");
        var bypassed = Request("/cacheable");

        await _middleware.InvokeAsync(bypassed).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("BYPASS", bypassed.Response.Headers["X-Cache"].ToString());
        var again = Request("/cacheable");
        await _middleware.InvokeAsync(again).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("HIT", again.Response.Headers["X-Cache"].ToString());
        Assert.Equal(1, _appCalls);
        // Neither the lookup nor the store went to the shard that does not answer.
        _entity.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_stopping_gateway_asks_no_entity()
    {
        _breakers.StopUsingEntities();
        var context = Request("/any");

        await _middleware.InvokeAsync(context).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("BYPASS", context.Response.Headers["X-Cache"].ToString());
        Assert.Equal(1, _appCalls);
        _entity.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }
}
