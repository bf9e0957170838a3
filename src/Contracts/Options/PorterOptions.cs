using Porter.Contracts.Caching;

namespace Porter.Contracts.Options;

/// <summary>Node-wide settings, bound from the config file, PORTER__ variables and command-line flags.</summary>
public sealed class PorterOptions
{
    public const string Section = "Porter";

    /// <summary>Public HTTP port of the gateway.</summary>
    public int Port { get; set; } = 3000;

    /// <summary>
    /// Address the node's HTTP listener binds (the public one, or a worker's internal one); null means the node's own
    /// <see cref="Hostname"/>, so nodes sharing one host network each keep to their address (<see cref="HttpListenAddress"/>).
    /// </summary>
    public string? Address { get; set; }

    /// <summary>HTTPS on the public port (certificate, key, a port of its own or HTTPS only).</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Client connections on the public port: h2c, header and body read timeouts, keep-alive idle time.</summary>
    public EdgeOptions Edge { get; set; } = new();

    /// <summary>How app responses are buffered so slow clients never hold an app process (memory, then temporary files).</summary>
    public ResponseBufferOptions ResponseBuffer { get; set; } = new();

    /// <summary>Default environment for apps that do not set one.</summary>
    public string Environment { get; set; } = "production";

    /// <summary>Where the node keeps its journal and PID records; default APP_DIR/tmp/porter/ROLE-HOSTNAME-PORT (one per node identity); locked while the node runs.</summary>
    public string? DataDir { get; set; }

    /// <summary>Peers whose X-Forwarded-* headers are trusted (IP addresses).</summary>
    public List<string> TrustedProxies { get; set; } = new();

    /// <summary>Processes per node across all apps; idle processes of other apps make room when one app needs it.</summary>
    public int MaxPoolSize { get; set; } = 6;

    /// <summary>Seconds between RSS checks of app processes for max-memory.</summary>
    public double MemoryCheckInterval { get; set; } = 5;

    /// <summary>Crashes of one app within <see cref="CrashLoopWindow"/> that mark it failing (503 until a process starts).</summary>
    public int CrashLoopCrashes { get; set; } = 5;

    /// <summary>Seconds over which crashes are counted for crash-loop detection.</summary>
    public double CrashLoopWindow { get; set; } = 60;

    /// <summary>Seconds a request may wait for a process before 503 when none is ready.</summary>
    public double RequestWaitTimeout { get; set; } = 60;

    /// <summary>Seconds a stopping node waits for in-flight requests and for app processes to exit on SIGTERM.</summary>
    public double ShutdownGrace { get; set; } = 10;

    /// <summary>Largest request body accepted, in bytes (413 above it); 0 means unlimited.</summary>
    public long MaxRequestBodySize { get; set; } = 1L << 30;

    /// <summary>Address other cluster members reach this node on (remoting, a worker's endpoint); its listeners bind it unless told otherwise.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Akka remoting port; 0 lets the OS choose (fine for a cluster of one).</summary>
    public int RemotingPort { get; set; }

    /// <summary>
    /// The secret every gateway and worker node of a cluster shares: gateways sign what they forward to workers' internal
    /// listeners with it. Required on a network address; on loopback a built-in development secret stands in.
    /// </summary>
    public string? ClusterSecret { get; set; }

    /// <summary>Cluster seed nodes (akka.tcp://porter@host:port); empty means this node forms a cluster of its own.</summary>
    public List<string> SeedNodes { get; set; } = new();

    /// <summary>How unreachable members are downed: <c>keep-majority</c> (default), <c>keep-oldest</c> or <c>off</c> (a person downs them).</summary>
    public string Downing { get; set; } = "keep-majority";

    /// <summary>Seconds the membership must be stable before the split brain resolver downs unreachable members.</summary>
    public double DowningStableAfter { get; set; } = 5;

    /// <summary>Cluster Bootstrap discovery, used when <see cref="SeedNodes"/> is empty.</summary>
    public DiscoveryOptions Discovery { get; set; } = new();

    /// <summary>The journal's database (SQLite by default, PostgreSQL on Kubernetes).</summary>
    public PersistenceOptions Persistence { get; set; } = new();

    /// <summary>The management API (health, cluster members, pool, cache, metrics) on its own port.</summary>
    public ManagementOptions Management { get; set; } = new();

    /// <summary>Turbocache settings for this node (its gateway's near cache and the cache entities it hosts).</summary>
    public TurbocacheOptions Turbocache { get; set; } = new();

    /// <summary>Out-of-band work coordination (the coordinator's token limits and the workers' OOB timeouts).</summary>
    public OobOptions Oob { get; set; } = new();

    /// <summary>The console log's levels and format (--log-level, --log-format, the <c>Logging</c> section).</summary>
    public LoggingOptions Logging { get; set; } = new();

    /// <summary>The applications this node serves.</summary>
    public List<AppOptions> Apps { get; set; } = new();

    /// <summary>The single app served when no <see cref="Apps"/> list is given (APP_DIR on the command line).</summary>
    public AppOptions? App { get; set; }

    /// <summary>Address the HTTP listener binds: <see cref="Address"/>, by default <see cref="Hostname"/>.</summary>
    public string HttpListenAddress => Address ?? Hostname;

    /// <summary>Address the management listener binds: <see cref="ManagementOptions.Address"/>, by default <see cref="Hostname"/>.</summary>
    public string ManagementListenAddress => Management.Address ?? Hostname;

    public bool IsDevelopment(AppOptions app) =>
        string.Equals(app.Environment ?? Environment, "development", StringComparison.OrdinalIgnoreCase);
}
