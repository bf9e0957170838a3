using System.Globalization;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Clustering;

/// <summary>
/// Several real nodes on one host and one app folder, as the README starts them: each keeps its own PID records (its
/// default data dir names the node), a second node on a data dir in use refuses to start, and no node ever ends
/// another live node's app processes; a worker restarted after <c>kill -9</c> still ends its own orphans.
/// </summary>
public sealed class NodesOnOneHostTests
{
    [Fact]
    public async Task Two_workers_on_one_app_folder_keep_their_own_data_dirs_and_each_others_apps()
    {
        var app = Repo.TempDir("shared-app");
        File.Copy(Path.Combine(Repo.TestApp, "app.js"), Path.Combine(app, "app.js"));
        string[] addresses = ["127.0.0.4", "127.0.0.5"];
        var port = Repo.FreePortOnAll(addresses);
        var remotingPort = Repo.FreePortOnAll(addresses);
        string DefaultDataDir(string address) => Path.Combine(app, "tmp", "porter", string.Create(CultureInfo.InvariantCulture, $"worker-{address}-{port}"));
        // No --data-dir: each worker picks its default, which the test only names to read the PID records there. A worker
        // needs a cluster to start: each is its own seed here (the data dirs, not the clusters, are what is under test).
        Task<PorterProcess> Worker(string address) => PorterProcess.StartNodeAsync(PorterProcess.NodeKind.Worker,
            [app, "--app-name", "testapp", "--remoting-port", remotingPort.ToString(CultureInfo.InvariantCulture),
                "--seed-nodes", $"akka.tcp://porter@{address}:{remotingPort.ToString(CultureInfo.InvariantCulture)}"],
            waitForApp: false, dataDir: DefaultDataDir(address), address: address, port: port, passDataDir: false);

        await using var first = await Worker(addresses[0]);
        await Poll.UntilAsync(() => first.RecordedAppPids().Count == 1, TimeSpan.FromSeconds(60), "the first worker's app process");
        var firstApps = first.RecordedAppPids();
        await using var second = await Worker(addresses[1]);
        await Poll.UntilAsync(() => second.RecordedAppPids().Count == 1, TimeSpan.FromSeconds(60), "the second worker's app process");
        var secondApps = second.RecordedAppPids();

        // The second start (which ends orphans of its own dir before it spawns) left the first one's app alone.
        Assert.All(firstApps, pid => Assert.True(PorterProcess.IsAlive(pid), $"the first worker's app process {pid} was ended"));
        Assert.Equal(firstApps, first.RecordedAppPids());
        Assert.DoesNotContain("left over", second.Output);

        // The first worker dies hard; restarted as the same node (same address and port: the same default dir), it ends
        // its own orphans, and only those.
        await first.KillHardAsync();
        Assert.All(firstApps, pid => Assert.True(PorterProcess.IsAlive(pid), "the app should outlive a SIGKILLed worker"));
        await using var restarted = await Worker(addresses[0]);
        await Poll.UntilAsync(() => firstApps.All(pid => !PorterProcess.IsAlive(pid)), TimeSpan.FromSeconds(30),
            "the restarted worker to end its orphans");
        Assert.All(secondApps, pid => Assert.True(PorterProcess.IsAlive(pid), $"the second worker's app process {pid} was ended"));
        Assert.Equal(secondApps, second.RecordedAppPids());
    }

    [Fact]
    public async Task Second_node_on_a_data_dir_in_use_refuses_in_one_line_and_leaves_the_first_nodes_apps_alone()
    {
        var dataDir = Repo.TempDir("data-in-use");
        await using var first = await PorterProcess.StartAsync([Repo.TestApp], dataDir: dataDir);
        await Poll.UntilAsync(() => first.RecordedAppPids().Count == 1, TimeSpan.FromSeconds(30), "the first node's app process");
        var apps = first.RecordedAppPids();

        var second = await PorterCommand.RunAsync("start", Repo.TestApp, "--port", Text(Repo.FreePort()),
            "--management-port", Text(Repo.FreePort()), "--data-dir", dataDir);

        Assert.Equal(1, second.ExitCode);
        var line = Assert.Single(second.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"porter: the data dir {dataDir} is in use by another Porter node (PID {first.Pid}); give each node on this host its own --data-dir", line);
        Assert.All(apps, pid => Assert.True(PorterProcess.IsAlive(pid), $"the first node's app process {pid} was ended"));
        using var response = await first.Client.GetAsync("/pid");
        Assert.Contains(int.Parse(await response.Content.ReadAsStringAsync(), CultureInfo.InvariantCulture), apps);
    }

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
