using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Time.Testing;
using Porter.CacheShard.NearCache;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Sharding;

/// <summary>The receiving side of acknowledged near-cache invalidation, as a plain actor with a fake clock.</summary>
public sealed class NearCacheInvalidationReceiverTests : TestKit
{
    private static readonly CacheKey Held = CacheKey.Create("blog", "http", "example.com", "/held", null);
    private static readonly CacheKey Absent = CacheKey.Create("blog", "http", "example.com", "/absent", null);

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly NearResponseCache _near = new(new TurbocacheOptions());

    [Fact]
    public void Drops_the_keys_confirms_and_logs_nothing_unhandled_when_a_key_was_not_held()
    {
        _near.Set(Held, Store(["Cache-Control: max-age=60"]), T0);
        var unhandled = CreateTestProbe();
        Sys.EventStream.Subscribe(unhandled.Ref, typeof(UnhandledMessage));
        var receiver = Sys.ActorOf(NearCacheInvalidationReceiver.Props(_near, _clock));

        receiver.Tell(new NearCacheProtocol.Invalidate([Absent, Held]), TestActor);

        ExpectMsg<NearCacheProtocol.Invalidated>();
        Assert.False(_near.TryGet(Held, Headers(), T0, out _));
        receiver.Tell(new NearCacheProtocol.Invalidate([Absent]), TestActor);
        ExpectMsg<NearCacheProtocol.Invalidated>();
        unhandled.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_copy_looked_up_before_the_invalidation_arrived_is_not_stored_after_it()
    {
        var receiver = Sys.ActorOf(NearCacheInvalidationReceiver.Props(_near, _clock));
        var lookedUpAt = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromMilliseconds(20));

        receiver.Tell(new NearCacheProtocol.Invalidate([Held]), TestActor);
        ExpectMsg<NearCacheProtocol.Invalidated>();
        // The lookup's answer (the old entry) arrives after the invalidation did.
        _clock.Advance(TimeSpan.FromMilliseconds(20));
        _near.Set(Held, Store(["Cache-Control: max-age=60"]), lookedUpAt, _clock.GetUtcNow());

        Assert.False(_near.TryGet(Held, Headers(), _clock.GetUtcNow(), out _));
    }
}
