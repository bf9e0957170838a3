using Porter.Hosting.Management.Dashboard;

namespace Porter.Hosting.Tests.Management;

/// <summary>The dashboard's one-minute request window: counts and percentiles from its buckets.</summary>
public sealed class RequestTrafficTests
{
    [Fact]
    public void Percentiles_are_the_upper_bounds_of_the_buckets_holding_them_and_never_below_the_true_value()
    {
        using var system = Akka.Actor.ActorSystem.Create("traffic-test");
        var traffic = new RequestTraffic(system);
        // 90 fast requests (2 ms), 9 slower (100 ms), 1 very slow (3 s).
        for (var i = 0; i < 90; i++) traffic.Record("shop", 0.002);
        for (var i = 0; i < 9; i++) traffic.Record("shop", 0.1);
        traffic.Record("shop", 3);
        traffic.Record("blog", 0.05);

        var all = traffic.LastMinute();
        Assert.Equal(["blog", "shop"], all.Select(a => a.App));
        var shop = all[1];
        Assert.Equal(100, shop.Requests);
        Assert.Equal(100, shop.Total);
        Assert.Equal(Math.Round(100 / 60.0, 2), shop.RequestsPerSecond);
        // Bucket bounds grow by sqrt(2): a percentile is at most 41 % above the value it stands for.
        Assert.InRange(shop.P50!.Value, 0.002, 0.002 * 1.42);
        Assert.InRange(shop.P95!.Value, 0.1, 0.1 * 1.42);
        Assert.InRange(shop.P99!.Value, 0.1, 0.1 * 1.42);
        Assert.Equal(all[0].P50, all[0].P99);
        Assert.InRange(all[0].P50!.Value, 0.05, 0.05 * 1.42);
    }

    [Fact]
    public void An_app_without_requests_has_no_percentiles()
    {
        using var system = Akka.Actor.ActorSystem.Create("traffic-test");
        Assert.Empty(new RequestTraffic(system).LastMinute());
    }
}
