namespace Porter.Contracts.Options;

/// <summary>One application: where it lives, how it starts and how its pool behaves.</summary>
public sealed class AppOptions
{
    /// <summary>Unique app name; defaults to the app root's folder name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The app root (holds app.js, passenger_wsgi.py, Procfile, public/, tmp/).</summary>
    public string Root { get; set; } = "";

    /// <summary>Host names this app answers; empty means every host.</summary>
    public List<string> Hosts { get; set; } = new();

    public AppType AppType { get; set; } = AppType.Auto;

    /// <summary>Command line that starts the app; it must listen on $PORT.</summary>
    public string? AppStartCommand { get; set; }

    /// <summary>Entry file for node/python apps (app.js, passenger_wsgi.py by default).</summary>
    public string? StartupFile { get; set; }

    /// <summary>production, development, staging...: passed as NODE_ENV, PORTER_ENV, ASPNETCORE_ENVIRONMENT.</summary>
    public string? Environment { get; set; }

    /// <summary>Processes kept running even when idle or after crashes.</summary>
    public int MinInstances { get; set; } = 1;

    /// <summary>Most processes of this app on one node; 0 means no limit besides the node's max-pool-size.</summary>
    public int MaxInstances { get; set; }

    /// <summary>Seconds a process above min-instances may stay idle before it is stopped; 0 keeps idle processes.</summary>
    public double PoolIdleTime { get; set; } = 300;

    /// <summary>A process is replaced after this many requests; 0 turns recycling off.</summary>
    public int MaxRequests { get; set; }

    /// <summary>Out-of-band work (token-coordinated) after every this many requests of a process; 0 turns counting off.</summary>
    public int OobWorkEvery { get; set; }

    /// <summary>A process whose resident memory (with its children) exceeds this many MB is replaced; 0 turns it off.</summary>
    public int MaxMemory { get; set; }

    /// <summary>Seconds between checks of tmp/restart.txt and tmp/always_restart.txt; 0 checks on every request.</summary>
    public double StatThrottleRate { get; set; } = 10;

    /// <summary>How a restart replaces the processes: rolling (default) or blocking.</summary>
    public RestartMethod RestartMethod { get; set; } = RestartMethod.Rolling;

    /// <summary>Routes a client back to the process that served it, by a cookie naming the process.</summary>
    public bool StickySessions { get; set; }

    /// <summary>Name of the sticky-session cookie.</summary>
    public string StickySessionsCookieName { get; set; } = "_porter_route";

    /// <summary>Seconds a process may take to accept connections before it counts as failed.</summary>
    public double StartTimeout { get; set; } = 90;

    /// <summary>Concurrent requests per process; 0 means unlimited. Null: 1 for python, else unlimited.</summary>
    public int? Concurrency { get; set; }

    /// <summary>Requests that may wait for a free process; more get 503 "queue full". 0 means unbounded.</summary>
    public int MaxRequestQueueSize { get; set; } = 100;

    /// <summary>Seconds a request may wait in the queue before 504; 0 turns the limit off.</summary>
    public double MaxRequestQueueTime { get; set; }

    /// <summary>
    /// Seconds a request may take at the app (Passenger's max_request_time); a request over it gets 504 (or is cut off
    /// if its answer had begun) and its process is replaced. 0 turns the limit off.
    /// </summary>
    public double MaxRequestTime { get; set; }

    /// <summary>
    /// Streams every response of this app straight to its client instead of buffering it (a slow client then holds
    /// the process). Server-Sent Events, <c>X-Accel-Buffering: no</c> answers and WebSockets stream either way.
    /// </summary>
    public bool DisableResponseBuffering { get; set; }

    /// <summary>
    /// Streams request bodies to this app's processes as they arrive, even at concurrency 1 (whose bodies are otherwise
    /// read completely first, so a slow upload never holds a process).
    /// </summary>
    public bool DisableRequestBuffering { get; set; }

    /// <summary>Cookie whose value joins the turbocache key (the seed's --vary-turbocache-by-cookie).</summary>
    public string? VaryTurbocacheByCookie { get; set; }

    /// <summary>Turns the turbocache off for this app.</summary>
    public bool DisableTurbocaching { get; set; }

    public AppName AppName => new(Name);
}
