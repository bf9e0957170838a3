using Porter.Contracts.Options;
using Porter.Hosting.Cli;
using Porter.Workers.Spawning;
using Porter.Hosting.Options;

namespace Porter.Gateway.Tests.Hosting;

[Collection(EnvironmentVariableCollection.Name)]
public sealed class PorterOptionsLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-options-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NodeApp(string name)
    {
        var root = Path.Combine(_dir, name);
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "app.js"), "");
        return root;
    }

    private string Config(string json)
    {
        var path = Path.Combine(_dir, "porter.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static PorterOptions Load(params string[] args) => PorterOptionsLoader.Load(NodeCommandLine.Parse(args), AppTypeDetector.CheckDetectable);

    [Fact]
    public void Command_line_app_answers_every_host_with_defaults()
    {
        var root = NodeApp("shop");
        var options = Load(root);
        var app = Assert.Single(options.Apps);
        Assert.Equal("shop", app.Name);
        Assert.Empty(app.Hosts);
        Assert.Equal(3000, options.Port);
        Assert.Equal("127.0.0.1", options.HttpListenAddress);
        Assert.Equal("127.0.0.1", options.ManagementListenAddress);
        Assert.Equal("production", options.Environment);
        Assert.Equal(1, app.MinInstances);
        Assert.Equal(Path.Combine(root, "tmp", "porter", "standalone-127.0.0.1-3000"), options.DataDir);
    }

    [Fact]
    public void Default_data_dir_names_the_node_so_nodes_on_one_app_folder_never_share_one()
    {
        var root = NodeApp("shared");
        string DataDir(string verb, params string[] flags) =>
            PorterOptionsLoader.Load(NodeCommandLine.Parse([root, .. flags], verb), AppTypeDetector.CheckDetectable).DataDir!;

        var worker = DataDir("worker", "--hostname", "127.0.0.4", "--port", "3001");
        Assert.Equal(Path.Combine(root, "tmp", "porter", "worker-127.0.0.4-3001"), worker);
        // Another port, another address, another role: each its own dir. The same node restarted: the same dir.
        Assert.NotEqual(worker, DataDir("worker", "--hostname", "127.0.0.4", "--port", "3002"));
        Assert.NotEqual(worker, DataDir("worker", "--hostname", "127.0.0.5", "--port", "3001"));
        Assert.NotEqual(worker, DataDir("gateway", "--hostname", "127.0.0.4", "--port", "3001"));
        Assert.Equal(worker, DataDir("worker", "--hostname", "127.0.0.4", "--port", "3001"));
        // An explicit --data-dir is used as given.
        Assert.Equal(Path.Combine(_dir, "mine"), DataDir("worker", "--data-dir", Path.Combine(_dir, "mine")));
    }

    [Fact]
    public void Gateways_and_workers_off_loopback_need_a_long_enough_cluster_secret_and_standalone_nodes_none()
    {
        var root = NodeApp("secret");
        PorterOptions LoadAs(string verb, params string[] flags) =>
            PorterOptionsLoader.Load(NodeCommandLine.Parse([root, .. flags], verb), AppTypeDetector.CheckDetectable);

        foreach (var verb in new[] { "gateway", "worker" })
        {
            Assert.Contains("need --cluster-secret (PORTER__CLUSTERSECRET)",
                Assert.Throws<UsageException>(() => LoadAs(verb, "--hostname", "10.0.0.5")).Message);
            Assert.Contains("at least 16 characters",
                Assert.Throws<UsageException>(() => LoadAs(verb, "--hostname", "10.0.0.5", "--cluster-secret", "short")).Message);
            Assert.Equal("a-long-enough-cluster-secret", LoadAs(verb, "--hostname", "10.0.0.5", "--cluster-secret", "a-long-enough-cluster-secret").ClusterSecret);
            // On loopback the nodes fall back to a built-in secret.
            Assert.Null(LoadAs(verb, "--hostname", "127.0.0.4").ClusterSecret);
        }
        // A standalone node forwards in process: no secret to need.
        Assert.Null(LoadAs("start", "--hostname", "10.0.0.5").ClusterSecret);
    }

    [Fact]
    public void Listeners_bind_the_nodes_own_address_unless_told_otherwise()
    {
        var root = NodeApp("shop");
        var own = Load(root, "--hostname", "127.0.0.9");
        Assert.Equal("127.0.0.9", own.HttpListenAddress);
        Assert.Equal("127.0.0.9", own.ManagementListenAddress);

        var told = Load(root, "--hostname", "127.0.0.9", "--address", "*", "--management-address", "*");
        Assert.Equal("*", told.HttpListenAddress);
        Assert.Equal("*", told.ManagementListenAddress);

        var error = Assert.Throws<UsageException>(() => Load(root, "--management-address", "pod"));
        Assert.Equal("--management-address 'pod' is not an IP address (or * for all)", error.Message);
    }

    [Fact]
    public void Flags_win_over_the_config_file()
    {
        NodeApp("a");
        var config = Config("""{ "Port": 4000, "Apps": [ { "Name": "a", "Root": "a", "MinInstances": 3 } ] }""");
        var options = Load("--config", config, "--port", "5000", "--min-instances", "2");
        Assert.Equal(5000, options.Port);
        Assert.Equal(2, Assert.Single(options.Apps).MinInstances);
    }

    [Fact]
    public void Config_apps_get_their_hosts_and_roots_relative_to_the_file()
    {
        NodeApp("a");
        NodeApp("b");
        var config = Config("""
            { "Apps": [ { "Name": "a", "Root": "a", "Hosts": ["A.example"] }, { "Name": "b", "Root": "b" } ] }
            """);
        var options = Load("--config", config);
        Assert.Equal(Path.Combine(_dir, "a"), options.Apps[0].Root);
        Assert.Equal(["a.example"], options.Apps[0].Hosts);
        Assert.Empty(options.Apps[1].Hosts);
        Assert.Equal(Path.Combine(_dir, "tmp", "porter", "standalone-127.0.0.1-3000"), options.DataDir);
    }

    [Fact]
    public void Environment_variables_bind_between_file_and_flags()
    {
        var root = NodeApp("env");
        Environment.SetEnvironmentVariable("PORTER__PORT", "4100");
        Environment.SetEnvironmentVariable("PORTER__APP__MININSTANCES", "2");
        try
        {
            var options = Load(root);
            Assert.Equal(4100, options.Port);
            Assert.Equal(2, options.Apps[0].MinInstances);
            Assert.Equal(4200, Load(root, "--port", "4200").Port);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PORTER__PORT", null);
            Environment.SetEnvironmentVariable("PORTER__APP__MININSTANCES", null);
        }
    }

    [Fact]
    public void Two_catch_all_apps_are_refused()
    {
        NodeApp("a");
        NodeApp("b");
        var config = Config("""{ "Apps": [ { "Root": "a" }, { "Root": "b" } ] }""");
        var e = Assert.Throws<UsageException>(() => Load("--config", config));
        Assert.Contains("both answer every host", e.Message);
    }

    [Fact]
    public void A_host_claimed_twice_is_refused()
    {
        NodeApp("a");
        NodeApp("b");
        var config = Config("""{ "Apps": [ { "Root": "a", "Hosts": ["x"] }, { "Root": "b", "Hosts": ["X"] } ] }""");
        Assert.Throws<UsageException>(() => Load("--config", config));
    }

    [Fact]
    public void Pool_options_have_passenger_defaults()
    {
        var options = Load(NodeApp("defaults"));
        var app = options.Apps[0];
        Assert.Equal(6, options.MaxPoolSize);
        Assert.Equal(0, app.MaxInstances);
        Assert.Equal(300, app.PoolIdleTime);
        Assert.Equal(0, app.MaxRequests);
        Assert.Equal(0, app.MaxMemory);
        Assert.Equal(10, app.StatThrottleRate);
        Assert.Equal(RestartMethod.Rolling, app.RestartMethod);
        Assert.False(app.StickySessions);
        Assert.Equal("_porter_route", app.StickySessionsCookieName);
        Assert.Null(app.Concurrency);
        Assert.Equal(5, options.CrashLoopCrashes);
        Assert.Equal(60, options.CrashLoopWindow);
    }

    [Fact]
    public void Every_pool_flag_sets_its_app_option()
    {
        var options = Load(NodeApp("flags"), "--min-instances", "2", "--max-instances", "4", "--max-pool-size", "8",
            "--pool-idle-time", "30", "--max-requests", "1000", "--max-memory", "512", "--concurrency", "3",
            "--max-request-queue-size", "7", "--max-request-queue-time", "2.5", "--stat-throttle-rate", "0",
            "--restart-method", "blocking", "--start-timeout", "20", "--sticky-sessions", "--sticky-sessions-cookie-name", "route",
            "--memory-check-interval", "1", "--crash-loop-crashes", "3", "--crash-loop-window", "30");
        var app = options.Apps[0];
        Assert.Equal((2, 4, 8), (app.MinInstances, app.MaxInstances, options.MaxPoolSize));
        Assert.Equal((30d, 1000, 512, 3), (app.PoolIdleTime, app.MaxRequests, app.MaxMemory, app.Concurrency!.Value));
        Assert.Equal((7, 2.5, 0d, 20d), (app.MaxRequestQueueSize, app.MaxRequestQueueTime, app.StatThrottleRate, app.StartTimeout));
        Assert.Equal(RestartMethod.Blocking, app.RestartMethod);
        Assert.True(app.StickySessions);
        Assert.Equal("route", app.StickySessionsCookieName);
        Assert.Equal((1d, 3, 30d), (options.MemoryCheckInterval, options.CrashLoopCrashes, options.CrashLoopWindow));
    }

    [Fact]
    public void Pool_options_are_per_app_keys_in_the_config_file()
    {
        NodeApp("a");
        NodeApp("b");
        var config = Config("""
            { "MaxPoolSize": 10, "Apps": [
                { "Name": "a", "Root": "a", "Hosts": ["a"], "MaxInstances": 3, "MaxRequests": 50, "RestartMethod": "blocking",
                  "StickySessions": true, "PoolIdleTime": 5 },
                { "Name": "b", "Root": "b", "MaxMemory": 256 } ] }
            """);
        var options = Load("--config", config);
        Assert.Equal(10, options.MaxPoolSize);
        Assert.Equal((3, 50, RestartMethod.Blocking, true, 5d),
            (options.Apps[0].MaxInstances, options.Apps[0].MaxRequests, options.Apps[0].RestartMethod, options.Apps[0].StickySessions,
                options.Apps[0].PoolIdleTime));
        Assert.Equal((0, 256, RestartMethod.Rolling), (options.Apps[1].MaxInstances, options.Apps[1].MaxMemory, options.Apps[1].RestartMethod));
    }

    [Theory]
    [InlineData("--min-instances 3 --max-instances 2", "--min-instances (3) is larger than --max-instances (2)")]
    [InlineData("--min-instances -1", "--min-instances must not be negative")]
    [InlineData("--max-instances -2", "--max-instances must not be negative")]
    [InlineData("--pool-idle-time -1", "--pool-idle-time must not be negative")]
    [InlineData("--max-requests -5", "--max-requests must not be negative")]
    [InlineData("--max-memory -1", "--max-memory must not be negative")]
    [InlineData("--max-request-queue-size -1", "--max-request-queue-size must not be negative")]
    [InlineData("--max-request-queue-time -1", "--max-request-queue-time must not be negative")]
    [InlineData("--stat-throttle-rate -1", "--stat-throttle-rate must not be negative")]
    [InlineData("--restart-method sideways", "expected one of: rolling, blocking")]
    [InlineData("--restart-method 7", "--restart-method must be rolling or blocking")]
    [InlineData("--sticky-sessions-cookie-name a;b", "is not a valid cookie name")]
    [InlineData("--max-pool-size -1", "--max-pool-size must be at least 1")]
    [InlineData("--crash-loop-crashes 0", "--crash-loop-crashes must be at least 1")]
    [InlineData("--memory-check-interval 0", "--memory-check-interval must be positive")]
    [InlineData("--max-requests many", "invalid command line")]
    [InlineData("--oob-work-every -1", "--oob-work-every must not be negative")]
    [InlineData("--oob-max-concurrent 0", "Oob MaxConcurrent must be at least 1")]
    [InlineData("--oob-work-timeout 00:05:00", "must be shorter than LeaseTime")]
    [InlineData("--oob-scope node", "expected one of: cluster, app")]
    [InlineData("--oob-token-wait-timeout 0", "Oob TokenWaitTimeout must be a positive number of seconds")]
    [InlineData("--oob-work-timeout 00:01:55 --shutdown-grace 10", "must be longer than --oob-work-timeout")]
    public void Invalid_pool_options_are_refused_with_one_clear_line(string flags, string expected)
    {
        var root = NodeApp("pool");
        var e = Assert.Throws<UsageException>(() => Load([root, .. flags.Split(' ')]));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Oob_flags_bind_the_app_counter_and_the_coordinator_settings()
    {
        var root = NodeApp("oob");
        var options = Load(root, "--oob-work-every", "50", "--oob-max-concurrent", "2", "--oob-scope", "app",
            "--oob-work-timeout", "00:00:30", "--oob-lease-time", "00:01:00", "--oob-token-wait-timeout", "2.5");
        Assert.Equal(50, Assert.Single(options.Apps).OobWorkEvery);
        Assert.Equal((2, OobScope.App, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), 2.5),
            (options.Oob.MaxConcurrent, options.Oob.Scope, options.Oob.WorkTimeout, options.Oob.LeaseTime, options.Oob.TokenWaitTimeout));
    }

    [Theory]
    [InlineData("--port", "70000")]
    [InlineData("--max-pool-size", "0")]
    [InlineData("--min-instances", "7")]
    [InlineData("--start-timeout", "0")]
    [InlineData("--concurrency", "-1")]
    [InlineData("--address", "not-an-ip")]
    [InlineData("--app-type", "cobol")]
    public void Invalid_values_are_refused(string flag, string value)
    {
        var root = NodeApp("bad");
        Assert.Throws<UsageException>(() => Load(root, flag, value));
    }

    [Fact]
    public void Procfile_web_line_makes_a_command_app()
    {
        var root = Path.Combine(_dir, "proc");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "Procfile"), "worker: x\nweb: ./server --port $PORT\n");
        var options = Load(root);
        Assert.Equal(AppType.Command, Workers.Spawning.AppTypeDetector.Detect(options.Apps[0]));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentVariableCollection
{
    public const string Name = "environment variables";
}
