using Microsoft.Data.Sqlite;
using Porter.Contracts.Options;
using Porter.Hosting.Persistence;
using Porter.Workers.Oob;

namespace Porter.Workers.Tests.Oob;

/// <summary>Recovery on the embedded default journal: Akka.Persistence.Sql on a SQLite file in the node's data dir.</summary>
public sealed class OobCoordinatorSqliteTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-oob-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public Task A_restarted_coordinator_recovers_the_outstanding_grant_from_sqlite_and_grants_no_second_token()
    {
        // The default: no connection string, DATA_DIR/porter.db, switched to WAL by WithPorterPersistence.
        var node = new PorterOptions { DataDir = _dir };
        return new OobJournalRecovery(node, OobCoordinator.DefaultPersistenceId, ReadRows).A_restarted_coordinator_recovers_the_outstanding_grant_and_grants_no_second_token();
    }

    private List<string[]> ReadRows(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir, PersistenceHosting.SqliteFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
            rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!).ToArray());
        return rows;
    }
}
