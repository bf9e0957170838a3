using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Porter.Contracts.Options;
using Porter.Hosting.Options;

namespace Porter.Hosting.Cli;

/// <summary>
/// Runs one node verb (<c>start</c>, <c>gateway</c>, <c>worker</c>): parse the flags, load and check the options,
/// refuse ports already taken and a data dir another node holds, start the node and serve until SIGTERM or Ctrl-C.
/// </summary>
public static class NodeProgram
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    /// <param name="verb">The command's name, for its help and errors.</param>
    /// <param name="description">What the node does, the first lines of its help.</param>
    /// <param name="checkApp">Checks each app this node runs (null when it only routes to them).</param>
    /// <param name="build">The node kind's composition root.</param>
    public static async Task<int> RunAsync(string verb, string description, string[] args,
        Action<AppOptions>? checkApp, Func<PorterOptions, WebApplication> build)
    {
        SocketTuning.PreferInlineCompletions();
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(NodeCommandLine.Help(verb, description));
            return ExitOk;
        }
        PorterOptions options;
        try
        {
            options = PorterOptionsLoader.Load(NodeCommandLine.Parse(args, verb), checkApp);
        }
        catch (UsageException e)
        {
            return Fail(e.Message, ExitUsage);
        }
        if (PortInUse(options.Address, options.Port))
            return Fail($"cannot listen on {options.Address}:{options.Port}: the address is already in use", ExitFailure);
        if (options.Management.Port > 0 && PortInUse(options.Hostname, options.Management.Port))
            return Fail($"cannot listen on {options.Hostname}:{options.Management.Port} for the management API: the address is already in use (--management-port)", ExitFailure);
        DataDirLock dataDirLock;
        try
        {
            dataDirLock = DataDirLock.Acquire(options.DataDir!);
        }
        catch (DataDirLock.InUseException e)
        {
            return Fail(e.Message, ExitFailure);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail($"cannot use the data dir {options.DataDir}: {e.Message} (--data-dir)", ExitFailure);
        }
        using var heldForTheNodesLife = dataDirLock;

        WebApplication app;
        try
        {
            app = build(options);
        }
        catch (UsageException e)
        {
            // What only a node kind checks (a gateway's or worker's cluster secret).
            return Fail(e.Message, ExitUsage);
        }
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.StopAsync();
            return Fail($"cannot listen on {options.Address}:{options.Port}: {e.Message}", ExitFailure);
        }
        foreach (var url in app.Urls) Console.WriteLine($"Porter is serving on {url}");
        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return ExitOk;
    }

    /// <summary>Prints <c>porter: MESSAGE</c> on stderr and returns the exit code.</summary>
    public static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine($"porter: {message}");
        return exitCode;
    }

    private static bool PortInUse(string address, int port)
    {
        if (port == 0) return false;
        try
        {
            using var probe = new TcpListener(NodeHost.ListenAddress(address), port);
            probe.Start();
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }
}
