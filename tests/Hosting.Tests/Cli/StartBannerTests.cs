using Porter.Contracts.Options;
using Porter.Hosting.Cli;

namespace Porter.Hosting.Tests.Cli;

/// <summary>The start-up banner names the site's URL as the place to go, and the management port as management.</summary>
public sealed class StartBannerTests
{
    private static PorterOptions Options(int port = 3000, int management = 8558) => new()
    {
        Port = port,
        Management = { Port = management },
        DataDir = "/var/lib/porter",
        Apps = [new AppOptions { Name = "blog", Root = "/srv/blog" }],
    };

    [Fact]
    public void Sorts_the_bound_urls_into_public_and_management_by_the_management_port()
    {
        var listeners = StartBanner.Sort(["http://127.0.0.1:8558", "http://127.0.0.1:3000"], Options());
        Assert.Equal(["http://127.0.0.1:3000/"], listeners.Public);
        Assert.Equal("http://127.0.0.1:8558/", listeners.Management);
    }

    [Fact]
    public void Without_management_every_url_is_public()
    {
        var listeners = StartBanner.Sort(["http://127.0.0.1:3000"], Options(management: -1));
        Assert.Equal(["http://127.0.0.1:3000/"], listeners.Public);
        Assert.Null(listeners.Management);
        Assert.Contains("Management:     off (--management-port -1)", StartBanner.Text("start", Options(management: -1), listeners, 42));
    }

    [Fact]
    public void Names_app_url_environment_management_data_dir_log_level_and_how_to_stop()
    {
        var options = Options();
        var text = StartBanner.Text("start", options, StartBanner.Sort(["http://127.0.0.1:8558", "http://127.0.0.1:3000"], options), 4242);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();

        Assert.Contains(lines, l => l.Contains(" Porter standalone node started ", StringComparison.Ordinal) && l.StartsWith("===", StringComparison.Ordinal));
        Assert.Contains("App:            blog, in /srv/blog", lines);
        Assert.Contains("Accessible via: http://127.0.0.1:3000/", lines);
        Assert.Contains("Environment:    production", lines);
        Assert.Contains("Management:     http://127.0.0.1:8558/ (dashboard: http://127.0.0.1:8558/dashboard; porter status --url http://127.0.0.1:8558)", lines);
        Assert.Contains("Data dir:       /var/lib/porter", lines);
        Assert.Contains("Log level:      information, Akka.NET warning (--log-level, Logging:LogLevel)", lines);
        Assert.Contains(lines, l => l.StartsWith("Stop Porter by pressing Ctrl-C", StringComparison.Ordinal) && l.Contains("kill 4242", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Accessible via", StringComparison.Ordinal) && l.Contains("8558", StringComparison.Ordinal));
    }

    [Fact]
    public void A_worker_says_gateways_reach_it_and_a_many_app_node_lists_hosts()
    {
        var options = Options();
        options.Apps = [new AppOptions { Name = "a", Root = "/a", Hosts = ["a.test"] }, new AppOptions { Name = "b", Root = "/b" }];
        var text = StartBanner.Text("worker", options, StartBanner.Sort(["http://127.0.0.1:3000", "http://127.0.0.1:8558"], options), 1);
        Assert.Contains("Porter worker node started", text);
        Assert.Contains("Apps:            a (a.test), b (every other host)", text);
        Assert.Contains("Serves gateways: http://127.0.0.1:3000/ (internal: the cluster's gateways forward here)", text);
    }
}
