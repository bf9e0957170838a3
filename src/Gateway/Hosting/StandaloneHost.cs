using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Options;
using Porter.Gateway.Caching;
using Porter.Gateway.Edge;
using Porter.Gateway.Management;
using Porter.Hosting.Management;
using Porter.Hosting;
using Porter.Workers.Dispatching;
using Porter.Workers.Management;
using Porter.Workers.Pool;

namespace Porter.Gateway.Hosting;

/// <summary>
/// The composition root of <c>porter start</c>: one process holding the gateway, cache and worker roles in a
/// cluster of one, with the dispatcher called in process (no network hop between gateway and worker).
/// </summary>
public static class StandaloneHost
{
    public static readonly string[] Roles = ["gateway", "cache", "worker"];

    public static WebApplication Build(PorterOptions options)
    {
        var builder = NodeHost.CreateBuilder(options);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(NodeHost.ListenAddress(options.Address), options.Port));

        builder.Services.AddWorkerPool();
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<AppDispatcher>();
        builder.Services.AddSingleton<AppResolver>();
        builder.Services.AddTurbocache(options.Turbocache);

        builder.Services.AddAkka(NodeHost.ActorSystemName, (akka, _) => akka
            .WithPorterNode(options, Roles)
            .WithTurbocache(hostsEntities: true, options.Turbocache)
            .AddPoolManager());

        var app = builder.Build();
        app.UseManagement(PoolApi.MapPoolApi, CacheApi.MapCacheApi);
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
}
