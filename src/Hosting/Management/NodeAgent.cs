using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Porter.Contracts.Nodes;
using Porter.Contracts.Serialization;

namespace Porter.Hosting.Management;

/// <summary>One of a node's management reports (<c>pool</c> on workers, <c>cache</c> on cache nodes), as a JSON document.</summary>
public interface INodeReportSource
{
    /// <summary>The report's name in <see cref="NodeProtocol.GetReport"/>.</summary>
    string Kind { get; }

    Task<string> JsonAsync(CancellationToken cancellationToken);
}

/// <summary>What a worker node tells the rest of the cluster: its endpoint and apps, and how to restart an app.</summary>
public interface IWorkerNode
{
    /// <summary>The endpoint gateways forward to; null on a node that takes no requests from other gateways.</summary>
    NodeProtocol.WorkerInfo? Info { get; }

    Task<NodeProtocol.RestartResult> RestartAsync(NodeProtocol.RestartApp restart, CancellationToken cancellationToken);
}

/// <summary>
/// Every node's agent at <see cref="NodeProtocol.AgentPath"/>: answers other members' questions about this node
/// (worker endpoint, management reports, app restarts) from the sources this node's roles registered.
/// </summary>
public sealed class NodeAgent : ReceiveActor
{
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromSeconds(8);

    public NodeAgent(IReadOnlyList<INodeReportSource> reports, IWorkerNode? worker)
    {
        Receive<NodeProtocol.GetWorkerInfo>(_ =>
        {
            // Nodes that take no forwarded requests stay silent: gateways only ask members with the worker role, and retry.
            if (worker?.Info is { } info) Sender.Tell(info);
        });
        Receive<NodeProtocol.GetReport>(get =>
        {
            var source = reports.FirstOrDefault(r => r.Kind == get.Kind);
            if (source is null)
            {
                Sender.Tell(new NodeProtocol.Report(get.Kind, null));
                return;
            }
            using var timeout = new CancellationTokenSource(ReportTimeout);
            source.JsonAsync(timeout.Token).PipeTo(Sender, success: json => new NodeProtocol.Report(get.Kind, json),
                failure: e => new Status.Failure(e));
        });
        Receive<NodeProtocol.RestartApp>(restart =>
        {
            if (worker is null) Sender.Tell(new NodeProtocol.RestartResult(false, null));
            else worker.RestartAsync(restart, CancellationToken.None).PipeTo(Sender, failure: e => new Status.Failure(e));
        });
    }
}

/// <summary>Akka.Hosting registration of the node agent and the node protocol's serializer.</summary>
public static class NodeAgentHostingExtensions
{
    public static AkkaConfigurationBuilder WithNodeAgent(this AkkaConfigurationBuilder builder) => builder
        .WithCustomSerializer("porter-node", [typeof(INodeMessage)], system => new NodeProtocolSerializer(system))
        .WithActors((system, _, resolver) =>
        {
            var reports = resolver.GetService<IEnumerable<INodeReportSource>>().ToArray();
            var worker = resolver.GetService<IServiceProvider>().GetService<IWorkerNode>();
            system.ActorOf(Props.Create(() => new NodeAgent(reports, worker)), NodeProtocol.AgentName);
        });
}
