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

    public int MinInstances { get; set; } = 1;

    /// <summary>Seconds a process may take to accept connections before it counts as failed.</summary>
    public double StartTimeout { get; set; } = 90;

    /// <summary>Concurrent requests per process; 0 means unlimited. Null: 1 for python, else unlimited.</summary>
    public int? Concurrency { get; set; }

    /// <summary>Requests that may wait for a free process; more get 503 "queue full". 0 means unbounded.</summary>
    public int MaxRequestQueueSize { get; set; } = 100;

    /// <summary>Seconds a request may wait in the queue before 504; 0 turns the limit off.</summary>
    public double MaxRequestQueueTime { get; set; }

    /// <summary>Cookie whose value joins the turbocache key (the seed's --vary-turbocache-by-cookie).</summary>
    public string? VaryTurbocacheByCookie { get; set; }

    /// <summary>Turns the turbocache off for this app.</summary>
    public bool DisableTurbocaching { get; set; }

    public AppName AppName => new(Name);
}
