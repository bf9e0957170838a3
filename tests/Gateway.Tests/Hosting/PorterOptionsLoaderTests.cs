using Porter.Contracts.Options;
using Porter.Gateway.Cli;
using Porter.Gateway.Hosting;

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

    private static PorterOptions Load(params string[] args) => PorterOptionsLoader.Load(StartCommandLine.Parse(args));

    [Fact]
    public void Command_line_app_answers_every_host_with_defaults()
    {
        var root = NodeApp("shop");
        var options = Load(root);
        var app = Assert.Single(options.Apps);
        Assert.Equal("shop", app.Name);
        Assert.Empty(app.Hosts);
        Assert.Equal(3000, options.Port);
        Assert.Equal("127.0.0.1", options.Address);
        Assert.Equal("production", options.Environment);
        Assert.Equal(1, app.MinInstances);
        Assert.Equal(Path.Combine(root, "tmp", "porter"), options.DataDir);
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
        Assert.Equal(Path.Combine(_dir, "tmp", "porter"), options.DataDir);
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
