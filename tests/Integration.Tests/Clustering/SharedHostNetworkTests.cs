using System.Net;
using System.Net.Sockets;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Clustering;

/// <summary>
/// Nodes sharing one host network (containers with --network host, simulated pods here), each given its own address:
/// they bind their listeners there, so the same ports on other addresses never stop them, and the management API can
/// be told to bind every address (what kubectl port-forward needs), which <c>porter health</c> then finds.
/// </summary>
public sealed class SharedHostNetworkTests
{
    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Nodes_given_their_own_address_bind_there_and_share_ports_with_other_addresses()
    {
        string[] addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"];
        int port = Repo.FreePortOnAll(addresses), management = Repo.FreePortOnAll(addresses), remoting = Repo.FreePortOnAll(addresses);
        // Someone else holds both ports on 127.0.0.1, as another container on the same host network would.
        using var other = new TcpListener(IPAddress.Loopback, port);
        using var otherManagement = new TcpListener(IPAddress.Loopback, management);
        other.Start();
        otherManagement.Start();

        await using var first = await PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Standalone,
            [Repo.TestApp, "--remoting-port", Text(remoting)], address: "127.0.0.2", port: port, managementPort: management);
        await using var second = await PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Standalone,
            [Repo.TestApp, "--remoting-port", Text(remoting)], address: "127.0.0.3", port: port, managementPort: management);
        // A worker's port check looks at the address it listens on (its own), not at 127.0.0.1.
        await using var worker = await PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Worker,
            [Repo.TestApp, "--remoting-port", Text(remoting), "--seed-nodes", $"akka.tcp://porter@127.0.0.2:{Text(remoting)}"],
            waitForApp: false, address: "127.0.0.4", port: port, managementPort: management);

        foreach (var node in new[] { first, second, worker })
        {
            using var alive = await node.Management.GetAsync("/alive");
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }
        foreach (var node in new[] { first, second })
        {
            using var response = await node.Client.GetAsync("/pid");
            Assert.Contains(int.Parse(await response.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture), node.RecordedAppPids());
        }
        // The banner comes a moment after the listener opens.
        await Poll.UntilAsync(() => worker.Output.Contains($"Serves gateways: http://127.0.0.4:{Text(port)}/", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the worker's banner naming its own address");
    }

    [Fact]
    public async Task Management_address_star_answers_on_loopback_too_and_the_health_verb_finds_it()
    {
        string[] addresses = ["127.0.0.1", "127.0.0.5"];
        var management = Repo.FreePortOnAll(addresses);
        await using var node = await PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Standalone,
            [Repo.TestApp, "--management-address", "*"], address: "127.0.0.5", managementPort: management);

        // kubectl port-forward connects to 127.0.0.1 inside the pod; the cluster reaches the pod's own address.
        using var loopback = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        foreach (var host in addresses)
        {
            using var alive = await loopback.GetAsync($"http://{host}:{Text(management)}/alive");
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }

        // The health verb reads the same options as the node, so it asks where the node listens.
        await Poll.UntilAsync(async () => (await PorterCommand.RunAsync("health", "--hostname", "127.0.0.5", "--management-address", "*",
            "--management-port", Text(management))).ExitCode == 0 ? "" : null, TimeSpan.FromSeconds(60), "porter health to report ready");
        var own = await PorterCommand.RunWorkerAsync("health", "--hostname", "127.0.0.5", "--management-port", Text(management));
        Assert.Equal(0, own.ExitCode);

        var nobody = await PorterCommand.RunAsync("health", "--hostname", "127.0.0.6", "--management-port", Text(Repo.FreePortOnAll("127.0.0.6")));
        Assert.Equal(1, nobody.ExitCode);
        var line = Assert.Single(nobody.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("porter: not ready: nothing answers on http://127.0.0.6:", line);
    }
}
