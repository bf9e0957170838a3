using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Microsoft.Data.Sqlite;
using Porter.Contracts.Options;

namespace Porter.Hosting.Persistence;

/// <summary>
/// The Akka.Persistence journal and snapshot store on Akka.Persistence.Sql: an embedded SQLite file by default,
/// a shared PostgreSQL database on Kubernetes (where a singleton that moves to another pod must find its events).
/// </summary>
public static class PersistenceHosting
{
    /// <summary>The SQLite file's name under the data dir.</summary>
    public const string SqliteFileName = "porter.db";

    /// <summary>
    /// Sets up the journal and snapshot store from <see cref="PorterOptions.Persistence"/>; tables are created on first use.
    /// SQLite defaults to DATA_DIR/porter.db and is switched to WAL first.
    /// </summary>
    public static AkkaConfigurationBuilder WithPorterPersistence(this AkkaConfigurationBuilder akka, PorterOptions options)
    {
        var persistence = options.Persistence;
        return persistence.Provider switch
        {
            PersistenceProvider.PostgreSql => akka.WithSqlPersistence(
                connectionString: persistence.ConnectionString
                    ?? throw new ArgumentException("PostgreSQL persistence needs a connection string", nameof(options)),
                providerName: LinqToDB.ProviderName.PostgreSQL,
                autoInitialize: true),
            _ => akka.WithSqlPersistence(
                connectionString: PrepareJournal(persistence.ConnectionString
                    ?? $"Data Source={Path.Combine(options.DataDir ?? throw new ArgumentException("the data dir is not set", nameof(options)), SqliteFileName)}"),
                providerName: LinqToDB.ProviderName.SQLiteMS,
                autoInitialize: true),
        };
    }

    /// <summary>Opens the SQLite journal once and switches it to WAL, so concurrent persisting actors do not serialise on it.</summary>
    internal static string PrepareJournal(string connectionString)
    {
        var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (Path.GetDirectoryName(Path.GetFullPath(file)) is { } dir) Directory.CreateDirectory(dir);
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL;";
        pragma.ExecuteNonQuery();
        return connectionString;
    }
}
