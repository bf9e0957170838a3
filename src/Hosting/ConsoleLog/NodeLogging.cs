using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;

namespace Porter.Hosting.ConsoleLog;

/// <summary>
/// The node's console log: one provider (plain lines with Porter's timestamp, or JSON lines), Porter's own categories at
/// <c>Logging:LogLevel:Default</c> (--log-level), Akka.NET's at Warning unless <c>Logging:LogLevel:Akka</c> says otherwise, and the
/// framework categories that only repeat what Porter says better kept quiet. Every other <c>Logging:LogLevel</c> key is a
/// category prefix with its own level, as in ASP.NET's own configuration.
/// </summary>
public static class NodeLogging
{
    /// <summary>The timestamp of plain lines (local time, as a terminal reads it).</summary>
    public const string TimestampFormat = "HH:mm:ss.fff ";

    /// <summary>JSON lines carry a full UTC timestamp: shippers join lines of many nodes and days.</summary>
    public const string JsonTimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";

    private static readonly Dictionary<string, LogLevel> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["trace"] = LogLevel.Trace,
        ["debug"] = LogLevel.Debug,
        ["information"] = LogLevel.Information,
        ["info"] = LogLevel.Information,
        ["warning"] = LogLevel.Warning,
        ["warn"] = LogLevel.Warning,
        ["error"] = LogLevel.Error,
        ["critical"] = LogLevel.Critical,
        ["none"] = LogLevel.None,
    };

    /// <summary>The level names --log-level and <c>Logging:LogLevel</c> take, for error messages.</summary>
    public const string LevelNames = "trace, debug, information, warning, error, critical or none";

    /// <summary>Reads a level name (case ignored; info and warn are accepted too); null when it is none of them.</summary>
    public static LogLevel? ParseLevel(string? text) =>
        text is not null && Names.TryGetValue(text.Trim(), out var level) ? level : null;

    /// <summary>What is wrong with the settings (one line, naming the setting), or null when they are fine.</summary>
    public static string? Problem(LoggingOptions options)
    {
        foreach (var (category, level) in options.LogLevel)
        {
            if (ParseLevel(level) is not null) continue;
            return category.Equals(LoggingOptions.DefaultCategory, StringComparison.OrdinalIgnoreCase)
                ? $"--log-level must be {LevelNames}, not '{level}'"
                : $"Logging:LogLevel:{category} must be {LevelNames}, not '{level}'";
        }
        return options.Format is LoggingOptions.SimpleFormat or LoggingOptions.JsonFormat
            ? null
            : $"--log-format must be {LoggingOptions.SimpleFormat} or {LoggingOptions.JsonFormat}, not '{options.Format}'";
    }

    /// <summary>Porter's own level (--log-level), Information unless set.</summary>
    public static LogLevel DefaultLevel(LoggingOptions options) => Level(options, LoggingOptions.DefaultCategory) ?? LogLevel.Information;

    /// <summary>Akka.NET's level: its own setting, else Warning, or quieter when Porter's own level is quieter still.</summary>
    public static LogLevel AkkaLevel(LoggingOptions options) =>
        Level(options, LoggingOptions.AkkaCategory) ?? (LogLevel)Math.Max((int)LogLevel.Warning, (int)DefaultLevel(options));

    /// <summary>The same level as Akka.NET's own setting, so events nobody prints are not even built.</summary>
    public static Akka.Event.LogLevel AkkaEventLevel(LoggingOptions options) => AkkaLevel(options) switch
    {
        LogLevel.Trace or LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
        LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
        LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
        _ => Akka.Event.LogLevel.ErrorLevel,
    };

    /// <summary>Replaces the builder's providers and filters with the node's console log.</summary>
    public static ILoggingBuilder AddPorterConsole(this ILoggingBuilder logging, LoggingOptions options)
    {
        logging.ClearProviders();
        if (options.Format == LoggingOptions.JsonFormat)
        {
            logging.AddJsonConsole(json =>
            {
                json.TimestampFormat = JsonTimestampFormat;
                json.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(simple =>
            {
                simple.SingleLine = true;
                simple.TimestampFormat = TimestampFormat;
            });
        }
        logging.SetMinimumLevel(DefaultLevel(options));
        logging.AddFilter(LoggingOptions.AkkaCategory, AkkaLevel(options));
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The start-up banner says where the node listens; the host's own lines ("Now listening on", "Content root") repeat it worse.
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // Off entirely: while this category is enabled at any level, ASP.NET starts an Activity for every request.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // Health routes log changes of status themselves (HealthTransitions), not every unhealthy probe.
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        // The dispatcher and the worker forwarder log forwarding failures themselves, in one line with app and target.
        logging.AddFilter("Yarp", LogLevel.Error);
        // The operator's own categories last: among rules for one category the last one wins.
        foreach (var (category, level) in options.LogLevel)
        {
            if (category.Equals(LoggingOptions.DefaultCategory, StringComparison.OrdinalIgnoreCase)
                || category.Equals(LoggingOptions.AkkaCategory, StringComparison.OrdinalIgnoreCase)) continue;
            logging.AddFilter(category, ParseLevel(level) ?? LogLevel.Information);
        }
        return logging;
    }

    private static LogLevel? Level(LoggingOptions options, string category) =>
        options.LogLevel.TryGetValue(category, out var text) ? ParseLevel(text) : null;

    /// <summary>The level's name as --log-level takes it (information, warning, ...).</summary>
    public static string Name(LogLevel level) => level.ToString().ToLowerInvariant();
}
