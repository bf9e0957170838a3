using System.Net;
using Porter.Contracts.Options;
using Porter.Integration.Tests.Infrastructure;
using Porter.Workers.Hosting;

namespace Porter.Integration.Tests.Clustering;

/// <summary>
/// A worker node's internal listener serves only the gateways of its cluster (issue 15 item 6): one gateway and one
/// worker on loopback that share a configured --cluster-secret, and requests straight to the worker's port.
/// </summary>
public sealed class WorkerListenerTests
{
    private const string Secret = "worker-listener-test-secret-0123456789";

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static string Signature(string? secret, DateTimeOffset? at = null) =>
        new GatewayCredentials(new PorterOptions { ClusterSecret = secret }, at is { } time ? new FixedClock(time) : TimeProvider.System).Sign();

    [Fact]
    public async Task Only_requests_signed_by_a_gateway_of_the_cluster_reach_the_apps()
    {
        await using var cluster = await LoopbackCluster.StartAsync(workers: 1, nodeArgs: ["--cluster-secret", Secret]);
        var worker = cluster.Workers.Single();

        async Task<int> Direct(params (string Name, string Value)[] headers)
        {
            var response = await RawHttp.ExchangeAsync(cluster.Port,
                [$"GET /pid HTTP/1.1\r\nHost: x\r\n{string.Concat(headers.Select(h => $"{h.Name}: {h.Value}\r\n"))}Connection: close\r\n\r\n"],
                address: worker.Address);
            return RawHttp.StatusOf(response);
        }

        // Whoever reaches the port without the cluster's signature gets 403, whatever app it names.
        Assert.Equal(403, await Direct());
        Assert.Equal(403, await Direct(("X-Porter-App", "testapp")));
        Assert.Equal(403, await Direct(("X-Porter-App", "testapp"), (GatewayCredentials.Header, "1.abc")));
        // Signed, but with another secret (the loopback default), or too long ago, or too far ahead.
        Assert.Equal(403, await Direct((GatewayCredentials.Header, Signature(null))));
        Assert.Equal(403, await Direct((GatewayCredentials.Header, Signature(Secret, DateTimeOffset.UtcNow.AddMinutes(-10)))));
        Assert.Equal(403, await Direct((GatewayCredentials.Header, Signature(Secret, DateTimeOffset.UtcNow.AddMinutes(10)))));
        await Poll.UntilAsync(() => worker.Output.Contains("Refused a request from", StringComparison.Ordinal), TimeSpan.FromSeconds(15),
            "the worker to log the refusal");
        // What a gateway of this cluster sends gets through.
        Assert.Equal(200, await Direct((GatewayCredentials.Header, Signature(Secret)), ("X-Porter-App", "testapp")));

        // Through the gateway everything works, and the app sees neither Porter header.
        using var echo = await cluster.Gateway.Client.GetAsync("/echo-request");
        var body = await echo.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, echo.StatusCode);
        Assert.DoesNotContain("x-porter-", body, StringComparison.OrdinalIgnoreCase);

        // The client's protocol errors are the client's on a gateway too: 400 and 408, never 502.
        var badChunk = await RawHttp.ExchangeAsync(cluster.Port,
            ["POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nzz\r\n\r\n"],
            address: cluster.Gateway.Address);
        Assert.Equal(400, RawHttp.StatusOf(badChunk));
        var stalled = await RawHttp.ExchangeAsync(cluster.Port,
            ["POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"], TimeSpan.FromSeconds(60), address: cluster.Gateway.Address);
        Assert.Equal(408, RawHttp.StatusOf(stalled));
        Assert.DoesNotContain("failed with", cluster.Gateway.Output);
        Assert.DoesNotContain("forwarding failed", worker.Output);
    }
}
