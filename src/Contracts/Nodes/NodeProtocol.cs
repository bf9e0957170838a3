namespace Porter.Contracts.Nodes;

/// <summary>Marker of the messages nodes exchange about themselves (worker endpoints, management reports); the serializer binds to it.</summary>
public interface INodeMessage;

/// <summary>
/// How gateways learn which worker nodes serve which apps, and how the management API gathers per-node state
/// cluster-wide: every node runs a <c>NodeAgent</c> actor at <see cref="AgentPath"/> that answers these.
/// </summary>
public static class NodeProtocol
{
    /// <summary>The path of each node's agent, so any member can address it from the member's address alone.</summary>
    public const string AgentName = "porter-node";
    public const string AgentPath = "/user/" + AgentName;

    /// <summary>Asks a worker node for its internal HTTP endpoint and the apps it serves.</summary>
    public sealed record GetWorkerInfo : INodeMessage
    {
        public static readonly GetWorkerInfo Instance = new();
    }

    /// <summary>A worker node's internal dispatcher endpoint (<c>http://pod-address:port</c>) and the names of its apps.</summary>
    public sealed record WorkerInfo(string Endpoint, string[] Apps) : INodeMessage;

    /// <summary>Asks a node for one of its management reports (<c>pool</c>, <c>cache</c>) as JSON.</summary>
    public sealed record GetReport(string Kind) : INodeMessage;

    /// <summary>A node's report: <see cref="Json"/> is the node's JSON document, or null when the node has no such report.</summary>
    public sealed record Report(string Kind, string? Json) : INodeMessage;

    /// <summary>Asks a worker node to restart an app's processes (<c>rolling</c> or <c>blocking</c>; null = the app's own method).</summary>
    public sealed record RestartApp(string App, string? Method) : INodeMessage;

    /// <summary>The answer to <see cref="RestartApp"/>: whether the node serves the app and started the restart, and the method used.</summary>
    public sealed record RestartResult(bool Started, string? Method) : INodeMessage;
}
