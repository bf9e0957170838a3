using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Pool;

/// <summary>The worker node's pool: starts one <see cref="AppSupervisor"/> per configured app.</summary>
public sealed class PoolManager : ReceiveActor
{
    public PoolManager(PorterOptions options, PoolRegistry pools, ProcessRegistry processes, ILoggerFactory loggers,
        RestartBackoff.Settings backoff)
    {
        var logger = loggers.CreateLogger("Porter.Workers.Pool");
        var wsgiLoader = Path.Combine(AppContext.BaseDirectory, "wsgi_loader.py");
        foreach (var app in options.Apps)
        {
            var environment = app.Environment ?? options.Environment;
            var pool = pools.Find(app.AppName)!;
            var supervisor = Context.ActorOf(
                AppSupervisor.Props(app, pool, () => AppTypeDetector.Plan(app, environment, wsgiLoader),
                    plan => AppProcess.Props(app, plan, processes, logger), logger, backoff),
                "app-" + Uri.EscapeDataString(app.Name));
            Context.Watch(supervisor);
        }
        ReceiveAny(_ => { });
    }

    public static Props Props(PorterOptions options, PoolRegistry pools, ProcessRegistry processes, ILoggerFactory loggers,
        RestartBackoff.Settings backoff) =>
        Akka.Actor.Props.Create(() => new PoolManager(options, pools, processes, loggers, backoff));
}

/// <summary>Akka.Hosting registration of the worker pool.</summary>
public static class PoolManagerHostingExtensions
{
    /// <summary>Starts the pool manager (and so every app's supervisor) and registers it as <c>IRequiredActor&lt;PoolManager&gt;</c>.</summary>
    public static AkkaConfigurationBuilder AddPoolManager(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
        {
            var manager = system.ActorOf(PoolManager.Props(
                resolver.GetService<PorterOptions>(),
                resolver.GetService<PoolRegistry>(),
                resolver.GetService<ProcessRegistry>(),
                resolver.GetService<ILoggerFactory>(),
                resolver.GetService<RestartBackoff.Settings>()), "pool");
            registry.Register<PoolManager>(manager);
        });

    /// <summary>The services the pool and dispatcher share.</summary>
    public static IServiceCollection AddWorkerPool(this IServiceCollection services)
    {
        services.AddSingleton<PoolRegistry>();
        services.AddSingleton<ProcessRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ProcessRegistry>());
        services.AddSingleton(RestartBackoff.Settings.Default);
        return services;
    }
}
