using System.Net;
using System.Net.Sockets;
using Porter.Gateway.Hosting;

namespace Porter.Gateway.Cli;

/// <summary>The <c>porter</c> command line: one verb per node kind, one-line errors, exit code 2 for usage errors.</summary>
public static class PorterCli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private const string Usage = """
        Usage: porter <command> [options]

        Commands:
          start [APP_DIR]   run a standalone node (gateway, cache and worker) serving APP_DIR

        Run 'porter start --help' for the options of start.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return ExitUsage;
        }
        switch (args[0])
        {
            case "-h" or "--help" or "help":
                Console.WriteLine(Usage);
                return ExitOk;
            case "start":
                return await StartAsync(args[1..]);
            default:
                return Fail($"unknown command '{args[0]}' (see 'porter --help')", ExitUsage);
        }
    }

    private static async Task<int> StartAsync(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(StartCommandLine.Help());
            return ExitOk;
        }
        Contracts.Options.PorterOptions options;
        try
        {
            options = PorterOptionsLoader.Load(StartCommandLine.Parse(args));
        }
        catch (UsageException e)
        {
            return Fail(e.Message, ExitUsage);
        }
        if (PortInUse(options.Address, options.Port))
            return Fail($"cannot listen on {options.Address}:{options.Port}: the address is already in use", ExitFailure);
        if (options.Management.Port > 0 && PortInUse(options.Hostname, options.Management.Port))
            return Fail($"cannot listen on {options.Hostname}:{options.Management.Port} for the management API: the address is already in use (--management-port)", ExitFailure);

        var app = StandaloneHost.Build(options);
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

    private static bool PortInUse(string address, int port)
    {
        if (port == 0) return false;
        try
        {
            using var probe = new TcpListener(StandaloneHost.ListenAddress(address), port);
            probe.Start();
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }

    private static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine($"porter: {message}");
        return exitCode;
    }
}
