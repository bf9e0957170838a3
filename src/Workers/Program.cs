using Porter.Hosting.Cli;
using Porter.Workers.Hosting;
using Porter.Workers.Spawning;

// The worker-only node program: `dotnet run --project src/Workers -- worker [APP_DIR] [options]`.
const string usage = "Usage: porter-worker worker [APP_DIR] [options] | porter-worker health [options]   (run 'porter-worker worker --help' for the options)";
if (args is ["health", ..]) return await HealthCommand.RunAsync(args[1..]);
if (args is not ["worker", ..])
{
    if (args is ["-h" or "--help" or "help"])
    {
        Console.WriteLine(usage);
        return NodeProgram.ExitOk;
    }
    return NodeProgram.Fail(args.Length == 0 ? usage : $"unknown command '{args[0]}': {usage}", NodeProgram.ExitUsage);
}
return await NodeProgram.RunAsync("worker",
    "Starts a worker-only Porter node (role worker): it runs the apps' processes and serves the requests gateways\nforward to its internal listener on --hostname:--port. Join it to the cluster with --seed-nodes.",
    args[1..], AppTypeDetector.CheckDetectable, WorkerHost.Build, needsCluster: true);
