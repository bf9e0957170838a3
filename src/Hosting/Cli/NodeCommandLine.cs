using System.Globalization;

namespace Porter.Hosting.Cli;

/// <summary>
/// The flags of the node verbs (<c>start</c>, <c>gateway</c>, <c>worker</c>), named as <c>passenger start</c> names them. Each flag maps to one
/// configuration key, so flags, the JSON config file and PORTER__ environment variables bind the same options.
/// </summary>
public sealed class NodeCommandLine
{
    private enum Scope { Node, App, Both }

    private sealed record Flag(string Name, string Key, Scope Scope, bool IsSwitch = false, bool IsList = false, string Help = "");

    private static readonly Flag[] Flags =
    [
        new("--port", "Port", Scope.Node, Help: "public HTTP port (default 3000)"),
        new("--address", "Address", Scope.Node, Help: "address the HTTP listener binds, * for all (default: --hostname)"),
        new("--ssl", "Tls:Enabled", Scope.Node, IsSwitch: true, Help: "serve HTTPS (needs --ssl-certificate and --ssl-certificate-key)"),
        new("--ssl-certificate", "Tls:Certificate", Scope.Node, Help: "PEM certificate (chain) for HTTPS; re-read when it changes"),
        new("--ssl-certificate-key", "Tls:CertificateKey", Scope.Node, Help: "PEM private key of --ssl-certificate"),
        new("--ssl-port", "Tls:Port", Scope.Node, Help: "HTTPS port beside HTTP on --port (default: HTTPS only, on --port)"),
        new("--h2c", "Edge:H2c", Scope.Node, IsSwitch: true, Help: "the plain HTTP port speaks HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1"),
        new("--client-header-timeout", "Edge:ClientHeaderTimeout", Scope.Node, Help: "seconds a client may take to send its request headers (default 30)"),
        new("--client-body-min-rate", "Edge:ClientBodyMinRate", Scope.Node, Help: "slowest request body in bytes/s, else 408 (default 240, 0 = off)"),
        new("--client-body-grace", "Edge:ClientBodyGrace", Scope.Node, Help: "seconds before --client-body-min-rate counts (default 5)"),
        new("--keep-alive-timeout", "Edge:KeepAliveTimeout", Scope.Node, Help: "seconds an idle client connection stays open (default 75)"),
        new("--environment", "Environment", Scope.Both, Help: "production (default), development, staging..."),
        new("--data-dir", "DataDir", Scope.Node, Help: "journal and PID records (default APP_DIR/tmp/porter/ROLE-HOSTNAME-PORT)"),
        new("--trusted-proxies", "TrustedProxies", Scope.Node, IsList: true, Help: "comma-separated peers whose X-Forwarded-* are kept"),
        new("--max-pool-size", "MaxPoolSize", Scope.Node, Help: "most app processes on this node, all apps together (default 6)"),
        new("--memory-check-interval", "MemoryCheckInterval", Scope.Node, Help: "seconds between max-memory checks (default 5)"),
        new("--crash-loop-crashes", "CrashLoopCrashes", Scope.Node, Help: "crashes within the window that mark an app failing (default 5)"),
        new("--crash-loop-window", "CrashLoopWindow", Scope.Node, Help: "seconds over which crashes count as a loop (default 60)"),
        new("--max-request-body-size", "MaxRequestBodySize", Scope.Node, Help: "bytes; larger bodies get 413 (0 = unlimited)"),
        new("--request-wait-timeout", "RequestWaitTimeout", Scope.Node, Help: "seconds a request waits while no process is up (default 60)"),
        new("--shutdown-grace", "ShutdownGrace", Scope.Node, Help: "seconds to drain requests and let apps exit (default 10)"),
        new("--response-buffer-high-watermark", "ResponseBuffer:HighWatermark", Scope.Node, Help: "bytes of one response buffered in memory before a temporary file (default 128 MiB)"),
        new("--response-buffer-memory-total", "ResponseBuffer:MemoryTotal", Scope.Node, Help: "bytes of memory all response buffers may hold together (default 256 MiB)"),
        new("--response-buffer-disk-total", "ResponseBuffer:DiskTotal", Scope.Node, Help: "bytes of temporary files all response buffers may hold together (default 2 GiB)"),
        new("--hostname", "Hostname", Scope.Node, Help: "this node's own address: cluster members reach it there, its listeners bind it (default 127.0.0.1)"),
        new("--remoting-port", "RemotingPort", Scope.Node, Help: "cluster remoting port (default 0: any free port)"),
        new("--cluster-secret", "ClusterSecret", Scope.Node, Help: "secret shared by every gateway and worker node (required off loopback)"),
        new("--seed-nodes", "SeedNodes", Scope.Node, IsList: true, Help: "comma-separated akka.tcp://porter@host:port seeds"),
        new("--downing", "Downing", Scope.Node, Help: "split brain resolver: keep-majority (default), keep-oldest or off"),
        new("--downing-stable-after", "DowningStableAfter", Scope.Node, Help: "seconds of stable membership before unreachable members are downed (default 5)"),
        new("--discovery", "Discovery:Method", Scope.Node, Help: "none (default) | config | kubernetes-api: Cluster Bootstrap when no seeds are given"),
        new("--contact-points", "Discovery:ContactPoints", Scope.Node, IsList: true, Help: "comma-separated host:port management APIs (--discovery config)"),
        new("--management-port", "Management:Port", Scope.Node, Help: "management API port (default 8558, -1 = off)"),
        new("--management-address", "Management:Address", Scope.Node, Help: "address the management API binds, * for all (default: --hostname)"),
        new("--management-token", "Management:Token", Scope.Node, Help: "bearer token for mutating management routes"),
        new("--log-level", "Logging:LogLevel:Default", Scope.Node, Help: "trace | debug | information (default) | warning | error | critical | none; Akka.NET's own lines stay at warning unless Logging:LogLevel:Akka says otherwise"),
        new("--log-format", "Logging:Format", Scope.Node, Help: "simple (default: one line per entry) | json (one JSON object per line, for log shippers)"),
        new("--oob-max-concurrent", "Oob:MaxConcurrent", Scope.Node, Help: "processes doing out-of-band work at once per scope (default 1)"),
        new("--oob-scope", "Oob:Scope", Scope.Node, Help: "cluster (default: one limit for every app) or app (a limit per app)"),
        new("--oob-work-timeout", "Oob:WorkTimeout", Scope.Node, Help: "hh:mm:ss an app may take for its out-of-band work (default 00:01:00)"),
        new("--oob-lease-time", "Oob:LeaseTime", Scope.Node, Help: "hh:mm:ss before an unreleased OOB token is reclaimed (default 00:02:00)"),
        new("--oob-token-wait-timeout", "Oob:TokenWaitTimeout", Scope.Node, Help: "seconds a process keeps serving while it waits for its OOB token; then the run is dropped (default 30)"),
        new("--app-name", "Name", Scope.App, Help: "app name (default: the app folder's name)"),
        new("--app-type", "AppType", Scope.App, Help: "node | python | dotnet | command (default: detected)"),
        new("--app-start-command", "AppStartCommand", Scope.App, Help: "command that starts the app; it listens on $PORT"),
        new("--startup-file", "StartupFile", Scope.App, Help: "entry file (app.js, passenger_wsgi.py)"),
        new("--min-instances", "MinInstances", Scope.App, Help: "processes kept running (default 1)"),
        new("--max-instances", "MaxInstances", Scope.App, Help: "most processes of the app (default 0 = up to max-pool-size)"),
        new("--pool-idle-time", "PoolIdleTime", Scope.App, Help: "seconds before an idle process above min-instances stops (default 300, 0 = never)"),
        new("--max-requests", "MaxRequests", Scope.App, Help: "replace a process after this many requests (default 0 = never)"),
        new("--max-memory", "MaxMemory", Scope.App, Help: "replace a process above this RSS in MB (default 0 = no limit)"),
        new("--oob-work-every", "OobWorkEvery", Scope.App, Help: "out-of-band work after every N requests of a process (default 0 = only when the app asks)"),
        new("--max-request-time", "MaxRequestTime", Scope.App, Help: "seconds a request may take at the app, then 504 and the process is replaced (default 0 = off)"),
        new("--start-timeout", "StartTimeout", Scope.App, Help: "seconds a process may take to listen (default 90)"),
        new("--concurrency", "Concurrency", Scope.App, Help: "requests per process, 0 = unlimited (default 0, python 1)"),
        new("--max-request-queue-size", "MaxRequestQueueSize", Scope.App, Help: "queued requests before 503 (default 100)"),
        new("--max-request-queue-time", "MaxRequestQueueTime", Scope.App, Help: "seconds queued before 504 (default 0 = off)"),
        new("--stat-throttle-rate", "StatThrottleRate", Scope.App, Help: "seconds between checks of tmp/restart.txt (default 10)"),
        new("--restart-method", "RestartMethod", Scope.App, Help: "rolling (default) | blocking"),
        new("--sticky-sessions", "StickySessions", Scope.App, IsSwitch: true, Help: "send a client back to the process that served it"),
        new("--sticky-sessions-cookie-name", "StickySessionsCookieName", Scope.App, Help: "sticky-session cookie (default _porter_route)"),
        new("--disable-response-buffering", "DisableResponseBuffering", Scope.App, IsSwitch: true, Help: "stream the app's responses to clients instead of buffering them"),
        new("--disable-request-buffering", "DisableRequestBuffering", Scope.App, IsSwitch: true, Help: "stream request bodies to the app as they arrive, also at concurrency 1"),
        new("--vary-turbocache-by-cookie", "VaryTurbocacheByCookie", Scope.App, Help: "cookie whose value joins the cache key"),
        new("--disable-turbocaching", "DisableTurbocaching", Scope.App, IsSwitch: true, Help: "turn the response cache off"),
    ];

