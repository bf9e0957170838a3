using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;
using Porter.Contracts.Serialization;

namespace Porter.Contracts.Tests.Serialization;

/// <summary>
/// Every turbocache and near-cache message survives the binary serializer, called directly and through the actor
/// system's binding to <see cref="ICacheMessage"/> and <see cref="INearCacheMessage"/> (the binding Akka.Hosting's
/// <c>WithCustomSerializer</c> sets up). Records hold arrays, which compare by reference, so messages are compared field by field.
/// </summary>
public sealed class CacheProtocolSerializerTests : TestKit
{
    private static readonly CacheKey Key = CacheKey.Create("blog", "https", "Example.com:443", "/posts/é", "?page=1&x=%20");
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public CacheProtocolSerializerTests()
        : base(ActorSystemSetup.Create(SerializationSetup.Create(system => ImmutableHashSet.Create(SerializerDetails.Create(
            "porter-cache", new CacheProtocolSerializer(system), ImmutableHashSet.Create(typeof(ICacheMessage), typeof(INearCacheMessage)))))))
    {
    }

    private static HeaderField[] RequestHeaders =>
    [
        new("Accept", ["text/html", "application/json"]),
        new("Cookie", ["level=admin; theme=dark"]),
        new("If-None-Match", ["\"caf\u00e9 \u0080\u00ff\""]), // obs-text bytes, read one char per byte
        new("X-Empty", []),
        new("X-Blank", [""]),
    ];

    private static CacheEntryData Entry(byte[]? body = null, byte flags = 6) => new(
        200,
        HeaderBlock.Encode([new("Date", ["Sat, 01 Mar 2025 12:00:00 GMT"]), new("Cache-Control", ["max-age=60, stale-if-error=30"]),
            new("X-Multi", ["a", "b"]), new("X-Ünicode", ["naïve ✓"]), new("ETag", ["\"caf\u00e9 \u0080\u00ff\""]),
            new("X-Empty", []), new("X-Blank", [""])]),
        body ?? [0, 1, 2, 255, 128, 10, 13],
        new VariantData(["accept", "x-requested-with"], ["text/html", null], "level", "admin"),
        T0.AddSeconds(-2),
        T0,
        T0.AddSeconds(-5),
        TimeSpan.FromSeconds(7),
        TimeSpan.FromSeconds(60),
        TimeSpan.FromSeconds(30),
        TimeSpan.FromTicks(123456789),
        flags);

    public static TheoryData<string> MessageNames => new()
    {
        "lookup", "refresh-lookup", "join-fill-lookup", "hit", "fill-without-entry", "fill-with-fallback", "go", "wait", "stale-refresh",
        "revalidate", "store", "store-empty-anonymous", "fill-abandoned", "fill-abandoned-pass-through", "invalidate", "invalidated",
        "probe", "probed", "near-invalidate", "near-invalidate-none", "near-invalidated",
    };

    private const string Home = "akka.tcp://porter@127.0.0.2:4053";

    private static object Message(string name) => name switch
    {
        "lookup" => new CacheProtocol.Lookup(Key, RequestHeaders, LookupMode.Normal, 42),
        "refresh-lookup" => new CacheProtocol.Lookup(Key, [], LookupMode.Refresh, long.MinValue),
        "join-fill-lookup" => new CacheProtocol.Lookup(Key, RequestHeaders, LookupMode.JoinFill, -7),
        "hit" => new CacheProtocol.LookupResult(Key, LookupOutcome.Hit, Entry(), Home),
        "fill-without-entry" => new CacheProtocol.LookupResult(Key, LookupOutcome.Fill, null, Home),
        "fill-with-fallback" => new CacheProtocol.LookupResult(Key, LookupOutcome.Fill, Entry(), Home),
        "go" => new CacheProtocol.LookupResult(Key, LookupOutcome.Go, null, "akka://porter"),
        "wait" => new CacheProtocol.LookupResult(Key, LookupOutcome.Wait, null, Home),
        "stale-refresh" => new CacheProtocol.LookupResult(Key, LookupOutcome.StaleRefresh, Entry(), Home),
        "revalidate" => new CacheProtocol.LookupResult(Key, LookupOutcome.Revalidate, Entry(flags: 3), Home),
        "store" => new CacheProtocol.Store(Key, Entry()),
        "store-empty-anonymous" => new CacheProtocol.Store(Key, Entry(body: []) with
        {
            StatusCode = 204,
            Headers = HeaderBlock.Empty,
            Variant = VariantData.None,
            Flags = 0,
        }),
        "fill-abandoned" => new CacheProtocol.FillAbandoned(Key, false, 42),
        "fill-abandoned-pass-through" => new CacheProtocol.FillAbandoned(Key, true, long.MaxValue),
        "invalidate" => new CacheProtocol.Invalidate(Key),
        "invalidated" => new CacheProtocol.Invalidated(Key),
        "probe" => new CacheProtocol.Probe(new CacheKey("porter probe 17")),
        "probed" => new CacheProtocol.Probed(new CacheKey("porter probe 17"), Home),
        "near-invalidate" => new NearCacheProtocol.Invalidate([Key, CacheKey.Create("blog", "http", "example.com", "/posts/1", null)]),
        "near-invalidate-none" => new NearCacheProtocol.Invalidate([]),
        "near-invalidated" => NearCacheProtocol.Invalidated.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void Round_trips_through_the_serializer(string name)
    {
        var serializer = new CacheProtocolSerializer((ExtendedActorSystem)Sys);
        var message = Message(name);

        var bytes = serializer.ToBinary(message);
        var copy = serializer.FromBinary(bytes, serializer.Manifest(message));

        AssertSameMessage(message, copy);
    }

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void Round_trips_through_the_actor_systems_binding(string name)
    {
        var message = Message(name);
        var serialization = Sys.Serialization;

        var serializer = serialization.FindSerializerFor(message);
        Assert.IsType<CacheProtocolSerializer>(serializer);
        Assert.Equal(CacheProtocolSerializer.Id, serializer.Identifier);
        var bytes = serialization.Serialize(message);
        var copy = serialization.Deserialize(bytes, serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));

