using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster;

namespace Porter.Hosting.Management;

/// <summary>Porter's OpenTelemetry instruments (meter "Porter"), exported in Prometheus text on the management port's /metrics.</summary>
public sealed class PorterMetrics : IDisposable
{
    public const string MeterName = "Porter";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _clientErrors;

    public PorterMetrics(IMeterFactory meters, ActorSystem system)
    {
        _meter = meters.Create(MeterName);
        _requests = _meter.CreateCounter<long>("porter.requests", "{request}", "Requests answered, by app and cache result");
        _duration = _meter.CreateHistogram<double>("porter.request.duration", "s", "Time to answer a request, by app and cache result");
        _clientErrors = _meter.CreateCounter<long>("porter.client.errors", "{request}",
            "Requests Porter refused or could not forward because of the client (bad path or body, stalled body, CONNECT), by app and reason");
        _meter.CreateObservableGauge("porter.cluster.members", () =>
        {
            var members = Cluster.Get(system).State.Members;
            return members.GroupBy(m => m.Status).Select(g =>
                new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("status", g.Key.ToString())));
        }, "{member}", "Cluster members by status, as this node sees them");
    }

    /// <summary>The meter, for instruments each role adds (pool gauges, OOB runs, cache counters).</summary>
    public Meter Meter => _meter;

    public void RecordRequest(string app, string cache, double seconds)
    {
        var appTag = new KeyValuePair<string, object?>("app", app);
        var cacheTag = new KeyValuePair<string, object?>("cache", cache);
        _requests.Add(1, appTag, cacheTag);
        _duration.Record(seconds, appTag, cacheTag);
    }

    /// <param name="reason">One of <see cref="ClientErrors"/>: labels only ever take values Porter chose.</param>
    public void RecordClientError(string app, string reason) =>
        _clientErrors.Add(1, new KeyValuePair<string, object?>("app", app), new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}

/// <summary>The reasons of <c>porter.client.errors</c>: the client's fault, never the app's (no 502, no app failure logged).</summary>
public static class ClientErrors
{
    /// <summary>400: a climbing path, a NUL or a fragment in the target.</summary>
    public const string BadPath = "bad-path";

    /// <summary>404: a client asked for Porter's internal /.porter/ endpoints.</summary>
    public const string InternalPath = "internal-path";

    /// <summary>501: CONNECT.</summary>
    public const string MethodNotSupported = "method-not-supported";

    /// <summary>413: a body over the limit, declared or streamed.</summary>
    public const string BodyTooLarge = "body-too-large";

    /// <summary>400: a malformed body (a bad chunk size, a body shorter than its Content-Length).</summary>
    public const string BadBody = "bad-body";

    /// <summary>408: the body stalled below Kestrel's minimum data rate.</summary>
    public const string BodyTimeout = "body-timeout";
}
