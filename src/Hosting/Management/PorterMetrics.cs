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

    public PorterMetrics(IMeterFactory meters, ActorSystem system)
    {
        _meter = meters.Create(MeterName);
        _requests = _meter.CreateCounter<long>("porter.requests", "{request}", "Requests answered, by app and cache result");
        _duration = _meter.CreateHistogram<double>("porter.request.duration", "s", "Time to answer a request, by app and cache result");
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

    public void Dispose() => _meter.Dispose();
}
