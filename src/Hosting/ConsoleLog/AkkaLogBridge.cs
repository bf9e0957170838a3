using System.Collections;
using Akka.Actor;
using Akka.DependencyInjection;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Porter.Hosting.ConsoleLog;

/// <summary>
/// Akka.NET's logger, writing each event to the node's <see cref="ILoggerFactory"/> under the class that logged it
/// (<c>Akka.Cluster.ClusterCoreDaemon</c>, ...) with just its message. Akka.Hosting's own logger prefixes every line with
/// Akka's level, timestamp, thread and source, so each line carried two timestamps; the console formatter already
/// writes one, and the source stays a field of the entry (<c>LogSource</c> in JSON lines).
/// </summary>
public sealed class AkkaLogBridge : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory _factory;
    private readonly Dictionary<Type, ILogger> _loggers = new();

    public AkkaLogBridge() => _factory = DependencyResolver.For(Context.System).Resolver.GetService<ILoggerFactory>();

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent logEvent:
                Write(logEvent);
                return true;
            default:
                return false;
        }
    }

    private void Write(LogEvent logEvent)
    {
        var type = logEvent.LogClass ?? typeof(ActorSystem);
        if (!_loggers.TryGetValue(type, out var logger)) _loggers[type] = logger = _factory.CreateLogger(type.FullName ?? "Akka");
        var level = Level(logEvent.LogLevel());
        if (!logger.IsEnabled(level)) return;
        logger.Log(level, default, new Entry(MessageOf(logEvent), logEvent.LogSource), logEvent.Cause, static (entry, _) => entry.Message);
    }

    /// <summary>The event's message as text: a semantic template filled in, or the object's own text.</summary>
    public static string MessageOf(LogEvent logEvent)
    {
        try
        {
            return logEvent.Message?.ToString() ?? "";
        }
        catch (Exception e)
        {
            // A bad template or a throwing ToString must not take the logger down.
            return $"(unprintable Akka log message: {e.Message})";
        }
    }

    private static MsLogLevel Level(Akka.Event.LogLevel level) => level switch
    {
        Akka.Event.LogLevel.DebugLevel => MsLogLevel.Debug,
        Akka.Event.LogLevel.InfoLevel => MsLogLevel.Information,
        Akka.Event.LogLevel.WarningLevel => MsLogLevel.Warning,
        _ => MsLogLevel.Error,
    };

    /// <summary>The entry's fields as the console formatters read them: the message and where in Akka it came from.</summary>
    private sealed class Entry(string message, string? source) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message { get; } = message;

        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("Message", Message),
            1 => new("LogSource", source),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++) yield return this[i];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}
