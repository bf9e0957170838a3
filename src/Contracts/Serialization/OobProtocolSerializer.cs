using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Porter.Contracts.Oob;

namespace Porter.Contracts.Serialization;

/// <summary>
/// Binary serializer for the out-of-band work protocol (<see cref="IOobMessage"/>) and for the coordinator's journal
/// events and snapshots (<see cref="IOobPersistent"/>), so nothing of it falls back to JSON. Manifests are two letters.
/// </summary>
public sealed class OobProtocolSerializer : SerializerWithStringManifest
{
    /// <summary>Porter's serializer ids start above Akka's reserved range; 201 is the turbocache's.</summary>
    public const int Id = 202;

    private const string RequestTokenManifest = "or";
    private const string TokenGrantedManifest = "og";
    private const string TokenQueuedManifest = "oq";
    private const string ReleaseTokenManifest = "ol";
    private const string TokenReleasedManifest = "od";
    private const string CancelRequestManifest = "oc";
    private const string RequestCancelledManifest = "ox";
    private const string GetOobStateManifest = "os";
    private const string OobStateManifest = "oS";
    private const string GrantedEventManifest = "eg";
    private const string ReleasedEventManifest = "er";
    private const string ReclaimedEventManifest = "ec";
    private const string SnapshotManifest = "ss";

