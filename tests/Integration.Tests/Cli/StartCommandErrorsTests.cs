using System.Net;
using System.Net.Sockets;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Cli;

/// <summary>Bad command lines and configuration end with one clear line on stderr and a non-zero exit code.</summary>
public sealed class StartCommandErrorsTests
{
    private static void AssertOneLineError(PorterCommand.Result result, int exitCode, string expected)
    {
        Assert.Equal(exitCode, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("porter: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public async Task Missing_app_dir_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("start", "/nonexistent/porter-app");
        AssertOneLineError(result, 2, "does not exist");
    }

    [Fact]
    public async Task Undetectable_app_type_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("start", Repo.TempDir("empty-app"));
        AssertOneLineError(result, 2, "cannot tell how to start the app");
    }

    [Fact]
    public async Task Malformed_config_file_is_a_usage_error()
    {
        var dir = Repo.TempDir("bad-config");
        var config = Path.Combine(dir, "porter.json");
        await File.WriteAllTextAsync(config, "{ \"Port\": 3000, ");
        var result = await PorterCommand.RunAsync("start", "--config", config);
        AssertOneLineError(result, 2, "is not valid JSON");
    }

    [Fact]
    public async Task Unknown_key_in_config_file_is_a_usage_error()
    {
        var dir = Repo.TempDir("typo-config");
        var config = Path.Combine(dir, "porter.json");
        await File.WriteAllTextAsync(config, "{ \"Prot\": 3000 }");
        var result = await PorterCommand.RunAsync("start", "--config", config);
        AssertOneLineError(result, 2, "Prot");
    }

    [Fact]
    public async Task Unknown_option_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("start", Repo.TestApp, "--no-such-flag");
        AssertOneLineError(result, 2, "unknown option '--no-such-flag'");
    }

    [Fact]
    public async Task Option_without_value_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("start", Repo.TestApp, "--port");
        AssertOneLineError(result, 2, "needs a value");
    }

    [Fact]
    public async Task Non_numeric_port_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("start", Repo.TestApp, "--port", "eighty");
        AssertOneLineError(result, 2, "Port");
    }

    [Fact]
    public async Task Negative_min_instances_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("start", Repo.TestApp, "--min-instances", "-1");
        AssertOneLineError(result, 2, "--min-instances must not be negative");
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error()
    {
        var result = await PorterCommand.RunAsync("launch");
        AssertOneLineError(result, 2, "unknown command 'launch'");
    }

    [Fact]
    public async Task Port_in_use_fails_with_one_line()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var result = await PorterCommand.RunAsync("start", Repo.TestApp, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--data-dir", Repo.TempDir("port-in-use"));
        AssertOneLineError(result, 1, "already in use");
    }

    [Theory]
    [InlineData("missing-certificate", "cannot read the TLS certificate")]
    [InlineData("missing-key", "cannot read the TLS certificate key")]
    [InlineData("key-of-another-certificate", "does not belong to the certificate")]
    [InlineData("not-pem", "holds no PEM CERTIFICATE")]
    [InlineData("certificate-as-key", "holds no unencrypted PEM private key")]
    [InlineData("no-key-flag", "needs both --ssl-certificate and --ssl-certificate-key")]
    public async Task An_unusable_tls_certificate_or_key_is_a_usage_error(string problem, string expected)
    {
        var dir = Repo.TempDir("tls-errors");
        var (certificate, key) = TestCertificate.Create().WriteTo(dir);
        string[] tls = problem switch
        {
            "missing-certificate" => ["--ssl-certificate", Path.Combine(dir, "none.pem"), "--ssl-certificate-key", key],
            "missing-key" => ["--ssl-certificate", certificate, "--ssl-certificate-key", Path.Combine(dir, "none.pem")],
            "key-of-another-certificate" => ["--ssl-certificate", certificate, "--ssl-certificate-key", Other(TestCertificate.Create().KeyPem)],
            "not-pem" => ["--ssl-certificate", Other("hello"), "--ssl-certificate-key", key],
            "certificate-as-key" => ["--ssl-certificate", certificate, "--ssl-certificate-key", certificate],
            _ => ["--ssl", "--ssl-certificate", certificate],
        };
        var result = await PorterCommand.RunAsync(["start", Repo.TestApp, "--data-dir", Repo.TempDir("tls-errors-data"), .. tls]);
        AssertOneLineError(result, 2, expected);

        string Other(string text)
        {
            var file = Path.Combine(dir, $"other-{Guid.NewGuid():N}.pem");
            File.WriteAllText(file, text);
            return file;
        }
    }

    [Fact]
    public async Task Help_lists_the_options_and_exits_zero()
    {
        var result = await PorterCommand.RunAsync("start", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var flag in new[] { "--port", "--address", "--app-start-command", "--app-type", "--startup-file", "--environment",
                     "--min-instances", "--max-pool-size", "--vary-turbocache-by-cookie", "--disable-turbocaching", "--config" })
            Assert.Contains(flag, result.Stdout);
    }
}
