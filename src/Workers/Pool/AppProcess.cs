using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>
/// Owns one OS process of an app: starts it, tells its supervisor when it listens or when it dies,
/// and ends it (SIGTERM, then SIGKILL) when told to stop or when the actor stops.
/// </summary>
public sealed class AppProcess : ReceiveActor
{
    /// <summary>The process accepts connections and may receive requests.</summary>
    public sealed record Ready(ProcessEndpoint Endpoint, DateTimeOffset StartedAt);

    /// <summary>The process could not start or has ended on its own; the supervisor decides about a replacement.</summary>
    public sealed record Failed(ProcessId? Pid, string Reason, IReadOnlyList<string> StderrTail);

    /// <summary>Supervisor to process: end the process (SIGTERM, SIGKILL after the grace period); no new requests reach it.</summary>
    public sealed record Stop
    {
        public static readonly Stop Instance = new();
    }

    /// <summary>The process ended because it was told to stop: not a crash.</summary>
    public sealed record Stopped(ProcessId? Pid);

    private sealed record StartResult(StartOutcome Outcome);
    private sealed record Exited(int Code);

    private readonly AppOptions _app;
    private readonly SpawnPlan _plan;
    private readonly ProcessRegistry _processes;
    private readonly ILogger _logger;
    private AppProcessHandle? _handle;
    private bool _ready;
    private bool _stopping;
    private bool _reported;

    public AppProcess(AppOptions app, SpawnPlan plan, ProcessRegistry processes, ILogger logger)
    {
        _app = app;
        _plan = plan;
        _processes = processes;
        _logger = logger;
        Receive<StartResult>(OnStartResult);
        Receive<Exited>(OnExited);
        Receive<Stop>(_ => OnStop());
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
            Report(new Failed(null, $"cannot start '{_plan.DisplayCommand}': {e.Message}", []));
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
        if (_stopping) return;
        switch (result.Outcome)
        {
            case StartOutcome.Listening:
                _ready = true;
                var concurrency = _app.Concurrency ?? (_plan.AppType == AppType.Python ? 1 : 0);
                Context.Parent.Tell(new Ready(new ProcessEndpoint(handle.Pid, handle.Port, concurrency, _app.MaxRequests, oobSecret: handle.OobSecret), handle.StartedAt));
                break;
            case StartOutcome.TimedOut:
                Report(new Failed(handle.Pid, $"did not accept connections on its PORT ({handle.Port}) within {_app.StartTimeout} s",
                    handle.StderrTail));
                Context.Stop(Self);
                break;
            case StartOutcome.ExitedDuringStart:
                // The Exited message carries the exit code and reports it.
                break;
        }
    }

    private void OnStop()
    {
        if (_stopping) return;
        _stopping = true;
        if (_handle is not { } handle || handle.Exited.IsCompleted)
        {
            Report(new Stopped(_handle?.Pid));
            Context.Stop(Self);
            return;
        }
        _logger.LogInformation("Stopping {App} process {Pid}", _app.Name, handle.Pid.Value);
        // The registry sends SIGTERM now and SIGKILL after the grace period; Exited then ends this actor.
        _ = _processes.Terminate(handle);
    }

    private void OnExited(Exited exited)
    {
        var handle = _handle!;
        if (_stopping)
            Report(new Stopped(handle.Pid));
        else
            Report(new Failed(handle.Pid, $"{(_ready ? "exited" : "exited during start")} with code {exited.Code}", handle.StderrTail));
        Context.Stop(Self);
    }

    private void Report(object outcome)
    {
        if (_reported) return;
        _reported = true;
        Context.Parent.Tell(outcome);
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
