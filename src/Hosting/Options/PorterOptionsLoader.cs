using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Porter.Contracts.Options;
using Porter.Hosting.Cli;

namespace Porter.Hosting.Options;

/// <summary>
/// Builds the node's options in layers: defaults, then the JSON config file, then PORTER__ environment
/// variables, then command-line flags. Anything invalid becomes a one-line <see cref="UsageException"/>.
/// </summary>
public static class PorterOptionsLoader
{
    public const string EnvironmentPrefix = "PORTER__";

    /// <param name="checkApp">
    /// Checks an app this node will run (the worker's type detection), throwing <see cref="UsageException"/>;
    /// null on nodes that only route to apps, whose folders need not exist there.
    /// </param>
    public static PorterOptions Load(NodeCommandLine commandLine, Action<AppOptions>? checkApp)
    {
        var role = commandLine.Verb == "start" ? "standalone" : commandLine.Verb;
        var builder = new ConfigurationBuilder();
        string? configDir = null;
        if (commandLine.ConfigFile is { } file)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path)) throw new UsageException($"config file '{file}' does not exist");
            configDir = Path.GetDirectoryName(path);
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(commandLine.NodeValues);

        IConfigurationRoot config;
        try
        {
            config = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new UsageException($"config file '{commandLine.ConfigFile}' is not valid JSON: {FirstLine(e)}");
        }

        var options = Bind<PorterOptions>(config, new PorterOptions(), "configuration");
        var baseDir = configDir ?? Directory.GetCurrentDirectory();
        if (commandLine.AppDir is not null || options.Apps.Count == 0)
        {
            var app = options.App ?? new AppOptions();
            app.Root = commandLine.AppDir ?? (string.IsNullOrEmpty(app.Root) ? "." : app.Root);
            // One app from the command line answers every host.
            app.Hosts.Clear();
            options.Apps = [app];
            baseDir = Directory.GetCurrentDirectory();
        }
        options.App = null;

        var overrides = new ConfigurationBuilder().AddInMemoryCollection(commandLine.AppValues).Build();
        foreach (var app in options.Apps)
        {
            Bind(overrides, app, "command line");
            app.Root = Path.GetFullPath(Path.Combine(baseDir, app.Root));
        }
        Validate(options, baseDir, checkApp, role);
        return options;
    }

    private static T Bind<T>(IConfiguration config, T target, string source)
    {
        try
        {
            config.Bind(target, o => o.ErrorOnUnknownConfiguration = true);
            return target;
        }
        catch (InvalidOperationException e)
        {
            // The binder's own message names the key and the value ("...value 'x' at 'Port' to type...").
            var message = e.Message.Split('\n')[0].Trim();
            throw new UsageException($"invalid {source}: {message}{EnumChoices(message)}");
        }
    }

    private static void Validate(PorterOptions options, string baseDir, Action<AppOptions>? checkApp, string role)
    {
        Require(options.Port is >= 0 and <= 65535, $"--port must be between 1 and 65535, not {options.Port}");
        // First: the listener addresses default to it.
        Require(IPAddress.TryParse(options.Hostname, out _) || options.Hostname == "localhost",
            $"--hostname '{options.Hostname}' is not an IP address");
        Require(IsListenAddress(options.HttpListenAddress), $"--address '{options.HttpListenAddress}' is not an IP address (or * for all)");
        Require(IsListenAddress(options.ManagementListenAddress), $"--management-address '{options.ManagementListenAddress}' is not an IP address (or * for all)");
        Require(options.MaxPoolSize >= 1, $"--max-pool-size must be at least 1, not {options.MaxPoolSize}");
        Require(options.RequestWaitTimeout > 0, "--request-wait-timeout must be positive");
        Require(options.ShutdownGrace >= 0, "--shutdown-grace must not be negative");
        Require(options.MaxRequestBodySize >= 0, "--max-request-body-size must not be negative");
        Require(options.RemotingPort is >= 0 and <= 65535, $"--remoting-port must be between 0 and 65535, not {options.RemotingPort}");
        foreach (var seed in options.SeedNodes)
            Require(Uri.TryCreate(seed, UriKind.Absolute, out var seedUri) && seedUri.Scheme == "akka.tcp" && seedUri.UserInfo == NodeHost.ActorSystemName,
                $"--seed-nodes entry '{seed}' is not akka.tcp://{NodeHost.ActorSystemName}@host:port");
        Require(options.Downing is "keep-majority" or "keep-oldest" or "off",
            $"--downing must be keep-majority, keep-oldest or off, not '{options.Downing}'");
        Require(options.DowningStableAfter > 0, "--downing-stable-after must be positive");
        Require(options.Management.Port is >= -1 and <= 65535, $"--management-port must be between 0 and 65535 (or -1 for off), not {options.Management.Port}");
        Require(options.Management.Port <= 0 || options.Management.Port != options.Port,
            "--management-port must differ from --port: the management API never shares the public port");
        ValidateEdge(options, role);
        ValidatePersistence(options.Persistence);
        ValidateDiscovery(options.Discovery);
        Require(options.Discovery.Method == DiscoveryMethods.None || options.SeedNodes.Count > 0 || options.Management.Port > 0,
            $"Discovery:Method {options.Discovery.Method} needs a fixed --management-port: other nodes probe it for seed nodes");
        if (options.Turbocache.Validate() is [var cacheError, ..]) throw new UsageException(cacheError);
        if (options.Oob.Validate() is [var oobError, ..]) throw new UsageException(oobError);
        // A granted process may drain for up to the grace before its work starts, and holds its token meanwhile.
        Require(options.Oob.WorkTimeout + TimeSpan.FromSeconds(options.ShutdownGrace) < options.Oob.LeaseTime,
            $"--oob-lease-time ({options.Oob.LeaseTime}) must be longer than --oob-work-timeout ({options.Oob.WorkTimeout}) plus --shutdown-grace ({options.ShutdownGrace} s): a process holds its token while it drains");
        options.Logging.Format = (options.Logging.Format ?? "").Trim().ToLowerInvariant();
        if (ConsoleLog.NodeLogging.Problem(options.Logging) is { } loggingProblem) throw new UsageException(loggingProblem);
        Require(options.MemoryCheckInterval > 0, "--memory-check-interval must be positive");
        Require(options.CrashLoopCrashes >= 1, $"--crash-loop-crashes must be at least 1, not {options.CrashLoopCrashes}");
        Require(options.CrashLoopWindow > 0, "--crash-loop-window must be positive");
        foreach (var proxy in options.TrustedProxies)
            Require(IPAddress.TryParse(proxy, out _), $"--trusted-proxies entry '{proxy}' is not an IP address");

        var names = new HashSet<string>(StringComparer.Ordinal);
        var hosts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? catchAll = null;
        foreach (var app in options.Apps)
        {
            Require(checkApp is null || Directory.Exists(app.Root), $"app directory '{app.Root}' does not exist");
            if (string.IsNullOrWhiteSpace(app.Name)) app.Name = Path.GetFileName(app.Root.TrimEnd('/'));
            Require(names.Add(app.Name), $"two apps are named '{app.Name}'");
            Require(app.MinInstances >= 0, $"{app.Name}: --min-instances must not be negative");
            Require(app.MinInstances <= options.MaxPoolSize,
                $"{app.Name}: --min-instances ({app.MinInstances}) is larger than --max-pool-size ({options.MaxPoolSize})");
            Require(app.MaxInstances >= 0, $"{app.Name}: --max-instances must not be negative");
            Require(app.MaxInstances == 0 || app.MinInstances <= app.MaxInstances,
                $"{app.Name}: --min-instances ({app.MinInstances}) is larger than --max-instances ({app.MaxInstances})");
            Require(app.PoolIdleTime >= 0, $"{app.Name}: --pool-idle-time must not be negative");
            Require(app.MaxRequests >= 0, $"{app.Name}: --max-requests must not be negative");
            Require(app.MaxMemory >= 0, $"{app.Name}: --max-memory must not be negative");
            Require(app.OobWorkEvery >= 0, $"{app.Name}: --oob-work-every must not be negative");
            Require(app.StartTimeout > 0, $"{app.Name}: --start-timeout must be positive");
            Require(app.Concurrency is null or >= 0, $"{app.Name}: --concurrency must not be negative");
            Require(app.MaxRequestQueueSize >= 0, $"{app.Name}: --max-request-queue-size must not be negative");
            Require(app.MaxRequestQueueTime >= 0, $"{app.Name}: --max-request-queue-time must not be negative");
            Require(app.MaxRequestTime >= 0, $"{app.Name}: --max-request-time must not be negative");
            Require(app.StatThrottleRate >= 0, $"{app.Name}: --stat-throttle-rate must not be negative");
            Require(Enum.IsDefined(app.RestartMethod), $"{app.Name}: --restart-method must be rolling or blocking");
            Require(IsCookieName(app.StickySessionsCookieName),
                $"{app.Name}: --sticky-sessions-cookie-name '{app.StickySessionsCookieName}' is not a valid cookie name");
            checkApp?.Invoke(app);
            app.Hosts = app.Hosts.Select(h => h.Trim().ToLowerInvariant()).ToList();
            if (app.Hosts.Count == 0)
            {
                Require(catchAll is null, $"apps '{catchAll}' and '{app.Name}' both answer every host: give them 'Hosts'");
                catchAll = app.Name;
            }
            foreach (var host in app.Hosts)
                Require(hosts.TryAdd(host, app.Name), $"host '{host}' is claimed by apps '{hosts.GetValueOrDefault(host)}' and '{app.Name}'");
        }
        // Gateways and workers talk to each other's listeners: without the shared secret they could not authenticate.
        if (role is "gateway" or "worker") ClusterSecret.For(options);
        options.DataDir = Path.GetFullPath(options.DataDir is { } dir
            ? Path.Combine(baseDir, dir)
            : Path.Combine(options.Apps.Count == 1 ? options.Apps[0].Root : baseDir, "tmp", "porter", NodeIdentity(role, options)));
    }

    /// <summary>
    /// The default data dir's last part: role, hostname and port, which no two nodes on one host share (they could not both
    /// listen), so nodes started on one app folder never share PID records or a journal. Stable across restarts, so a node
    /// restarted after a hard kill finds its own orphans.
    /// </summary>
    public static string NodeIdentity(string role, PorterOptions options) =>
        string.Create(CultureInfo.InvariantCulture, $"{role}-{options.Hostname}-{options.Port}");

    private static void ValidateEdge(PorterOptions options, string role)
    {
        var edge = options.Edge;
        Require(edge.ClientHeaderTimeout > 0, "--client-header-timeout must be positive");
        Require(edge.ClientBodyMinRate >= 0, "--client-body-min-rate must not be negative (0 turns it off)");
        Require(edge.ClientBodyGrace > 0, "--client-body-grace must be positive");
        Require(edge.KeepAliveTimeout > 0, "--keep-alive-timeout must be positive");
        var buffers = options.ResponseBuffer;
        Require(buffers.HighWatermark >= 0, "--response-buffer-high-watermark must not be negative");
        Require(buffers.MemoryTotal >= 0, "--response-buffer-memory-total must not be negative");
        Require(buffers.DiskTotal >= 0, "--response-buffer-disk-total must not be negative");
        var tls = options.Tls;
        if (!tls.IsOn) return;
        Require(role != "worker", "--ssl-certificate is for the public port of start and gateway nodes: a worker's listener is internal");
        Require(!string.IsNullOrWhiteSpace(tls.Certificate) && !string.IsNullOrWhiteSpace(tls.CertificateKey),
            "HTTPS needs both --ssl-certificate and --ssl-certificate-key (PEM files)");
        Require(tls.Port is >= 0 and <= 65535, $"--ssl-port must be between 1 and 65535, not {tls.Port}");
        Require(tls.Port == 0 || tls.Port != options.Port, "--ssl-port must differ from --port (leave it out to serve HTTPS only, on --port)");
        Require(tls.Port == 0 || tls.Port != options.Management.Port, "--ssl-port must differ from --management-port");
        try
        {
            Edge.Tls.PemCertificate.Load(tls.Certificate!, tls.CertificateKey!).TargetCertificate.Dispose();
        }
        catch (Edge.Tls.PemCertificate.UnusableException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static void ValidatePersistence(PersistenceOptions persistence)
    {
        Require(Enum.IsDefined(persistence.Provider), "Persistence:Provider must be sqlite or postgresql");
        Require(persistence.Provider != PersistenceProvider.PostgreSql || !string.IsNullOrWhiteSpace(persistence.ConnectionString),
            "Persistence:Provider postgresql needs Persistence:ConnectionString (PORTER__PERSISTENCE__CONNECTIONSTRING)");
        if (string.IsNullOrWhiteSpace(persistence.ConnectionString)) return;
        try
        {
            // Both providers take ADO.NET key=value strings; a typo here would otherwise surface as a journal failure much later.
            _ = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = persistence.ConnectionString };
        }
        catch (ArgumentException)
        {
            // The message of the builder may quote the string, and with it a password: say only where it went wrong.
            throw new UsageException("Persistence:ConnectionString is not a key=value;... connection string");
        }
        if (persistence.Provider != PersistenceProvider.Sqlite) return;
        try
        {
            _ = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(persistence.ConnectionString);
        }
        catch (ArgumentException)
        {
            // A PostgreSQL string (Host=...) left next to provider sqlite, say.
            throw new UsageException("Persistence:ConnectionString is not a SQLite connection string, and Persistence:Provider is sqlite");
        }
    }

    private static void ValidateDiscovery(DiscoveryOptions discovery)
    {
        discovery.Method = (discovery.Method ?? "").Trim().ToLowerInvariant();
        Require(DiscoveryMethods.All.Contains(discovery.Method),
            $"Discovery:Method '{discovery.Method}' is not one of: {string.Join(", ", DiscoveryMethods.All)}");
        if (discovery.Method == DiscoveryMethods.None) return;
        Require(!string.IsNullOrWhiteSpace(discovery.ServiceName), "Discovery:ServiceName must not be empty");
        Require(!string.IsNullOrWhiteSpace(discovery.PodLabelSelector), "Discovery:PodLabelSelector must not be empty");
        Require(!string.IsNullOrWhiteSpace(discovery.PortName), "Discovery:PortName must not be empty");
        Require(discovery.RequiredContactPoints >= 1, $"Discovery:RequiredContactPoints must be at least 1, not {discovery.RequiredContactPoints}");
        if (discovery.Method == DiscoveryMethods.Config)
        {
            Require(discovery.ContactPoints.Count > 0, "Discovery:Method config needs Discovery:ContactPoints (host:port of each management API)");
            foreach (var point in discovery.ContactPoints)
                Require(Uri.TryCreate($"http://{point}", UriKind.Absolute, out var uri) && uri.Port > 0 && point.Contains(':', StringComparison.Ordinal),
                    $"Discovery:ContactPoints entry '{point}' is not host:port");
        }
    }

    /// <summary>For an enum option, the values it takes, so a typo's error says what would have worked.</summary>
    private static string EnumChoices(string binderMessage)
    {
        var match = System.Text.RegularExpressions.Regex.Match(binderMessage, @"to type '([\w.]+)'");
        var type = match.Success ? typeof(PorterOptions).Assembly.GetType(match.Groups[1].Value) : null;
        return type is { IsEnum: true }
            ? $" (expected one of: {string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))})"
            : "";
    }

    private static bool IsListenAddress(string address) => address is "localhost" or "*" || IPAddress.TryParse(address, out _);

    /// <summary>An RFC 6265 cookie name: visible ASCII without separators.</summary>
    private static bool IsCookieName(string name) =>
        name.Length > 0 && name.All(c => c is > ' ' and < (char)127 && !"()<>@,;:\\\"/[]?={}".Contains(c));

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new UsageException(message);
    }

    private static string FirstLine(Exception e) => (e.InnerException?.Message ?? e.Message).Split('\n')[0].Trim();
}