        AssertSameMessage(message, copy);
    }

    [Fact]
    public void Bodies_travel_as_raw_bytes()
    {
        var body = new byte[64 * 1024];
        new Random(42).NextBytes(body);
        var serializer = new CacheProtocolSerializer((ExtendedActorSystem)Sys);

        var bytes = serializer.ToBinary(new CacheProtocol.Store(Key, Entry(body)));

        Assert.InRange(bytes.Length, body.Length, body.Length + 512); // no base64 or JSON inflation
    }

    [Fact]
    public void Entry_without_vary_comes_back_with_the_shared_empty_variant()
    {
        var serializer = new CacheProtocolSerializer((ExtendedActorSystem)Sys);
        var store = new CacheProtocol.Store(Key, Entry() with { Variant = new VariantData([], [], null, null) });

        var copy = (CacheProtocol.Store)serializer.FromBinary(serializer.ToBinary(store), serializer.Manifest(store));

        Assert.Same(VariantData.None, copy.Entry.Variant);
    }

    [Fact]
    public void Unknown_manifest_is_a_serialization_error()
    {
        var serializer = new CacheProtocolSerializer((ExtendedActorSystem)Sys);
        Assert.Throws<SerializationException>(() => serializer.FromBinary(serializer.ToBinary(new CacheProtocol.Invalidate(Key)), "zz"));
    }

    [Fact]
    public void Foreign_message_is_refused()
    {
        var serializer = new CacheProtocolSerializer((ExtendedActorSystem)Sys);
        Assert.Throws<ArgumentException>(() => serializer.Manifest("not a cache message"));
    }

    private static void AssertSameMessage(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        if (expected is ICacheMessage message)
            Assert.Equal(message.Key, ((ICacheMessage)actual).Key);
        switch (expected)
        {
            case CacheProtocol.Lookup lookup:
                var lookupCopy = (CacheProtocol.Lookup)actual;
                AssertSameHeaders(lookup.RequestHeaders, lookupCopy.RequestHeaders);
                Assert.Equal(lookup.Mode, lookupCopy.Mode);
                Assert.Equal(lookup.RequestId, lookupCopy.RequestId);
                break;
            case CacheProtocol.LookupResult result:
                var resultCopy = (CacheProtocol.LookupResult)actual;
                Assert.Equal(result.Outcome, resultCopy.Outcome);
                Assert.Equal(result.Home, resultCopy.Home);
                if (result.Entry is null)
                    Assert.Null(resultCopy.Entry);
                else
                    AssertSameEntry(result.Entry, resultCopy.Entry!);
                break;
            case CacheProtocol.Store store:
                AssertSameEntry(store.Entry, ((CacheProtocol.Store)actual).Entry);
                break;
            case NearCacheProtocol.Invalidate near:
                Assert.Equal(near.Keys, ((NearCacheProtocol.Invalidate)actual).Keys);
                break;
            default:
                // The other records hold no arrays, so they compare by value.
                Assert.Equal(expected, actual);
                break;
        }
    }

    private static void AssertSameEntry(CacheEntryData expected, CacheEntryData actual)
    {
        Assert.Equal(expected.StatusCode, actual.StatusCode);
        Assert.Equal(expected.Headers, actual.Headers);
        AssertSameHeaders(HeaderBlock.Decode(expected.Headers), HeaderBlock.Decode(actual.Headers));
        Assert.Equal(expected.Body, actual.Body);
        Assert.Equal(expected.Variant.HeaderNames, actual.Variant.HeaderNames);
        Assert.Equal(expected.Variant.HeaderValues, actual.Variant.HeaderValues);
        Assert.Equal(expected.Variant.CookieName, actual.Variant.CookieName);
        Assert.Equal(expected.Variant.CookieValue, actual.Variant.CookieValue);
        Assert.Equal(expected.RequestTime, actual.RequestTime);
        Assert.Equal(expected.ResponseTime, actual.ResponseTime);
        Assert.Equal(expected.Date, actual.Date);
        Assert.Equal(expected.AgeValue, actual.AgeValue);
        Assert.Equal(expected.FreshnessLifetime, actual.FreshnessLifetime);
        Assert.Equal(expected.StaleWhileRevalidate, actual.StaleWhileRevalidate);
        Assert.Equal(expected.StaleIfError, actual.StaleIfError);
        Assert.Equal(expected.Flags, actual.Flags);
    }

    private static void AssertSameHeaders(HeaderField[] expected, HeaderField[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Name, actual[i].Name);
            Assert.Equal(expected[i].Values, actual[i].Values);
        }
    }
}
