using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Porter.Contracts.Nodes;
using Porter.Contracts.Options;

namespace Porter.Workers.Hosting;

/// <summary>
/// The worker node's internal HTTP endpoint as gateways reach it: <c>http://HOSTNAME:PORT</c>, where HOSTNAME is
/// the node's (pod's) address and PORT the listener's bound port, plus the names of the apps it serves.
/// </summary>
public sealed class WorkerEndpoint(PorterOptions options, IServer server)
{
    private NodeProtocol.WorkerInfo? _info;

    public NodeProtocol.WorkerInfo Info => _info ??= new NodeProtocol.WorkerInfo(
        $"http://{options.Hostname}:{BoundPort()}", options.Apps.Select(a => a.Name).ToArray());

    private int BoundPort()
    {
        if (options.Port != 0) return options.Port;
        // Port 0 (tests): the port the OS chose, read from Kestrel once it listens; the management listener is the other one.
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.Select(a => new Uri(a).Port).First(port => port != options.Management.Port);
    }
}
