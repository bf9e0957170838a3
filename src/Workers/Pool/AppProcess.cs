using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>
/// Owns one OS process of an app: starts it, tells its supervisor when it listens or when it dies,
/// and ends it (SIGTERM, then SIGKILL) when the actor stops.
/// </summary>
public sealed class AppProcess : ReceiveActor
{
    /// <summary>The process accepts connections and may receive requests.</summary>
    public sealed record Ready(ProcessEndpoint Endpoint, AppProcessHandle Handle);

    /// <summary>The process could not start or has ended; the supervisor decides about a replacement.</summary>
    public sealed record Failed(ProcessId? Pid, string Reason, IReadOnlyList<string> StderrTail);

    private sealed record StartResult(StartOutcome Outcome);
    private sealed record Exited(int Code);

    private readonly AppOptions _app;
    private readonly SpawnPlan _plan;
    private readonly ProcessRegistry _processes;
    private readonly ILogger _logger;
    private AppProcessHandle? _handle;
    private bool _ready;
    private bool _reported;

    public AppProcess(AppOptions app, SpawnPlan plan, ProcessRegistry processes, ILogger logger)
    {
        _app = app;
        _plan = plan;
        _processes = processes;
        _logger = logger;
        Receive<StartResult>(OnStartResult);
        Receive<Exited>(OnExited);
    }

    public static Props Props(AppOptions app, SpawnPlan plan, ProcessRegistry processes, ILogger logger) =>
        Akka.Actor.Props.Create(() => new AppProcess(app, plan, processes, logger));

    protected override void PreStart()
    {
        try
        {
            _handle = AppProcessHandle.Start(_plan, _app.AppName, _logger);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            Report(null, $"cannot start '{_plan.DisplayCommand}': {e.Message}");
            Context.Stop(Self);
            return;
        }
        _processes.Add(_handle);
        _logger.LogInformation("Spawned {App} process {Pid} on port {Port}: {Command}",
            _app.Name, _handle.Pid.Value, _handle.Port, _plan.DisplayCommand);
        var self = Self;
        _handle.WaitUntilListeningAsync(TimeSpan.FromSeconds(_app.StartTimeout), CancellationToken.None)
            .PipeTo(self, success: outcome => new StartResult(outcome));
        _handle.Exited.PipeTo(self, success: code => new Exited(code));
    }

    private void OnStartResult(StartResult result)
    {
        var handle = _handle!;
        switch (result.Outcome)
        {
            case StartOutcome.Listening:
                _ready = true;
                var concurrency = _app.Concurrency ?? (_plan.AppType == AppType.Python ? 1 : 0);
                Context.Parent.Tell(new Ready(new ProcessEndpoint(handle.Pid, handle.Port, concurrency), handle));
                break;
            case StartOutcome.TimedOut:
                Report(handle.Pid, $"did not accept connections on its PORT ({handle.Port}) within {_app.StartTimeout} s");
                Context.Stop(Self);
                break;
            case StartOutcome.ExitedDuringStart:
                // The Exited message carries the exit code and reports it.
                break;
        }
    }

    private void OnExited(Exited exited)
    {
        var when = _ready ? "exited" : "exited during start";
        Report(_handle!.Pid, $"{when} with code {exited.Code}");
        Context.Stop(Self);
    }

    private void Report(ProcessId? pid, string reason)
    {
        if (_reported) return;
        _reported = true;
        Context.Parent.Tell(new Failed(pid, reason, _handle?.StderrTail ?? []));
    }

    protected override void PostStop()
    {
        if (_handle is { } handle && !handle.Exited.IsCompleted)
        {
            // Not awaited here: the registry tracks it and host stop waits for every termination.
            _ = _processes.Terminate(handle);
        }
    }
}
