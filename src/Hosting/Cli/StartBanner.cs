using System.Globalization;
using System.Text;
using Porter.Contracts.Options;
using Porter.Hosting.Discovery;
using Porter.Hosting.ConsoleLog;

namespace Porter.Hosting.Cli;

/// <summary>
/// The lines a node prints once it listens, as Passenger Standalone's banner: what it serves, where (the public URL, not the
/// management port), in which environment, where its management API and dashboard are, its data dir, log level, and how
/// to stop it.
/// </summary>
public static class StartBanner
{
    /// <summary>What was bound: the public (or a worker's internal) listener and the management one, or null when off.</summary>
    public sealed record Listeners(IReadOnlyList<string> Public, string? Management);

    /// <summary>Sorts the server's bound addresses into the public and the management listener (by the management port).</summary>
    public static Listeners Sort(IEnumerable<string> urls, PorterOptions options)
    {
        var all = urls.Select(u => u.TrimEnd('/') + "/").ToList();
        if (options.Management.Port < 0) return new Listeners(all, null);
        bool IsManagement(string url) => options.Management.Port > 0
            ? new Uri(url).Port == options.Management.Port
            : options.Port > 0 && new Uri(url).Port != options.Port;
        var management = all.FirstOrDefault(IsManagement);
        return new Listeners(all.Where(u => u != management).ToList(), management);
    }

    /// <summary>The node kind's name for the banner: <c>start</c> is a standalone node.</summary>
    public static string Kind(string verb) => verb == "start" ? "standalone" : verb;

    public static string Text(string verb, PorterOptions options, Listeners listeners, int pid)
    {
        var kind = Kind(verb);
        var lines = new List<(string Label, string Value)>();
        var apps = options.Apps;
        if (apps.Count == 1 && apps[0].Hosts.Count == 0)
            lines.Add(("App", verb == "gateway" ? apps[0].Name : $"{apps[0].Name}, in {apps[0].Root}"));
        else
            lines.Add(("Apps", string.Join(", ", apps.Select(a => a.Hosts.Count == 0 ? $"{a.Name} (every other host)" : $"{a.Name} ({string.Join(", ", a.Hosts)})"))));
        var urls = listeners.Public.Count == 0 ? "-" : string.Join(", ", listeners.Public);
        lines.Add(verb == "worker" ? ("Serves gateways", $"{urls} (internal: the cluster's gateways forward here)") : ("Accessible via", urls));
        lines.Add(("Environment", options.Environment));
        lines.Add(("Management", listeners.Management is { } m
            ? $"{m} (dashboard: {m}dashboard; porter status --url {m.TrimEnd('/')})"
            : "off (--management-port -1)"));
        lines.Add(("Data dir", options.DataDir ?? "-"));
        lines.Add(("Log level", $"{NodeLogging.Name(NodeLogging.DefaultLevel(options.Logging))}, Akka.NET {NodeLogging.Name(NodeLogging.AkkaLevel(options.Logging))} (--log-level, Logging:LogLevel)"));
        lines.Add(("Cluster", Cluster(options)));
        lines.Add(("PID", pid.ToString(CultureInfo.InvariantCulture)));

        var title = $" Porter {kind} node started ";
        var width = Math.Max(72, title.Length + 10);
        var text = new StringBuilder();
        var side = (width - title.Length) / 2;
        text.Append('=', side).Append(title).Append('=', width - side - title.Length).AppendLine();
        var labelWidth = lines.Max(l => l.Label.Length) + 2;
        foreach (var (label, value) in lines) text.Append((label + ":").PadRight(labelWidth)).AppendLine(value);
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Stop Porter by pressing Ctrl-C, or with SIGTERM (kill {pid}): in-flight requests finish first.");
        text.Append('=', width).AppendLine();
        return text.ToString();
    }

    private static string Cluster(PorterOptions options)
    {
        if (options.SeedNodes.Count > 0) return $"joins through {string.Join(", ", options.SeedNodes)}";
        if (BootstrapHosting.UsesBootstrap(options)) return $"Cluster Bootstrap (discovery {options.Discovery.Method})";
        return "a cluster of its own (no --seed-nodes)";
    }
}
