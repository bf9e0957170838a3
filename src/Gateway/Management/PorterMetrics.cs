using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Http;
using Porter.Gateway.Edge;
using Porter.Workers.Pool;

namespace Porter.Gateway.Management;

/// <summary>Porter's OpenTelemetry instruments (meter "Porter"), exported in Prometheus text on the management port's /metrics.</summary>
public sealed class PorterMetrics : IDisposable
{
    public const string MeterName = "Porter";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public PorterMetrics(IMeterFactory meters, PoolRegistry pools, ActorSystem system)
    {
        _meter = meters.Create(MeterName);
        _requests = _meter.CreateCounter<long>("porter.requests", "{request}", "Requests answered, by app and cache result");
        _duration = _meter.CreateHistogram<double>("porter.request.duration", "s", "Time to answer a request, by app and cache result");
        _meter.CreateObservableGauge("porter.pool.processes", () => pools.All.Select(p =>
            new Measurement<int>(p.Routable.Count, new KeyValuePair<string, object?>("app", p.App.Value))), "{process}", "Routable app processes on this node");
        _meter.CreateObservableGauge("porter.pool.queue", () => pools.All.Select(p =>
            new Measurement<int>(p.QueueLength, new KeyValuePair<string, object?>("app", p.App.Value))), "{request}", "Requests waiting for a process");
        _meter.CreateObservableGauge("porter.cluster.members", () =>
        {
            var members = Cluster.Get(system).State.Members;
            return members.GroupBy(m => m.Status).Select(g =>
                new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("status", g.Key.ToString())));
        }, "{member}", "Cluster members by status, as this node sees them");
    }

    /// <summary>The meter, for instruments other parts add (OOB runs, cache counters).</summary>
    public Meter Meter => _meter;

    internal void RecordRequest(string app, string cache, double seconds)
    {
        var appTag = new KeyValuePair<string, object?>("app", app);
        var cacheTag = new KeyValuePair<string, object?>("cache", cache);
        _requests.Add(1, appTag, cacheTag);
        _duration.Record(seconds, appTag, cacheTag);
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>Counts every public request and its duration, tagged with the app and the turbocache's verdict.</summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, PorterMetrics metrics, Porter.Contracts.Options.PorterOptions options)
{
    private readonly string _cacheHeader = options.Turbocache.CacheStatusHeader is { Length: > 0 } h ? h : "X-Cache";

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var app = context.Features.Get<ResolvedApp>()?.App.Name ?? "none";
            var cache = context.Response.Headers[_cacheHeader].ToString() is { Length: > 0 } status ? status : "NONE";
            metrics.RecordRequest(app, cache, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
