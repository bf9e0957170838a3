using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Porter.Contracts.Nodes;
using Porter.Contracts.Serialization;

namespace Porter.Contracts.Tests.Serialization;

/// <summary>Every node protocol message survives the binary serializer, directly and through the binding to <see cref="INodeMessage"/>.</summary>
public sealed class NodeProtocolSerializerTests : TestKit
{
    public NodeProtocolSerializerTests()
        : base(ActorSystemSetup.Create(SerializationSetup.Create(system => ImmutableHashSet.Create(SerializerDetails.Create(
            "porter-node", new NodeProtocolSerializer(system), ImmutableHashSet.Create(typeof(INodeMessage)))))))
    {
    }

    public static TheoryData<string> Names => new()
    {
        "get-worker-info", "worker-info", "worker-info-no-apps", "get-report", "report", "no-report", "restart", "restart-default",
        "restarted", "not-restarted",
    };

    private static object Message(string name) => name switch
    {
        "get-worker-info" => NodeProtocol.GetWorkerInfo.Instance,
        "worker-info" => new NodeProtocol.WorkerInfo("http://127.0.0.3:3000", ["shop", "blög"]),
        "worker-info-no-apps" => new NodeProtocol.WorkerInfo("http://[::1]:1", []),
        "get-report" => new NodeProtocol.GetReport("pool"),
        "report" => new NodeProtocol.Report("cache", """{"node":"akka.tcp://porter@127.0.0.2:4053","apps":{"blög":{"hits":1}}}"""),
        "no-report" => new NodeProtocol.Report("pool", null),
        "restart" => new NodeProtocol.RestartApp("shop", "blocking"),
        "restart-default" => new NodeProtocol.RestartApp("shop", null),
        "restarted" => new NodeProtocol.RestartResult(true, "rolling"),
        "not-restarted" => new NodeProtocol.RestartResult(false, null),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Round_trips_through_the_serializer(string name)
    {
        var serializer = new NodeProtocolSerializer((ExtendedActorSystem)Sys);
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
        Assert.IsType<NodeProtocolSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.Equal(2, manifest.Length);
        var copy = serialization.Deserialize(serialization.Serialize(message), serializer.Identifier, manifest);

        AssertSame(message, copy);
    }

    [Fact]
    public void Unknown_manifest_is_a_serialization_error()
    {
        var serializer = new NodeProtocolSerializer((ExtendedActorSystem)Sys);
        Assert.Throws<SerializationException>(() => serializer.FromBinary([], "zz"));
    }

    [Fact]
    public void Foreign_message_is_refused()
    {
        var serializer = new NodeProtocolSerializer((ExtendedActorSystem)Sys);
        Assert.Throws<ArgumentException>(() => serializer.Manifest("not a node message"));
        Assert.Throws<ArgumentException>(() => serializer.ToBinary("not a node message"));
    }

    private static void AssertSame(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        if (expected is NodeProtocol.WorkerInfo info)
        {
            var copy = (NodeProtocol.WorkerInfo)actual;
            Assert.Equal(info.Endpoint, copy.Endpoint);
            Assert.Equal(info.Apps, copy.Apps);
            return;
        }
        Assert.Equal(expected, actual);
    }
}
