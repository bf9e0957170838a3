using Porter.Hosting.Cli;

namespace Porter.Hosting.Tests.Cli;

public sealed class NodeCommandLineTests
{
    [Fact]
    public void Takes_app_dir_and_flags_in_any_order()
    {
        var cmd = NodeCommandLine.Parse(["--port", "4000", "examples/hello-node", "--min-instances=2"]);
        Assert.Equal("examples/hello-node", cmd.AppDir);
        Assert.Equal("4000", cmd.NodeValues["Port"]);
        Assert.Equal("2", cmd.AppValues["MinInstances"]);
    }

    [Fact]
    public void Switch_needs_no_value()
    {
        var cmd = NodeCommandLine.Parse(["--disable-turbocaching", "--port", "1"]);
        Assert.Equal("true", cmd.AppValues["DisableTurbocaching"]);
        Assert.Equal("1", cmd.NodeValues["Port"]);
    }

    [Fact]
    public void Environment_applies_to_node_and_apps()
    {
        var cmd = NodeCommandLine.Parse(["--environment", "development"]);
        Assert.Equal("development", cmd.NodeValues["Environment"]);
        Assert.Equal("development", cmd.AppValues["Environment"]);
    }

    [Fact]
    public void Trusted_proxies_become_a_list()
    {
        var cmd = NodeCommandLine.Parse(["--trusted-proxies", "10.0.0.1, 127.0.0.1"]);
        Assert.Equal("10.0.0.1", cmd.NodeValues["TrustedProxies:0"]);
        Assert.Equal("127.0.0.1", cmd.NodeValues["TrustedProxies:1"]);
    }

    [Fact]
    public void Start_command_keeps_spaces()
    {
        var cmd = NodeCommandLine.Parse(["--app-start-command", "dotnet bin/app.dll --flag"]);
        Assert.Equal("dotnet bin/app.dll --flag", cmd.AppValues["AppStartCommand"]);
    }

    [Theory]
    [InlineData("--nope")]
    [InlineData("--port")]
    [InlineData("--port", "--min-instances", "1")]
    public void Refuses_unknown_or_incomplete_flags(params string[] args) =>
        Assert.Throws<UsageException>(() => NodeCommandLine.Parse(args));

    [Fact]
    public void Refuses_two_app_dirs() =>
        Assert.Throws<UsageException>(() => NodeCommandLine.Parse(["a", "b"]));
}