    public OobProtocolSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        OobProtocol.RequestToken => RequestTokenManifest,
        OobProtocol.TokenGranted => TokenGrantedManifest,
        OobProtocol.TokenQueued => TokenQueuedManifest,
        OobProtocol.ReleaseToken => ReleaseTokenManifest,
        OobProtocol.TokenReleased => TokenReleasedManifest,
        OobProtocol.CancelRequest => CancelRequestManifest,
        OobProtocol.RequestCancelled => RequestCancelledManifest,
        OobProtocol.GetOobState => GetOobStateManifest,
        OobProtocol.OobState => OobStateManifest,
        OobEvents.Granted => GrantedEventManifest,
        OobEvents.Released => ReleasedEventManifest,
        OobEvents.Reclaimed => ReclaimedEventManifest,
        OobCoordinatorSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not an out-of-band work message", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => BinaryFields.Encode(w =>
    {
        switch (obj)
        {
            case OobProtocol.RequestToken request:
                w.Write(request.Scope);
                WriteRequester(w, request.App, request.Node, request.Pid);
                w.WriteNullableString(request.ReplyTo is null ? null : Akka.Serialization.Serialization.SerializedActorPath(request.ReplyTo));
                break;
            case OobProtocol.TokenGranted granted:
                w.Write(granted.TokenId);
                w.Write(granted.Scope);
                WriteRequester(w, granted.App, granted.Node, granted.Pid);
                w.WriteTime(granted.GrantedAt);
                w.WriteTime(granted.LeaseExpiresAt);
                break;
            case OobProtocol.TokenQueued queued:
                w.Write(queued.Scope);
                WriteRequester(w, queued.App, queued.Node, queued.Pid);
                w.Write(queued.Position);
                break;
            case OobProtocol.ReleaseToken release:
                w.Write(release.TokenId);
                WriteRequester(w, release.App, release.Node, release.Pid);
                break;
            case OobProtocol.TokenReleased released:
                w.Write(released.TokenId);
                w.Write(released.WasHeld);
                break;
            case OobProtocol.CancelRequest cancel:
                WriteRequester(w, cancel.App, cancel.Node, cancel.Pid);
                break;
            case OobProtocol.RequestCancelled cancelled:
                WriteRequester(w, cancelled.App, cancelled.Node, cancelled.Pid);
                w.Write(cancelled.WasWaiting);
                break;
            case OobProtocol.GetOobState:
                break;
            case OobProtocol.OobState state:
                w.Write(state.MaxConcurrent);
                w.WriteTime(state.At);
                w.WriteArray(state.Scopes, WriteScope);
                WriteCounters(w, state.Cluster);
                w.WriteArray(state.Apps, WriteAppCounters);
                break;
            case OobEvents.Granted granted:
                WriteHolder(w, granted.Holder);
                break;
            case OobEvents.Released released:
                w.Write(released.TokenId);
                w.WriteTime(released.At);
                break;
            case OobEvents.Reclaimed reclaimed:
                w.Write(reclaimed.TokenId);
                w.WriteTime(reclaimed.At);
                w.Write((byte)reclaimed.Reason);
                break;
            case OobCoordinatorSnapshot snapshot:
                w.Write(snapshot.LastTokenId);
                w.WriteArray(snapshot.Holders, WriteHolder);
                WriteCounters(w, snapshot.Cluster);
                w.WriteArray(snapshot.Apps, WriteAppCounters);
                break;
            default:
                throw new ArgumentException($"{obj.GetType()} is not an out-of-band work message", nameof(obj));
        }
    });

    public override object FromBinary(byte[] bytes, string manifest) => BinaryFields.Decode<object>(bytes, r => manifest switch
    {
        RequestTokenManifest => new OobProtocol.RequestToken(r.ReadString(), ReadApp(r), r.ReadString(), ReadPid(r), ReadActorRef(r)),
        TokenGrantedManifest => new OobProtocol.TokenGranted(r.ReadInt64(), r.ReadString(), ReadApp(r), r.ReadString(), ReadPid(r),
            r.ReadTime(), r.ReadTime()),
        TokenQueuedManifest => new OobProtocol.TokenQueued(r.ReadString(), ReadApp(r), r.ReadString(), ReadPid(r), r.ReadInt32()),
        ReleaseTokenManifest => new OobProtocol.ReleaseToken(r.ReadInt64(), ReadApp(r), r.ReadString(), ReadPid(r)),
        TokenReleasedManifest => new OobProtocol.TokenReleased(r.ReadInt64(), r.ReadBoolean()),
        CancelRequestManifest => new OobProtocol.CancelRequest(ReadApp(r), r.ReadString(), ReadPid(r)),
        RequestCancelledManifest => new OobProtocol.RequestCancelled(ReadApp(r), r.ReadString(), ReadPid(r), r.ReadBoolean()),
        GetOobStateManifest => OobProtocol.GetOobState.Instance,
        OobStateManifest => new OobProtocol.OobState(r.ReadInt32(), r.ReadTime(), r.ReadArray(ReadScope), ReadCounters(r),
            r.ReadArray(ReadAppCounters)),
        GrantedEventManifest => new OobEvents.Granted(ReadHolder(r)),
        ReleasedEventManifest => new OobEvents.Released(r.ReadInt64(), r.ReadTime()),
        ReclaimedEventManifest => new OobEvents.Reclaimed(r.ReadInt64(), r.ReadTime(), (OobReclaimReason)r.ReadByte()),
        SnapshotManifest => new OobCoordinatorSnapshot(r.ReadInt64(), r.ReadArray(ReadHolder), ReadCounters(r), r.ReadArray(ReadAppCounters)),
        _ => throw new SerializationException($"unknown out-of-band work manifest '{manifest}'"),
    });

    // The serializer's system resolves reply addresses, so a grant reaches the requester's actor on its own node.
    private IActorRef? ReadActorRef(BinaryReader r) => r.ReadNullableString() is { } path ? system.Provider.ResolveActorRef(path) : null;

    private static void WriteRequester(BinaryWriter w, AppName app, string node, ProcessId pid)
    {
        w.Write(app.Value);
        w.Write(node);
        w.Write(pid.Value);
    }

    private static AppName ReadApp(BinaryReader r) => new(r.ReadString());

    private static ProcessId ReadPid(BinaryReader r) => new(r.ReadInt32());

    private static void WriteHolder(BinaryWriter w, OobHolder h)
    {
        w.Write(h.TokenId);
        w.Write(h.Scope);
        WriteRequester(w, h.App, h.Node, h.Pid);
        w.WriteTime(h.RequestedAt);
        w.WriteTime(h.GrantedAt);
        w.WriteTime(h.LeaseExpiresAt);
    }

    private static OobHolder ReadHolder(BinaryReader r) =>
        new(r.ReadInt64(), r.ReadString(), ReadApp(r), r.ReadString(), ReadPid(r), r.ReadTime(), r.ReadTime(), r.ReadTime());

    private static void WriteWaiter(BinaryWriter w, OobWaiter waiter)
    {
        WriteRequester(w, waiter.App, waiter.Node, waiter.Pid);
        w.WriteTime(waiter.RequestedAt);
    }

    private static OobWaiter ReadWaiter(BinaryReader r) => new(ReadApp(r), r.ReadString(), ReadPid(r), r.ReadTime());

    private static void WriteScope(BinaryWriter w, OobScopeState scope)
    {
        w.Write(scope.Scope);
        w.WriteArray(scope.Holders, WriteHolder);
        w.WriteArray(scope.Queue, WriteWaiter);
    }

    private static OobScopeState ReadScope(BinaryReader r) => new(r.ReadString(), r.ReadArray(ReadHolder), r.ReadArray(ReadWaiter));

    private static void WriteCounters(BinaryWriter w, OobCounters c)
    {
        w.Write(c.Grants);
        w.Write(c.Runs);
        w.Write(c.Reclaims);
        w.WriteDuration(c.TotalWait);
        w.WriteDuration(c.TotalDuration);
        w.WriteDuration(c.MaxDuration);
    }

    private static OobCounters ReadCounters(BinaryReader r) =>
        new(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadDuration(), r.ReadDuration(), r.ReadDuration());

    private static void WriteAppCounters(BinaryWriter w, OobAppCounters app)
    {
        w.Write(app.App.Value);
        WriteCounters(w, app.Counters);
    }

    private static OobAppCounters ReadAppCounters(BinaryReader r) => new(ReadApp(r), ReadCounters(r));
}
