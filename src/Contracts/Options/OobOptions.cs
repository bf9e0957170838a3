namespace Porter.Contracts.Options;

/// <summary>Which processes share an out-of-band work limit.</summary>
public enum OobScope
{
    /// <summary>Every process of every app in the cluster (Passenger limits only one app group on one server).</summary>
    Cluster = 0,

    /// <summary>Each app has its own limit, across all nodes.</summary>
    App = 1,
}

/// <summary>Out-of-band work coordination settings (section <c>Porter:Oob</c>): the coordinator's token limits and the workers' timeouts.</summary>
public sealed class OobOptions
{
    public const string Section = "Porter:Oob";

    /// <summary>Scope key of the cluster-wide scope.</summary>
    public const string ClusterScopeKey = "cluster";

    /// <summary>Prefix of per-app scope keys; an app name cannot make a key collide with <see cref="ClusterScopeKey"/>.</summary>
    public const string AppScopePrefix = "app/";

    /// <summary>Tokens outstanding at once in one scope (<c>oob-max-concurrent</c>).</summary>
    public int MaxConcurrent { get; set; } = 1;

    /// <summary>Whether the limit holds across the whole cluster or per app.</summary>
    public OobScope Scope { get; set; } = OobScope.Cluster;

    /// <summary>How long a token may stay unreleased before the coordinator reclaims it.</summary>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a worker waits for a process's answer to <c>POST /.porter/oob-work</c>; a timeout counts as done and recycles the process.</summary>
    public TimeSpan WorkTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Seconds a process waits for its token (<c>oob-token-wait-timeout</c>) while it keeps serving; then the pending run is
    /// dropped and the process stays in rotation. Bounds what a coordinator outage or a long queue can hold back.
    /// </summary>
    public double TokenWaitTimeout { get; set; } = 30;

    /// <summary>Journal events between coordinator snapshots; older events and snapshots are deleted after each snapshot.</summary>
    public int SnapshotEvery { get; set; } = 100;

    /// <summary>The scope key a process of <paramref name="app"/> requests its token in.</summary>
    public string ScopeKeyFor(AppName app) => Scope == OobScope.App ? AppScopePrefix + app.Value : ClusterScopeKey;

    /// <summary>Problems with the settings, one sentence each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxConcurrent < 1)
            errors.Add($"Oob MaxConcurrent must be at least 1 (got {MaxConcurrent}).");
        if (!Enum.IsDefined(Scope))
            errors.Add($"Oob Scope must be Cluster or App (got {Scope}).");
        if (LeaseTime <= TimeSpan.Zero)
            errors.Add($"Oob LeaseTime must be positive (got {LeaseTime}).");
        if (WorkTimeout <= TimeSpan.Zero)
            errors.Add($"Oob WorkTimeout must be positive (got {WorkTimeout}).");
        // A run must be able to finish within its lease, or every timed-out run would also be reclaimed under its holder.
        else if (WorkTimeout >= LeaseTime && LeaseTime > TimeSpan.Zero)
            errors.Add($"Oob WorkTimeout ({WorkTimeout}) must be shorter than LeaseTime ({LeaseTime}).");
        if (!(TokenWaitTimeout > 0) || double.IsInfinity(TokenWaitTimeout))
            errors.Add($"Oob TokenWaitTimeout must be a positive number of seconds (got {TokenWaitTimeout}).");
        if (SnapshotEvery < 1)
            errors.Add($"Oob SnapshotEvery must be at least 1 (got {SnapshotEvery}).");
        return errors;
    }
}
