using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;

namespace Porter.Hosting.Management.Dashboard;

/// <summary>
/// The requests this node answered in the last minute, per app: a ring of one-second slots, each a count and a latency
/// histogram (exponential buckets), so the dashboard can show requests/s and percentiles without keeping every sample.
/// Recording costs a dictionary read and a few additions under a per-app lock; reading happens every few seconds.
/// As the <c>traffic</c> report, gathered from the gateways by the dashboard.
/// </summary>
public sealed class RequestTraffic(ActorSystem system) : INodeReportSource
{
    /// <summary>Seconds the window spans.</summary>
    public const int WindowSeconds = 60;

    // Bucket i holds latencies up to 1 ms * 2^(i/2): 1 ms ... about 65 s in 33 buckets, each at most 41 % wider than the last.
    private const int Buckets = 33;
    private static readonly double[] UpperBounds = Enumerable.Range(0, Buckets).Select(i => 0.001 * Math.Pow(2, i / 2.0)).ToArray();

    private readonly ConcurrentDictionary<string, AppWindow> _apps = new(StringComparer.Ordinal);

    public string Kind => "traffic";

    public void Record(string app, double seconds)
    {
        var window = _apps.GetOrAdd(app, static _ => new AppWindow());
        window.Add(Environment.TickCount64 / 1000, BucketOf(seconds));
    }

    private static int BucketOf(double seconds)
    {
        var i = Array.BinarySearch(UpperBounds, seconds);
        if (i < 0) i = ~i;
        return Math.Min(i, Buckets - 1);
    }

    /// <summary>
    /// One app's last minute: requests, requests/s and latency percentiles (upper bounds of their buckets, seconds), and
    /// the requests since the node started (for rates over other spans).
    /// </summary>
    public sealed record AppTraffic(string App, long Requests, double RequestsPerSecond, double? P50, double? P95, double? P99, long Total);

    public IReadOnlyList<AppTraffic> LastMinute()
    {
        var now = Environment.TickCount64 / 1000;
        return _apps.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a =>
        {
            var (count, histogram) = a.Value.Sum(now);
            return new AppTraffic(a.Key, count, Math.Round(count / (double)WindowSeconds, 2),
                Percentile(histogram, count, 0.50), Percentile(histogram, count, 0.95), Percentile(histogram, count, 0.99), a.Value.Total);
        }).ToList();
    }

    private static double? Percentile(long[] histogram, long count, double q)
    {
        if (count == 0) return null;
        var rank = (long)Math.Ceiling(q * count);
        long seen = 0;
        for (var i = 0; i < histogram.Length; i++)
        {
            seen += histogram[i];
            if (seen >= rank) return UpperBounds[i];
        }
        return UpperBounds[^1];
    }

    public Task<string> JsonAsync(CancellationToken cancellationToken) => Task.FromResult(JsonSerializer.Serialize(new
    {
        node = Cluster.Get(system).SelfAddress.ToString(),
        windowSeconds = WindowSeconds,
        apps = LastMinute().Select(a => new
        {
            name = a.App,
            requests = a.Requests,
            requestsPerSecond = a.RequestsPerSecond,
            p50Seconds = a.P50,
            p95Seconds = a.P95,
            p99Seconds = a.P99,
            total = a.Total,
        }),
    }));

    private sealed class AppWindow
    {
        private readonly long[] _second = new long[WindowSeconds];
        private readonly long[] _count = new long[WindowSeconds];
        private readonly long[,] _histogram = new long[WindowSeconds, Buckets];
        private long _total;

        public long Total => Interlocked.Read(ref _total);

        public void Add(long second, int bucket)
        {
            var slot = (int)(second % WindowSeconds);
            lock (this)
            {
                if (_second[slot] != second)
                {
                    // The slot last held a second a minute (or more) ago: start it afresh.
                    _second[slot] = second;
                    _count[slot] = 0;
                    for (var b = 0; b < Buckets; b++) _histogram[slot, b] = 0;
                }
                _count[slot]++;
                _total++;
                _histogram[slot, bucket]++;
            }
        }

        public (long Count, long[] Histogram) Sum(long now)
        {
            var histogram = new long[Buckets];
            long count = 0;
            lock (this)
            {
                for (var slot = 0; slot < WindowSeconds; slot++)
                {
                    if (now - _second[slot] >= WindowSeconds || _count[slot] == 0) continue;
                    count += _count[slot];
                    for (var b = 0; b < Buckets; b++) histogram[b] += _histogram[slot, b];
                }
            }
            return (count, histogram);
        }
    }
}
