using System.Net;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Porter.Contracts.Options;
using Porter.CacheShard.Sharding;
using Porter.Gateway.Caching;
using Porter.Gateway.Edge;
using Porter.Gateway.Management;
using Porter.Workers.Dispatching;
using Porter.Workers.Pool;

namespace Porter.Gateway.Hosting;

/// <summary>
/// The composition root of <c>porter start</c>: one process holding the gateway, cache and worker roles in a
/// cluster of one, with the dispatcher called in process (no network hop between gateway and worker).
/// </summary>
public static class StandaloneHost
{
    public static readonly string[] Roles = ["gateway", "cache", "worker"];

    /// <summary>The actor system name every Porter node uses, so nodes can join each other.</summary>
    public const string ActorSystemName = "porter";

    public static WebApplication Build(PorterOptions options)
    {
        Directory.CreateDirectory(options.DataDir!);
        var journal = PrepareJournal(options.DataDir!);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = options.DataDir,
            EnvironmentName = "Production",
        });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders().AddSimpleConsole(c =>
        {
            c.SingleLine = true;
            c.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The dispatcher logs forwarding failures itself, in one line with app and PID.
        builder.Logging.AddFilter("Yarp", LogLevel.Error);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize == 0 ? null : options.MaxRequestBodySize;
            kestrel.Listen(ListenAddress(options.Address), options.Port);
            kestrel.ListenForManagement(options, ListenAddress(options.Hostname));
        });
        // Kestrel drains in-flight requests, then app processes get SIGTERM and their grace period.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownGrace * 2 + 5));

        builder.Services.AddSingleton(options);
        builder.Services.AddWorkerPool();
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<AppDispatcher>();
        builder.Services.AddSingleton<AppResolver>();
        builder.Services.AddTurbocache(options.Turbocache);
        builder.Services.AddManagement();

        builder.Services.AddAkka(ActorSystemName, (akka, services) => akka
            .ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = Akka.Event.LogLevel.WarningLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .WithRemoting(options.Hostname, options.RemotingPort)
            .WithClustering(new ClusterOptions { Roles = Roles, SeedNodes = options.SeedNodes.ToArray() })
            .WithSqlPersistence(connectionString: journal, providerName: LinqToDB.ProviderName.SQLiteMS, autoInitialize: true)
            .AddStartup((system, _) =>
            {
                // Without seeds the node forms a cluster of its own (its remoting port may be chosen by the OS).
                if (options.SeedNodes.Count == 0)
                {
                    var cluster = Cluster.Get(system);
                    cluster.Join(cluster.SelfAddress);
                }
                return Task.CompletedTask;
            })
            .WithManagementHealthChecks()
            .WithTurbocache(hostsEntities: true, options.Turbocache)
            .AddPoolManager());

        var app = builder.Build();
        app.UseManagement();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.UseMiddleware<RequestGuardMiddleware>();
        app.UseMiddleware<AppResolutionMiddleware>();
        app.UseMiddleware<AppStaticFilesMiddleware>();
        app.UseMiddleware<ForwardedHeadersMiddleware>();
        app.UseMiddleware<TurbocacheMiddleware>();
        var dispatcher = app.Services.GetRequiredService<AppDispatcher>();
        app.Run(context => dispatcher.DispatchAsync(context, context.Features.Get<ResolvedApp>()!.App));
        return app;
    }

    internal static IPAddress ListenAddress(string address) => address switch
    {
        "localhost" => IPAddress.Loopback,
        "*" => IPAddress.Any,
        _ => IPAddress.Parse(address),
    };

    /// <summary>The SQLite journal file, switched to WAL once so concurrent persisting actors do not serialise on it.</summary>
    private static string PrepareJournal(string dataDir)
    {
        var connectionString = $"Data Source={Path.Combine(dataDir, "porter.db")}";
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL;";
        pragma.ExecuteNonQuery();
        return connectionString;
    }
}
