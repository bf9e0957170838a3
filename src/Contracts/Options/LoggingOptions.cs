namespace Porter.Contracts.Options;

/// <summary>
/// The node's console log: minimum levels by category, in the shape of Microsoft.Extensions.Logging's <c>Logging:LogLevel</c>
/// section (<c>Default</c> is Porter's own, set by --log-level; <c>Akka</c> is Akka.NET's, Warning unless set), and the line format.
/// </summary>
public sealed class LoggingOptions
{
    /// <summary>The key of the level every category without its own gets (--log-level).</summary>
    public const string DefaultCategory = "Default";

    /// <summary>The key of Akka.NET's own log lines (remoting, cluster, sharding, singletons).</summary>
    public const string AkkaCategory = "Akka";

    /// <summary>One line per entry, Porter's timestamp first.</summary>
    public const string SimpleFormat = "simple";

    /// <summary>One JSON object per line (timestamp, level, category, message and its structured fields), for log shippers.</summary>
    public const string JsonFormat = "json";

    /// <summary>Minimum level by category prefix: trace, debug, information, warning, error, critical or none.</summary>
    public Dictionary<string, string> LogLevel { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary><see cref="SimpleFormat"/> (default) or <see cref="JsonFormat"/> (--log-format).</summary>
    public string Format { get; set; } = SimpleFormat;
}
