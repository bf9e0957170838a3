using System.Diagnostics.Metrics;
using Porter.Hosting.Management;
using Porter.Workers.Pool;

namespace Porter.Workers.Management;

/// <summary>The worker's gauges on Porter's meter: routable processes and queued requests per app.</summary>
public sealed class PoolMetrics
{
    public PoolMetrics(PorterMetrics metrics, PoolRegistry pools)
    {
        metrics.Meter.CreateObservableGauge("porter.pool.processes", () => pools.All.Select(p =>
            new Measurement<int>(p.Routable.Count, new KeyValuePair<string, object?>("app", p.App.Value))), "{process}", "Routable app processes on this node");
        metrics.Meter.CreateObservableGauge("porter.pool.queued_requests", () => pools.All.Select(p =>
            new Measurement<int>(p.QueueLength, new KeyValuePair<string, object?>("app", p.App.Value))), "{request}", "Requests waiting for a process");
    }
}
