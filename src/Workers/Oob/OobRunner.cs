using System.Diagnostics;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Workers.Pool;

namespace Porter.Workers.Oob;

/// <summary>What every <see cref="OobRunner"/> on a node shares.</summary>
/// <param name="Coordinator">The coordinator singleton's proxy.</param>
/// <param name="Node">This node's cluster address, as the coordinator matches it to membership.</param>
/// <param name="RetryInterval">How often an unanswered command is sent again (the singleton may be starting or moving).</param>
/// <param name="Work">The work call (<see cref="OobWorkClient.PostAsync"/>; tests pass a stand-in), given the process, token id and timeout.</param>
public sealed record OobRunnerSettings(
    IActorRef Coordinator,
    string Node,
    OobOptions Options,
    TimeSpan RetryInterval,
    Func<ProcessEndpoint, long, TimeSpan, Task<OobOutcome>> Work,
    OobMetrics? Metrics = null);

/// <summary>
/// One out-of-band work run of one process, a child of the app's <see cref="AppSupervisor"/>. While the process keeps
/// serving, it asks the coordinator for a token (re-sending until answered, and while queued, since a moving singleton
/// forgets its queue); no token within <see cref="OobOptions.TokenWaitTimeout"/> drops the run. Once granted it tells the
/// supervisor, which takes the process out of rotation and drains it, then says <see cref="Proceed"/> (or
/// <see cref="Skip"/>); the runner calls the process, tells the supervisor how it ended, and gives the token back. A run
/// that timed out or found the process dead keeps its token until the supervisor says the process has exited, so the
/// next run cannot overlap.
/// </summary>
public sealed class OobRunner : ReceiveActor, IWithTimers
{
    /// <summary>To the supervisor: the token is held; the process may leave rotation and drain.</summary>
    public sealed record Granted(ProcessId Pid, long TokenId);

    /// <summary>To the supervisor: no token came within the bound; the run is dropped (the request is being withdrawn).</summary>
    public sealed record TokenWaitExpired(ProcessId Pid, TimeSpan Waited);

    /// <summary>To the supervisor: the work call ended; <see cref="Recycle"/> when the process must be replaced.</summary>
    public sealed record Finished(ProcessId Pid, OobOutcome Outcome)
    {
        public bool Recycle => Outcome is OobOutcome.TimedOut or OobOutcome.Unreachable;
    }

    /// <summary>From the supervisor: the granted process is out of rotation with nothing in flight; do the work.</summary>
    public sealed record Proceed
    {
        public static readonly Proceed Instance = new();
    }

    /// <summary>From the supervisor: the granted process could not leave or drain within the bound; give the token back unused.</summary>
    public sealed record Skip
    {
        public static readonly Skip Instance = new();
    }

    /// <summary>From the supervisor: the process leaves (retired, restarted); give up the run but never leak a token.</summary>
    public sealed record Abort
    {
        public static readonly Abort Instance = new();
    }

    /// <summary>From the supervisor: the process has exited.</summary>
    public sealed record ProcessExited
    {
        public static readonly ProcessExited Instance = new();
    }

    private sealed record Resend
    {
        public static readonly Resend Instance = new();
    }

    private sealed record TokenWaitOver
    {
        public static readonly TokenWaitOver Instance = new();
    }

    private sealed record WorkDone(OobOutcome Outcome);

    private readonly AppName _app;
    private readonly ProcessEndpoint _endpoint;
    private readonly OobRunnerSettings _settings;
    private readonly ILogger _logger;
    private readonly string _scope;
    private readonly long _createdAt = Stopwatch.GetTimestamp();
    private object? _pending;
    private bool _exited;
    private long _tokenId;
    private long _grantedAt;
    private long _workStartedAt;

    public ITimerScheduler Timers { get; set; } = null!;

    public OobRunner(AppName app, ProcessEndpoint endpoint, OobRunnerSettings settings, ILogger logger)
    {
        _app = app;
        _endpoint = endpoint;
        _settings = settings;
        _logger = logger;
        _scope = settings.Options.ScopeKeyFor(app);
    }

    // Timers exist only once the actor is created, not in its constructor.
    protected override void PreStart()
    {
        Timers.StartSingleTimer("token-wait", TokenWaitOver.Instance, TimeSpan.FromSeconds(_settings.Options.TokenWaitTimeout));
        Become(Requesting);
    }

    public static Props Props(AppName app, ProcessEndpoint endpoint, OobRunnerSettings settings, ILogger logger) =>
        Akka.Actor.Props.Create(() => new OobRunner(app, endpoint, settings, logger));

    private ProcessId Pid => _endpoint.Pid;

    private OobProtocol.RequestToken RequestMessage => new(_scope, _app, _settings.Node, Pid, Self);

    /// <summary>Sends a command now and again every retry interval until a state change replaces it.</summary>
    private void Send(object? command)
    {
        _pending = command;
        if (command is null)
        {
            Timers.Cancel("resend");
            return;
        }
        _settings.Coordinator.Tell(command, Self);
        Timers.StartPeriodicTimer("resend", Resend.Instance, _settings.RetryInterval);
    }

    /// <summary>The process serves meanwhile: waiting costs no capacity, only the run's delay.</summary>
    private void Requesting()
    {
        Send(RequestMessage);
        Receive<Resend>(_ => Send(_pending));
        Receive<OobProtocol.TokenQueued>(queued =>
            _logger.LogDebug("{App} process {Pid} waits for an OOB token at position {Position}", _app, Pid.Value, queued.Position));
        Receive<OobProtocol.TokenGranted>(grant => grant.Pid == Pid, grant =>
        {
            _tokenId = grant.TokenId;
            Become(Holding);
        });
        Receive<TokenWaitOver>(_ =>
        {
            var waited = Stopwatch.GetElapsedTime(_createdAt);
            _settings.Metrics?.RecordDropped(_app.Value);
            Context.Parent.Tell(new TokenWaitExpired(Pid, waited));
            Become(Cancelling);
        });
        Receive<Abort>(_ => Become(Cancelling));
        Receive<ProcessExited>(_ =>
        {
            _exited = true;
            Become(Cancelling);
        });
    }

