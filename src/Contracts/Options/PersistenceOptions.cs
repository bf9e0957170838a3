namespace Porter.Contracts.Options;

/// <summary>Which SQL database the Akka.Persistence journal and snapshot store use.</summary>
public enum PersistenceProvider
{
    /// <summary>An embedded SQLite file under the data dir (one node, or a laptop).</summary>
    Sqlite,

    /// <summary>A PostgreSQL server shared by the cluster (Kubernetes), so a singleton that moves finds its journal.</summary>
    PostgreSql,
}

/// <summary>The journal's database; on Kubernetes the connection string comes from a Secret (PORTER__PERSISTENCE__CONNECTIONSTRING).</summary>
public sealed class PersistenceOptions
{
    /// <summary>Sqlite (default) or PostgreSql.</summary>
    public PersistenceProvider Provider { get; set; } = PersistenceProvider.Sqlite;

    /// <summary>
    /// ADO.NET connection string. Required for PostgreSql; for Sqlite the default is DATA_DIR/porter.db.
    /// </summary>
    public string? ConnectionString { get; set; }
}
