using Akka.Actor;
using Akka.Serialization;
using Porter.Contracts.Nodes;

namespace Porter.Contracts.Serialization;

/// <summary>Binary serializer for <see cref="NodeProtocol"/> (worker endpoints and management reports). Manifests are two letters.</summary>
public sealed class NodeProtocolSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 203;

    private const string GetWorkerInfoManifest = "wg";
    private const string WorkerInfoManifest = "wi";
    private const string GetReportManifest = "rg";
    private const string ReportManifest = "rr";
    private const string RestartAppManifest = "ra";
    private const string RestartResultManifest = "rs";

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        NodeProtocol.GetWorkerInfo => GetWorkerInfoManifest,
        NodeProtocol.WorkerInfo => WorkerInfoManifest,
        NodeProtocol.GetReport => GetReportManifest,
        NodeProtocol.Report => ReportManifest,
        NodeProtocol.RestartApp => RestartAppManifest,
        NodeProtocol.RestartResult => RestartResultManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a node protocol message", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => BinaryFields.Encode(w =>
    {
        switch (obj)
        {
            case NodeProtocol.GetWorkerInfo:
                break;
            case NodeProtocol.WorkerInfo info:
                w.Write(info.Endpoint);
                w.WriteArray(info.Apps, (writer, app) => writer.Write(app));
                break;
            case NodeProtocol.GetReport get:
                w.Write(get.Kind);
                break;
            case NodeProtocol.Report report:
                w.Write(report.Kind);
                w.WriteNullableString(report.Json);
                break;
            case NodeProtocol.RestartApp restart:
                w.Write(restart.App);
                w.WriteNullableString(restart.Method);
                break;
            case NodeProtocol.RestartResult result:
                w.Write(result.Started);
                w.WriteNullableString(result.Method);
                break;
            default:
                throw new ArgumentException($"{obj.GetType()} is not a node protocol message", nameof(obj));
        }
    });

    public override object FromBinary(byte[] bytes, string manifest) => BinaryFields.Decode<object>(bytes, r => manifest switch
    {
        GetWorkerInfoManifest => NodeProtocol.GetWorkerInfo.Instance,
        WorkerInfoManifest => new NodeProtocol.WorkerInfo(r.ReadString(), r.ReadArray(reader => reader.ReadString())),
        GetReportManifest => new NodeProtocol.GetReport(r.ReadString()),
        ReportManifest => new NodeProtocol.Report(r.ReadString(), r.ReadNullableString()),
        RestartAppManifest => new NodeProtocol.RestartApp(r.ReadString(), r.ReadNullableString()),
        RestartResultManifest => new NodeProtocol.RestartResult(r.ReadBoolean(), r.ReadNullableString()),
        _ => throw new System.Runtime.Serialization.SerializationException($"unknown node protocol manifest '{manifest}'"),
    });
}