    /// <summary>The token is held while the supervisor takes the process out of rotation and drains it (bounded by the stop grace).</summary>
    private void Holding()
    {
        Send(null);
        Timers.Cancel("token-wait");
        _grantedAt = Stopwatch.GetTimestamp();
        Context.Parent.Tell(new Granted(Pid, _tokenId));
        Receive<Proceed>(_ => Become(Working));
        Receive<Skip>(_ =>
        {
            _settings.Metrics?.RecordSkipped(_app.Value);
            Become(Releasing);
        });
        Receive<Abort>(_ => Become(Releasing));
        Receive<ProcessExited>(_ =>
        {
            _exited = true;
            Become(Releasing);
        });
        Receive<OobProtocol.TokenGranted>(_ => { });
        Receive<OobProtocol.TokenQueued>(_ => { });
        Receive<TokenWaitOver>(_ => { });
        Receive<Resend>(_ => { });
    }

    private void Working()
    {
        _workStartedAt = Stopwatch.GetTimestamp();
        _logger.LogDebug("{App} process {Pid} starts out-of-band work with token {TokenId}", _app, Pid.Value, _tokenId);
        _settings.Work(_endpoint, _tokenId, _settings.Options.WorkTimeout)
            .PipeTo(Self, success: outcome => new WorkDone(outcome), failure: _ => new WorkDone(OobOutcome.Unreachable));
        Receive<WorkDone>(done =>
        {
            var duration = Stopwatch.GetElapsedTime(_workStartedAt);
            var finished = new Finished(Pid, done.Outcome);
            _settings.Metrics?.RecordRun(_app.Value, done.Outcome, Stopwatch.GetElapsedTime(_createdAt, _grantedAt), duration);
            if (finished.Recycle)
                _logger.LogWarning("{App} process {Pid}: out-of-band work {Outcome} after {Duration} ms; the process is recycled",
                    _app, Pid.Value, done.Outcome, Math.Round(duration.TotalMilliseconds));
            else if (done.Outcome == OobOutcome.Declined)
                _logger.LogWarning("{App} process {Pid} answered its out-of-band work call with an error status (does it implement POST /{Path}?)",
                    _app, Pid.Value, OobWorkClient.Path);
            else
                _logger.LogInformation("{App} process {Pid} finished out-of-band work with token {TokenId} in {Duration} ms", _app, Pid.Value,
                    _tokenId, Math.Round(duration.TotalMilliseconds, 1));
            Context.Parent.Tell(finished);
            if (!finished.Recycle || _exited) Become(Releasing);
            else Become(AwaitingExit);
        });
        Receive<ProcessExited>(_ => _exited = true);
        Receive<Abort>(_ => { });
        Receive<OobProtocol.TokenGranted>(_ => { });
        Receive<OobProtocol.TokenQueued>(_ => { });
        Receive<TokenWaitOver>(_ => { });
        Receive<Resend>(_ => { });
    }

    /// <summary>The process may still be busy with the work: the token stays held until it is gone.</summary>
    private void AwaitingExit()
    {
        Receive<ProcessExited>(_ => Become(Releasing));
        Receive<Abort>(_ => { });
        Receive<OobProtocol.TokenGranted>(_ => { });
        Receive<OobProtocol.TokenQueued>(_ => { });
        Receive<TokenWaitOver>(_ => { });
        Receive<Resend>(_ => { });
    }

    private void Releasing()
    {
        Send(new OobProtocol.ReleaseToken(_tokenId, _app, _settings.Node, Pid));
        Receive<Resend>(_ => Send(_pending));
        Receive<OobProtocol.TokenReleased>(released => released.TokenId == _tokenId, _ => Context.Stop(Self));
        Receive<ProcessExited>(_ => { });
        Receive<Abort>(_ => { });
        Receive<Proceed>(_ => { });
        Receive<Skip>(_ => { });
        Receive<OobProtocol.TokenGranted>(_ => { });
        Receive<OobProtocol.TokenQueued>(_ => { });
        Receive<TokenWaitOver>(_ => { });
    }

    /// <summary>
    /// Withdraws the request without leaking a token: a grant may be on its way, or lost with a moving singleton.
    /// Cancelled while waiting ends it; "was not waiting" means the coordinator either granted a token or forgot the
    /// entry, so asking again finds out (the same token again, or a place in the queue to cancel).
    /// </summary>
    private void Cancelling()
    {
        Timers.Cancel("token-wait");
        Send(new OobProtocol.CancelRequest(_app, _settings.Node, Pid));
        Receive<Resend>(_ => Send(_pending));
        Receive<OobProtocol.RequestCancelled>(cancelled =>
        {
            if (cancelled.WasWaiting) Context.Stop(Self);
            else Send(RequestMessage);
        });
        Receive<OobProtocol.TokenQueued>(_ => Send(new OobProtocol.CancelRequest(_app, _settings.Node, Pid)));
        Receive<OobProtocol.TokenGranted>(grant => grant.Pid == Pid, grant =>
        {
            _tokenId = grant.TokenId;
            Become(Releasing);
        });
        Receive<Abort>(_ => { });
        Receive<ProcessExited>(_ => _exited = true);
        Receive<TokenWaitOver>(_ => { });
    }
}
