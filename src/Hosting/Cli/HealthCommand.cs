using Porter.Contracts.Options;
using Porter.Hosting.Options;

namespace Porter.Hosting.Cli;

/// <summary>
/// <c>porter health</c> (and <c>porter-worker health</c>): asks the node running next to it whether it is ready, for
/// a container's HEALTHCHECK. It finds the management API as the node does (the same flags, PORTER__ variables and
/// config file), so the check and the node never disagree about where to look.
/// </summary>
public static class HealthCommand
{
    public const string Description =
        "Asks the node's management API whether the node is ready (GET /ready): exit code 0 when it is, 1 when it is not.\n" +
        "Give it the node's own options (or none: PORTER__ variables are read as the node reads them).";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(NodeCommandLine.Help("health", Description));
            return NodeProgram.ExitOk;
        }
        PorterOptions options;
        try
        {
            options = PorterOptionsLoader.Load(NodeCommandLine.Parse(args, "health"), checkApp: null);
        }
        catch (UsageException e)
        {
            return NodeProgram.Fail(e.Message, NodeProgram.ExitUsage);
        }
        if (options.Management.Port <= 0)
            return NodeProgram.Fail("the management API is off or on a random port (--management-port): there is nothing to ask", NodeProgram.ExitUsage);

        var url = ReadyUrl(options);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(url);
            if (response.IsSuccessStatusCode) return NodeProgram.ExitOk;
            var body = (await response.Content.ReadAsStringAsync()).Trim();
            return NodeProgram.Fail($"not ready: {url} answered {(int)response.StatusCode} {body}", NodeProgram.ExitFailure);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return NodeProgram.Fail($"not ready: nothing answers on {url} ({e.Message})", NodeProgram.ExitFailure);
        }
    }

    /// <summary>The /ready route where the node's management listener binds; a wildcard bind answers on loopback too.</summary>
    public static Uri ReadyUrl(PorterOptions options)
    {
        var host = options.ManagementListenAddress is "*" or "localhost" ? "127.0.0.1" : options.ManagementListenAddress;
        return new Uri($"http://{host}:{options.Management.Port}/ready");
    }
}
