using System.Diagnostics.Metrics;
using Porter.Hosting.Management;

namespace Porter.Workers.Oob;

/// <summary>
/// The worker's out-of-band work instruments on Porter's meter: runs by outcome (the work call's, or <c>dropped</c> / <c>skipped</c>
/// for runs that never worked), their duration, and the wait for a token.
/// </summary>
public sealed class OobMetrics
{
    private readonly Counter<long> _runs;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _wait;

    public OobMetrics(PorterMetrics metrics)
    {
        _runs = metrics.Meter.CreateCounter<long>("porter.oob.runs", "{run}", "Out-of-band work runs on this node, by app and outcome");
        // Out-of-band work and its token wait take from milliseconds to minutes (the work timeout is a minute by default).
        var buckets = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300] };
        _duration = metrics.Meter.CreateHistogram<double>("porter.oob.duration", "s", "Time an app process took for its out-of-band work", tags: null, advice: buckets);
        _wait = metrics.Meter.CreateHistogram<double>("porter.oob.wait", "s", "Time a process (serving meanwhile) waited for its out-of-band work token", tags: null, advice: buckets);
    }

    public void RecordRun(string app, OobOutcome outcome, TimeSpan wait, TimeSpan duration)
    {
        var appTag = new KeyValuePair<string, object?>("app", app);
        _runs.Add(1, appTag, new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()));
        _duration.Record(duration.TotalSeconds, appTag);
        _wait.Record(wait.TotalSeconds, appTag);
    }

    /// <summary>A run dropped because no token came within the token wait bound (outcome <c>dropped</c>).</summary>
    public void RecordDropped(string app) => CountNotRun(app, "dropped");

    /// <summary>A granted run given back unused: its process could not leave rotation or drain within the grace (outcome <c>skipped</c>).</summary>
    public void RecordSkipped(string app) => CountNotRun(app, "skipped");

    private void CountNotRun(string app, string outcome) =>
        _runs.Add(1, new KeyValuePair<string, object?>("app", app), new KeyValuePair<string, object?>("outcome", outcome));
}
