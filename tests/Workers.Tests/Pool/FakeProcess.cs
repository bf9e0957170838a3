using Akka.Actor;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Workers.Pool;

namespace Porter.Workers.Tests.Pool;

/// <summary>
/// Stands in for <see cref="AppProcess"/> without an OS process: reports ready or failed as scripted, or waits for
/// the test to say so, and tells a probe what happened to it.
/// </summary>
internal sealed class FakeProcess : ReceiveActor
{
    /// <summary>How a fake process behaves after it is spawned.</summary>
    public enum Script { Ready, Fail, Wait }

    public sealed record Spawned(int Pid, IActorRef Process);
    public sealed record StopRequested(int Pid);
    public sealed record MakeReady;
    public sealed record Crash;

    public FakeProcess(int pid, Script script, IActorRef probe, int concurrency, int maxRequests)
    {
        var endpoint = new ProcessEndpoint(new ProcessId(pid), 20000 + pid, concurrency, maxRequests);
        probe.Tell(new Spawned(pid, Self));
        switch (script)
        {
            case Script.Ready:
                Context.Parent.Tell(new AppProcess.Ready(endpoint, DateTimeOffset.UtcNow));
                break;
            case Script.Fail:
                Context.Parent.Tell(new AppProcess.Failed(new ProcessId(pid), "exited with code 1", ["stderr line"]));
                break;
        }
        Receive<MakeReady>(_ => Context.Parent.Tell(new AppProcess.Ready(endpoint, DateTimeOffset.UtcNow)));
        Receive<Crash>(_ =>
        {
            Context.Parent.Tell(new AppProcess.Failed(new ProcessId(pid), "exited with code 1", []));
            Context.Stop(Self);
        });
        Receive<AppProcess.Stop>(_ =>
        {
            probe.Tell(new StopRequested(pid));
            // A real app often exits non-zero on SIGTERM: the supervisor must still not count it as a crash.
            Context.Parent.Tell(new AppProcess.Failed(new ProcessId(pid), "exited with code 143", []));
            Context.Stop(Self);
        });
    }
}

/// <summary>A slot owner with unlimited room: grants every request at once.</summary>
internal sealed class UnlimitedSlots : ReceiveActor
{
    public UnlimitedSlots()
    {
        Receive<PoolSlots.Request>(r => Sender.Tell(new PoolSlots.Granted(r.RequestId)));
        ReceiveAny(_ => { });
    }
}

/// <summary>Keeps log events so tests can read structured values (the backoff delay) instead of measuring time.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly List<(string Message, IReadOnlyDictionary<string, object?> Values)> _events = new();

    public IReadOnlyList<(string Message, IReadOnlyDictionary<string, object?> Values)> Events
    {
        get { lock (_events) return _events.ToList(); }
    }

    /// <summary>The backoff delays logged so far, in seconds, oldest first.</summary>
    public IReadOnlyList<double> Delays =>
        Events.Where(e => e.Values.ContainsKey("Delay")).Select(e => Convert.ToDouble(e.Values["Delay"], System.Globalization.CultureInfo.InvariantCulture)).ToList();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.ToDictionary(p => p.Key, p => p.Value)
            : new Dictionary<string, object?>();
        lock (_events) _events.Add((formatter(state, exception), values));
    }
}
