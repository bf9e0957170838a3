using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Serialization;

namespace Porter.Contracts.Tests.Serialization;

/// <summary>
/// Every out-of-band work message, journal event and snapshot survives the binary serializer, called directly and
/// through the actor system's binding to <see cref="IOobMessage"/> and <see cref="IOobPersistent"/> (the binding
/// <c>WithOobSerializer</c> sets up). Records holding arrays are compared element by element.
/// </summary>
public sealed class OobProtocolSerializerTests : TestKit
{
    private const string Node = "akka.tcp://porter@127.0.0.2:40123";
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly AppName App = new("blög");

    public OobProtocolSerializerTests()
        : base(ActorSystemSetup.Create(SerializationSetup.Create(system => ImmutableHashSet.Create(SerializerDetails.Create(
            "porter-oob", new OobProtocolSerializer(system), ImmutableHashSet.Create(typeof(IOobMessage), typeof(IOobPersistent)))))))
    {
    }

    private static OobHolder Holder(long id, string scope = "cluster") =>
        new(id, scope, App, Node, new ProcessId(4242), T0.AddSeconds(-3), T0, T0.AddMinutes(2));

    private static OobCounters Counters => new(7, 5, 2, TimeSpan.FromMilliseconds(1234.5), TimeSpan.FromSeconds(61), TimeSpan.FromTicks(987654321));

    public static TheoryData<string> Names => new()
    {
        "request", "request-reply-to", "granted", "queued", "release", "released", "not-released", "cancel", "cancelled",
        "get-state", "state", "empty-state", "granted-event", "released-event", "reclaimed-lease", "reclaimed-node",
        "snapshot", "empty-snapshot",
    };

    private object Message(string name) => name switch
    {
        "request" => new OobProtocol.RequestToken("cluster", App, Node, new ProcessId(1)),
        "request-reply-to" => new OobProtocol.RequestToken("app/blög", App, Node, new ProcessId(int.MaxValue), TestActor),
        "granted" => new OobProtocol.TokenGranted(long.MaxValue, "cluster", App, Node, new ProcessId(2), T0, T0.AddMinutes(2)),
        "queued" => new OobProtocol.TokenQueued("cluster", App, Node, new ProcessId(3), 17),
        "release" => new OobProtocol.ReleaseToken(12, App, Node, new ProcessId(4)),
        "released" => new OobProtocol.TokenReleased(12, true),
        "not-released" => new OobProtocol.TokenReleased(-1, false),
        "cancel" => new OobProtocol.CancelRequest(App, Node, new ProcessId(5)),
        "cancelled" => new OobProtocol.RequestCancelled(App, Node, new ProcessId(5), true),
        "get-state" => OobProtocol.GetOobState.Instance,
        "state" => new OobProtocol.OobState(2, T0,
            [
                new OobScopeState("cluster", [Holder(1), Holder(2)], [new OobWaiter(new AppName("shop"), Node, new ProcessId(9), T0.AddSeconds(1))]),
                new OobScopeState("app/shop", [], [new OobWaiter(App, "akka.tcp://porter@127.0.0.3:1", new ProcessId(10), T0)]),
            ],
            Counters, [new OobAppCounters(App, Counters), new OobAppCounters(new AppName("shop"), OobCounters.Empty)]),
        "empty-state" => new OobProtocol.OobState(1, T0, [], OobCounters.Empty, []),
        "granted-event" => new OobEvents.Granted(Holder(3, "app/blög")),
        "released-event" => new OobEvents.Released(3, T0.AddSeconds(42)),
        "reclaimed-lease" => new OobEvents.Reclaimed(4, T0.AddMinutes(2), OobReclaimReason.LeaseExpired),
        "reclaimed-node" => new OobEvents.Reclaimed(5, T0, OobReclaimReason.NodeLeft),
        "snapshot" => new OobCoordinatorSnapshot(99, [Holder(98), Holder(99, "app/blög")], Counters, [new OobAppCounters(App, Counters)]),
        "empty-snapshot" => new OobCoordinatorSnapshot(0, [], OobCounters.Empty, []),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Round_trips_through_the_serializer(string name)
    {
        var serializer = new OobProtocolSerializer((ExtendedActorSystem)Sys);
        var message = Message(name);

        var copy = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));

        AssertSame(message, copy);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Round_trips_through_the_actor_systems_binding(string name)
    {
        var message = Message(name);
        var serialization = Sys.Serialization;

        var serializer = serialization.FindSerializerFor(message);
        Assert.IsType<OobProtocolSerializer>(serializer);
        Assert.Equal(OobProtocolSerializer.Id, serializer.Identifier);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.InRange(manifest.Length, 1, 2);
        var copy = serialization.Deserialize(serialization.Serialize(message), serializer.Identifier, manifest);

        AssertSame(message, copy);
    }

    [Fact]
    public void Reply_address_resolves_to_the_same_actor()
    {
        var serializer = new OobProtocolSerializer((ExtendedActorSystem)Sys);
        var request = new OobProtocol.RequestToken("cluster", App, Node, new ProcessId(1), TestActor);

        var copy = (OobProtocol.RequestToken)serializer.FromBinary(serializer.ToBinary(request), serializer.Manifest(request));
        copy.ReplyTo!.Tell("hello");

        ExpectMsg("hello");
    }

    [Fact]
    public void Unknown_manifest_is_a_serialization_error()
    {
        var serializer = new OobProtocolSerializer((ExtendedActorSystem)Sys);
        Assert.Throws<SerializationException>(() => serializer.FromBinary(serializer.ToBinary(OobProtocol.GetOobState.Instance), "zz"));
    }

    [Fact]
    public void Foreign_message_is_refused()
    {
        var serializer = new OobProtocolSerializer((ExtendedActorSystem)Sys);
        Assert.Throws<ArgumentException>(() => serializer.Manifest("not an oob message"));
        Assert.Throws<ArgumentException>(() => serializer.ToBinary("not an oob message"));
    }

    private static void AssertSame(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        switch (expected)
        {
            case OobProtocol.OobState state:
                var stateCopy = (OobProtocol.OobState)actual;
                Assert.Equal((state.MaxConcurrent, state.At, state.Cluster), (stateCopy.MaxConcurrent, stateCopy.At, stateCopy.Cluster));
                Assert.Equal(state.Apps, stateCopy.Apps);
                Assert.Equal(state.Scopes.Length, stateCopy.Scopes.Length);
                for (var i = 0; i < state.Scopes.Length; i++)
                {
                    Assert.Equal(state.Scopes[i].Scope, stateCopy.Scopes[i].Scope);
                    Assert.Equal(state.Scopes[i].Holders, stateCopy.Scopes[i].Holders);
                    Assert.Equal(state.Scopes[i].Queue, stateCopy.Scopes[i].Queue);
                }
                break;
            case OobCoordinatorSnapshot snapshot:
                var snapshotCopy = (OobCoordinatorSnapshot)actual;
                Assert.Equal((snapshot.LastTokenId, snapshot.Cluster), (snapshotCopy.LastTokenId, snapshotCopy.Cluster));
                Assert.Equal(snapshot.Holders, snapshotCopy.Holders);
                Assert.Equal(snapshot.Apps, snapshotCopy.Apps);
                break;
            default:
                // Everything else is a record of values (and actor refs, which compare by path and uid).
                Assert.Equal(expected, actual);
                break;
        }
    }
}
