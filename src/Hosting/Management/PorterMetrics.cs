using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster;
using Porter.Hosting.Management.Dashboard;

namespace Porter.Hosting.Management;

/// <summary>Porter's OpenTelemetry instruments (meter "Porter"), exported in Prometheus text on the management port's /metrics.</summary>
public sealed class PorterMetrics : IDisposable
{
    public const string MeterName = "Porter";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _clientErrors;
    private readonly RequestTraffic _traffic;

    public PorterMetrics(IMeterFactory meters, ActorSystem system, RequestTraffic traffic)
    {
        _traffic = traffic;
        _meter = meters.Create(MeterName);
        _requests = _meter.CreateCounter<long>("porter.requests", "{request}", "Requests answered, by app, cache result and status class");
        _duration = _meter.CreateHistogram<double>("porter.request.duration", "s", "Time to answer a request, by app, cache result and status class",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RequestSecondsBuckets });
        _clientErrors = _meter.CreateCounter<long>("porter.client.errors", "{request}",
            "Requests Porter refused or could not forward because of the client (bad path or body, stalled body, CONNECT), by app and reason");
        _meter.CreateObservableGauge("porter.cluster.members", () =>
        {
            var members = Cluster.Get(system).State.Members;
            return members.GroupBy(m => m.Status).Select(g =>
                new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("status", g.Key.ToString())));
        }, "{member}", "Cluster members by status, as this node sees them");
    }

    /// <summary>
    /// Bucket bounds (seconds) of the request duration: 1 ms to a minute. Without them the SDK's defaults (0 to 10 000,
    /// meant for milliseconds) put every request into the first bucket or two.
    /// </summary>
    public static readonly IReadOnlyList<double> RequestSecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>The <c>status</c> label: the class of the answer's status code, five values at most.</summary>
    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    public static string StatusClass(int statusCode) => StatusClasses[Math.Clamp(statusCode / 100, 1, 5) - 1];

    /// <summary>The meter, for instruments each role adds (pool gauges, OOB runs, cache counters).</summary>
    public Meter Meter => _meter;

    public void RecordRequest(string app, string cache, int statusCode, double seconds)
    {
        var appTag = new KeyValuePair<string, object?>("app", app);
        var cacheTag = new KeyValuePair<string, object?>("cache", cache);
        var statusTag = new KeyValuePair<string, object?>("status", StatusClass(statusCode));
        _requests.Add(1, appTag, cacheTag, statusTag);
        _duration.Record(seconds, appTag, cacheTag, statusTag);
        _traffic.Record(app, seconds);
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