    /// <summary>The node verb the arguments came with (<c>start</c>, <c>gateway</c>, <c>worker</c>).</summary>
    public string Verb { get; private set; } = "start";

    /// <summary>The app folder given as the positional argument, if any.</summary>
    public string? AppDir { get; private set; }

    /// <summary>The JSON config file given with --config, if any.</summary>
    public string? ConfigFile { get; private set; }

    /// <summary>Node-level configuration keys set by flags.</summary>
    public Dictionary<string, string?> NodeValues { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>App-level configuration keys set by flags; they override every app's own settings.</summary>
    public Dictionary<string, string?> AppValues { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Parses the arguments after the verb; throws <see cref="UsageException"/> on anything unknown or incomplete.</summary>
    public static NodeCommandLine Parse(IReadOnlyList<string> args, string verb = "start")
    {
        var result = new NodeCommandLine { Verb = verb };
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 2)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            if (!arg.StartsWith('-'))
            {
                if (result.AppDir is not null) throw new UsageException($"unexpected argument '{arg}': only one APP_DIR may be given");
                result.AppDir = arg;
                continue;
            }
            if (arg == "--config")
            {
                result.ConfigFile = inlineValue ?? TakeValue(args, ref i, arg);
                continue;
            }
            var flag = Array.Find(Flags, f => f.Name == arg)
                ?? throw new UsageException($"unknown option '{arg}' (see 'porter {verb} --help')");
            string? value;
            if (flag.IsSwitch)
                value = inlineValue ?? "true";
            else
                value = inlineValue ?? TakeValue(args, ref i, arg);
            result.Set(flag, value);
        }
        return result;
    }

    private void Set(Flag flag, string value)
    {
        if (flag.IsList)
        {
            var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (var n = 0; n < items.Length; n++) NodeValues[$"{flag.Key}:{n.ToString(CultureInfo.InvariantCulture)}"] = items[n];
            return;
        }
        if (flag.Scope is Scope.Node or Scope.Both) NodeValues[flag.Key] = value;
        if (flag.Scope is Scope.App or Scope.Both) AppValues[flag.Key] = value;
    }

    private static string TakeValue(IReadOnlyList<string> args, ref int i, string name)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            throw new UsageException($"option '{name}' needs a value");
        return args[++i];
    }

    /// <summary>The text of <c>porter VERB --help</c>.</summary>
    public static string Help(string verb, string description)
    {
        var lines = new List<string>
        {
            $"Usage: porter {verb} [APP_DIR] [options]",
            "",
            description,
            "",
            "Options:",
            "  --config FILE                      JSON configuration; flags win over it, PORTER__ variables too",
        };
        foreach (var flag in Flags)
        {
            var left = flag.IsSwitch ? flag.Name : $"{flag.Name} VALUE";
            lines.Add($"  {left,-34} {flag.Help}");
        }
        return string.Join(Environment.NewLine, lines);
    }
}
