using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Hosting.Cli;
using Porter.Hosting.ConsoleLog;
using Porter.Hosting.Options;

namespace Porter.Hosting.Tests.ConsoleLog;

/// <summary>The console's levels and format as flags and the <c>Logging</c> section set them, and the one-line errors for bad ones.</summary>
public sealed class NodeLoggingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-logging-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private PorterOptions Load(string json, params string[] flags)
    {
        var file = Path.Combine(_dir, "porter.json");
        File.WriteAllText(file, json);
        return PorterOptionsLoader.Load(NodeCommandLine.Parse(["--config", file, .. flags], "worker"), checkApp: null);
    }

    [Fact]
    public void By_default_porter_logs_information_and_akka_only_warnings_in_plain_lines()
    {
        var options = Load("{}");
        Assert.Equal(LogLevel.Information, NodeLogging.DefaultLevel(options.Logging));
        Assert.Equal(LogLevel.Warning, NodeLogging.AkkaLevel(options.Logging));
        Assert.Equal(Akka.Event.LogLevel.WarningLevel, NodeLogging.AkkaEventLevel(options.Logging));
        Assert.Equal(LoggingOptions.SimpleFormat, options.Logging.Format);
    }

    [Fact]
    public void Log_level_flag_sets_porters_level_and_akka_follows_only_when_quieter()
    {
        var debug = Load("{}", "--log-level", "Debug");
        Assert.Equal(LogLevel.Debug, NodeLogging.DefaultLevel(debug.Logging));
        Assert.Equal(LogLevel.Warning, NodeLogging.AkkaLevel(debug.Logging));

        var error = Load("{}", "--log-level", "error");
        Assert.Equal(LogLevel.Error, NodeLogging.AkkaLevel(error.Logging));
        Assert.Equal(Akka.Event.LogLevel.ErrorLevel, NodeLogging.AkkaEventLevel(error.Logging));
    }

    [Fact]
    public void Logging_section_sets_akkas_level_and_the_format()
    {
        var options = Load("""{ "Logging": { "LogLevel": { "Akka": "information", "Porter.Workers": "warning" }, "Format": "JSON" } }""");
        Assert.Equal(LogLevel.Information, NodeLogging.AkkaLevel(options.Logging));
        Assert.Equal(Akka.Event.LogLevel.InfoLevel, NodeLogging.AkkaEventLevel(options.Logging));
        Assert.Equal(LoggingOptions.JsonFormat, options.Logging.Format);
    }

    [Fact]
    public void The_flag_wins_over_the_config_file()
    {
        var options = Load("""{ "Logging": { "LogLevel": { "Default": "warning" }, "Format": "json" } }""", "--log-level", "trace", "--log-format", "simple");
        Assert.Equal(LogLevel.Trace, NodeLogging.DefaultLevel(options.Logging));
        Assert.Equal(LoggingOptions.SimpleFormat, options.Logging.Format);
    }

    [Theory]
    [InlineData("{}", new[] { "--log-level", "loud" }, "--log-level must be trace, debug, information, warning, error, critical or none, not 'loud'")]
    [InlineData("{}", new[] { "--log-format", "xml" }, "--log-format must be simple or json, not 'xml'")]
    [InlineData("""{ "Logging": { "LogLevel": { "Akka": "chatty" } } }""", new string[0], "Logging:LogLevel:Akka must be trace, debug, information, warning, error, critical or none, not 'chatty'")]
    public void Bad_settings_are_one_line_errors_naming_the_setting(string json, string[] flags, string message)
    {
        var error = Assert.Throws<UsageException>(() => Load(json, flags));
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData(" Info ", LogLevel.Information)]
    [InlineData("NONE", LogLevel.None)]
    [InlineData("verbose", null)]
    [InlineData(null, null)]
    public void Level_names_are_read_case_blind(string? text, LogLevel? level) => Assert.Equal(level, NodeLogging.ParseLevel(text));
}
