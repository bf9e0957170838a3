using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.DependencyInjection;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Porter.CacheShard.NearCache;
using Porter.Contracts.Caching;
using Porter.Contracts.Serialization;

namespace Porter.CacheShard.Sharding;

/// <summary>Akka.Hosting and DI registration of the turbocache's cluster side: serializer, shard region (or proxy), near-cache subscriber.</summary>
public static class TurbocacheHostingExtensions
{
    /// <summary>The shard region's type name, the same on every node.</summary>
    public const string TypeName = "turbocache";

    /// <summary>The cluster role whose nodes host cache entities.</summary>
    public const string Role = "cache";

    /// <summary>The serializer's name in the actor system's configuration.</summary>
    public const string SerializerName = "porter-cache";

    private const string LoggerCategory = "Porter.CacheShard.Turbocache";

    /// <summary>Registers the node's turbocache services: the options, the near cache, the memory ledger, the counters, and <see cref="TimeProvider.System"/> unless a clock is already registered.</summary>
    /// <exception cref="ArgumentException">The options are invalid (callers validate them at start with a clearer message first).</exception>
    public static IServiceCollection AddTurbocache(this IServiceCollection services, TurbocacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ArgumentException(string.Join(" ", errors), nameof(options));

        services.AddSingleton(options);
        services.AddSingleton<NearResponseCache>();
        services.AddSingleton<CacheMemoryLedger>();
        services.AddSingleton<TurbocacheStats>();
        services.AddSingleton<CacheMembership>();
        services.AddSingleton<NearCacheInvalidation>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// Binds <see cref="CacheProtocolSerializer"/> to the turbocache's protocols, starts the "turbocache" shard region
    /// when <paramref name="hostsEntities"/> (the node has role "cache") or a proxy to it otherwise, the near cache's
    /// invalidation receiver and the membership watch. Either way <c>IRequiredActor&lt;CacheEntity&gt;</c> reaches the entities.
    /// </summary>
    /// <param name="options">
    /// The same options given to <see cref="AddTurbocache"/> (resolve them in <c>AddAkka((builder, services) =&gt; ...)</c>):
    /// sharding settings are fixed when the builder runs, before services can be resolved. Null uses the defaults.
    /// </param>
    public static AkkaConfigurationBuilder WithTurbocache(this AkkaConfigurationBuilder builder, bool hostsEntities,
        TurbocacheOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new TurbocacheOptions();
        var extractor = new CacheMessageExtractor();

        builder.WithCustomSerializer(SerializerName, [typeof(ICacheMessage), typeof(INearCacheMessage)], system => new CacheProtocolSerializer(system));
        // A region that starts before its coordinator retries registering after this long (2 s by default), and the
        // first cache lookup waits for it: on a fresh node that was most of the time to the first answer.
        builder.AddHocon("akka.cluster.sharding.retry-interval = 200ms", HoconAddMode.Prepend);

        if (hostsEntities)
        {
            builder.WithShardRegion<CacheEntity>(TypeName, EntityProps, extractor, new ShardOptions
            {
                Role = Role,
                StateStoreMode = StateStoreMode.DData,
                // Entries are a cache: an entity restarted elsewhere starts empty rather than being remembered.
                RememberEntities = false,
                ShouldPassivateIdleEntities = true,
                PassivateIdleEntityAfter = options.EntityIdleTimeout,
            });
        }
        else
        {
            builder.WithShardRegionProxy<CacheEntity>(TypeName, Role, extractor);
        }

        return builder.WithActors((system, registry, resolver) =>
        {
            var receiver = system.ActorOf(NearCacheInvalidationReceiver.Props(
                resolver.GetService<NearResponseCache>(), resolver.GetService<TimeProvider>()), NearCacheInvalidationReceiver.Name);
            registry.Register<NearCacheInvalidationReceiver>(receiver);
            var watch = system.ActorOf(CacheMembershipWatch.Props(resolver.GetService<CacheMembership>(), Logger(resolver)),
                "turbocache-membership");
            registry.Register<CacheMembershipWatch>(watch);
        });
    }

    private static Func<string, Props> EntityProps(ActorSystem system, IActorRegistry registry, IDependencyResolver resolver)
    {
        // Resolved once per node: every entity shares the ledger, the counters and the clock.
        var settings = new CacheEntitySettings(
            resolver.GetService<TurbocacheOptions>(),
            resolver.GetService<CacheMemoryLedger>(),
            resolver.GetService<TurbocacheStats>(),
            resolver.GetService<TimeProvider>(),
            Logger(resolver));
        return entityId => CacheEntity.Props(entityId, settings);
    }

    private static ILogger Logger(IDependencyResolver resolver) =>
        (resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(LoggerCategory);
}
