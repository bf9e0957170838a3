using System.Diagnostics.Metrics;
using Porter.Hosting.Management;

namespace Porter.Workers.Oob;

/// <summary>The worker's out-of-band work instruments on Porter's meter: runs by outcome, their duration, and the wait for a token.</summary>
public sealed class OobMetrics
{
    private readonly Counter<long> _runs;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _wait;

    public OobMetrics(PorterMetrics metrics)
    {
        _runs = metrics.Meter.CreateCounter<long>("porter.oob.runs", "{run}", "Out-of-band work runs on this node, by app and outcome");
        _duration = metrics.Meter.CreateHistogram<double>("porter.oob.duration", "s", "Time an app process took for its out-of-band work");
        _wait = metrics.Meter.CreateHistogram<double>("porter.oob.wait", "s", "Time a drained process waited for its out-of-band work token");
    }

    public void RecordRun(string app, OobOutcome outcome, TimeSpan wait, TimeSpan duration)
    {
        var appTag = new KeyValuePair<string, object?>("app", app);
        _runs.Add(1, appTag, new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()));
        _duration.Record(duration.TotalSeconds, appTag);
        _wait.Record(wait.TotalSeconds, appTag);
    }
}
