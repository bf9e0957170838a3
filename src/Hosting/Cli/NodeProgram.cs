using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Hosting;
using Porter.Contracts.Options;
using Porter.Hosting.Discovery;
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
    /// <param name="needsCluster">True for node kinds that serve nobody on their own (a worker): they refuse to start
    /// without seed nodes or discovery instead of forming a cluster of one that no gateway ever reaches.</param>
    public static async Task<int> RunAsync(string verb, string description, string[] args,
        Action<AppOptions>? checkApp, Func<PorterOptions, WebApplication> build, bool needsCluster = false)
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
        if (StartProblem(options, verb, needsCluster) is var (problem, exitCode)) return Fail(problem, exitCode);
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

        var app = build(options);
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.StopAsync();
            return Fail($"cannot listen on {options.HttpListenAddress}:{options.Port}: {e.Message}", ExitFailure);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM while starting (a container stopped right after its start): a stop like any other, no stack trace.
            await app.DisposeAsync();
            return ExitOk;
        }
        AnnounceStart(app, verb, options);
        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return ExitOk;
    }

    /// <summary>
    /// The start-up banner on the console; with JSON logs one structured entry instead, so every line stays JSON for the
    /// log shipper.
    /// </summary>
    private static void AnnounceStart(WebApplication app, string verb, PorterOptions options)
    {
        var listeners = StartBanner.Sort(app.Urls, options);
        if (options.Logging.Format != LoggingOptions.JsonFormat)
        {
            Console.Write(StartBanner.Text(verb, options, listeners, Environment.ProcessId));
            return;
        }
        app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Porter.Node").LogInformation(
            "Porter {Kind} node started: {Urls}, management {Management}, apps {Apps}, environment {Environment}, data dir {DataDir}, PID {Pid}",
            StartBanner.Kind(verb), string.Join(", ", listeners.Public), listeners.Management ?? "off", string.Join(", ", options.Apps.Select(a => a.Name)),
            options.Environment, options.DataDir, Environment.ProcessId);
    }

    /// <summary>Prints <c>porter: MESSAGE</c> on stderr and returns the exit code.</summary>
    public static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine($"porter: {message}");
        return exitCode;
    }

    /// <summary>
    /// What in this node's surroundings would stop it later, found before anything starts (so a container without what
    /// it needs exits at once with one line, not with a stack trace or a node that never gets ready), or null.
    /// </summary>
    private static (string Message, int ExitCode)? StartProblem(PorterOptions options, string verb, bool needsCluster)
    {
        if (needsCluster && options.SeedNodes.Count == 0 && options.Discovery.Method == DiscoveryMethods.None)
            return ($"a {verb} node serves only through a cluster's gateways: give --seed-nodes (PORTER__SEEDNODES__0) or --discovery (PORTER__DISCOVERY__METHOD)", ExitUsage);
        if (BootstrapHosting.UsesBootstrap(options) && options.Discovery.Method == DiscoveryMethods.KubernetesApi)
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KubernetesPodDiscovery.ServiceHostVariable)))
                return ($"Discovery:Method kubernetes-api needs the Kubernetes API, but {KubernetesPodDiscovery.ServiceHostVariable} is not set (not in a pod?): outside Kubernetes give --seed-nodes or --discovery config", ExitUsage);
            if (!File.Exists(options.Discovery.ApiTokenPath))
                return ($"Discovery:Method kubernetes-api needs the service account token {options.Discovery.ApiTokenPath} (Discovery:ApiTokenPath, PORTER__DISCOVERY__APITOKENPATH)", ExitUsage);
        }
        if (PortInUse(options.HttpListenAddress, options.Port))
            return ($"cannot listen on {options.HttpListenAddress}:{options.Port}: the address is already in use (--address, --port)", ExitFailure);
        if (options.Tls.IsOn && options.Tls.Port > 0 && PortInUse(options.HttpListenAddress, options.Tls.Port))
            return ($"cannot listen on {options.HttpListenAddress}:{options.Tls.Port} for HTTPS: the address is already in use (--address, --ssl-port)", ExitFailure);
        if (options.Management.Port > 0 && PortInUse(options.ManagementListenAddress, options.Management.Port))
            return ($"cannot listen on {options.ManagementListenAddress}:{options.Management.Port} for the management API: the address is already in use (--management-address, --management-port)", ExitFailure);
        // Last: it creates the folder when it is missing.
        if (UnwritableDataDir(options.DataDir!) is { } why)
            return ($"cannot write the data dir {options.DataDir} (--data-dir, PORTER__DATADIR): {why}", ExitFailure);
        return null;
    }

    /// <summary>Why the node cannot keep its journal and PID records in <paramref name="dir"/>, or null when it can.</summary>
    private static string? UnwritableDataDir(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
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
