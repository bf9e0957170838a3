using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Cli;

/// <summary>The single-role node programs (<c>porter gateway</c>, <c>porter-worker worker</c>) answer bad command lines as <c>porter start</c> does.</summary>
public sealed class NodeCommandsTests
{
    private static void AssertOneLineError(PorterCommand.Result result, string expected)
    {
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("porter: ", line);
        Assert.Contains(expected, line);
    }

    [Fact]
    public async Task Worker_program_without_its_verb_is_a_usage_error()
    {
        AssertOneLineError(await PorterCommand.RunWorkerAsync(), "Usage: porter-worker worker");
        AssertOneLineError(await PorterCommand.RunWorkerAsync("start", Repo.TestApp), "unknown command 'start'");
    }

    [Fact]
    public async Task Worker_checks_its_apps_like_start_does()
    {
        AssertOneLineError(await PorterCommand.RunWorkerAsync("worker", "/nonexistent/porter-app"), "does not exist");
        AssertOneLineError(await PorterCommand.RunWorkerAsync("worker", Repo.TempDir("empty-app")), "cannot tell how to start the app");
        AssertOneLineError(await PorterCommand.RunWorkerAsync("worker", Repo.TestApp, "--seed-nodes", "http://x"), "is not akka.tcp://porter@host:port");
    }

    [Fact]
    public async Task Worker_without_seed_nodes_or_discovery_exits_naming_both()
    {
        // Alone it would form a cluster of one that no gateway ever reaches: every request would meet a 503 elsewhere.
        AssertOneLineError(await PorterCommand.RunWorkerAsync("worker", Repo.TestApp, "--management-port", "-1"),
            "give --seed-nodes (PORTER__SEEDNODES__0) or --discovery (PORTER__DISCOVERY__METHOD)");
    }

    [Fact]
    public async Task Kubernetes_discovery_outside_a_pod_exits_naming_what_is_missing()
    {
        Assert.Null(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));
        AssertOneLineError(await PorterCommand.RunAsync("gateway", "--discovery", "kubernetes-api", "--port", "0"),
            "Discovery:Method kubernetes-api needs the Kubernetes API, but KUBERNETES_SERVICE_HOST is not set");
    }

    [Fact]
    public async Task An_unwritable_data_dir_exits_at_once_naming_the_setting()
    {
        // Not even root may create a folder in /sys: as a read-only root file system refuses the node's journal.
        var result = await PorterCommand.RunAsync("start", Repo.TestApp, "--data-dir", "/sys/porter-data", "--port", "0", "--management-port", "-1");
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("porter: cannot write the data dir /sys/porter-data (--data-dir, PORTER__DATADIR): ", line);
    }

    [Fact]
    public async Task Gateway_refuses_bad_flags_but_needs_no_local_app_folder()
    {
        AssertOneLineError(await PorterCommand.RunAsync("gateway", Repo.TestApp, "--downing", "sometimes"), "--downing must be keep-majority, keep-oldest or off");
        AssertOneLineError(await PorterCommand.RunAsync("gateway", "--no-such-flag"), "unknown option '--no-such-flag' (see 'porter gateway --help')");
        // The apps run on worker nodes, so a gateway does not look for their folders: with its port taken, that is
        // the one thing it complains about.
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var busy = await PorterCommand.RunAsync("gateway", "/nonexistent/porter-app", "--port", port, "--management-port", "-1");
        Assert.Equal(1, busy.ExitCode);
        Assert.Contains("already in use", busy.Stderr);

        var help = await PorterCommand.RunAsync("gateway", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Usage: porter gateway", help.Stdout);
        Assert.Contains("--seed-nodes", help.Stdout);
    }

    [Fact]
    public async Task Gateway_and_worker_on_a_network_address_need_a_cluster_secret()
    {
        var port = Repo.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] network = ["--hostname", "10.1.2.3", "--port", port, "--management-port", "-1"];
        AssertOneLineError(await PorterCommand.RunAsync(["gateway", Repo.TestApp, .. network]), "need --cluster-secret (PORTER__CLUSTERSECRET)");
        AssertOneLineError(await PorterCommand.RunWorkerAsync(["worker", Repo.TestApp, .. network]), "need --cluster-secret (PORTER__CLUSTERSECRET)");
        AssertOneLineError(await PorterCommand.RunAsync(["gateway", Repo.TestApp, .. network, "--cluster-secret", "short"]), "--cluster-secret must be at least 16 characters");
    }
}
