using Porter.Gateway.Hosting;
using Porter.Hosting.Cli;
using Porter.Workers.Spawning;

namespace Porter.Gateway.Cli;

/// <summary>The <c>porter</c> command line: one verb per node kind, one-line errors, exit code 2 for usage errors.</summary>
public static class PorterCli
{
    private const string Usage = """
        Usage: porter <command> [options]

        Commands:
          start [APP_DIR]   run a standalone node (gateway, cache and worker) serving APP_DIR
          gateway [APP_DIR] run a gateway node (gateway and cache) forwarding to worker nodes
          status            show the cluster, pools, turbocache and OOB state (--url http://host:8558; --show=requests: in-flight requests)
          health            exit 0 when the node's management API says it is ready (a container HEALTHCHECK)
          memory-stats      memory of Porter's node and app processes on this machine, from /proc (no node needed)

        Run 'porter start --help' for the options of start.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return NodeProgram.ExitUsage;
        }
        switch (args[0])
        {
            case "-h" or "--help" or "help":
                Console.WriteLine(Usage);
                return NodeProgram.ExitOk;
            case "start":
                return await NodeProgram.RunAsync("start",
                    "Starts a single Porter node (gateway, cache and worker roles) serving the app in APP_DIR\n(default: the current folder), or the apps listed in --config.",
                    args[1..], AppTypeDetector.CheckDetectable, StandaloneHost.Build);
            case "gateway":
                return await NodeProgram.RunAsync("gateway",
                    "Starts a gateway node (roles gateway and cache): the HTTP edge and turbocache, forwarding to the worker\nnodes that serve each app (porter-worker worker). Join it to the cluster with --seed-nodes.",
                    args[1..], checkApp: null, GatewayHost.Build);
            case "status":
                return await StatusCommand.RunAsync(args[1..]);
            case "health":
                return await HealthCommand.RunAsync(args[1..]);
            case "memory-stats":
                return MemoryStatsCommand.Run(args[1..]);
            default:
                return NodeProgram.Fail($"unknown command '{args[0]}' (see 'porter --help')", NodeProgram.ExitUsage);
        }
    }
}
