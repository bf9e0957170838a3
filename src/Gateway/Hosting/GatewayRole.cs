using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Options;
using Porter.Gateway.Caching;
using Porter.Gateway.Edge;
using Porter.Gateway.Management;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;

namespace Porter.Gateway.Hosting;

/// <summary>The gateway and cache roles: the HTTP edge's services, the turbocache and its entities, and the edge pipeline.</summary>
public static class GatewayRole
{
    public static readonly string[] Roles = ["gateway", "cache"];

    public static IServiceCollection AddGatewayRole(this IServiceCollection services, PorterOptions options)
    {
        services.TryAddSingleton<AppResolver>();
        services.AddTurbocache(options.Turbocache);
        services.AddSingleton<NearCacheHits>();
        services.AddSingleton(ShardBreakers.ForEntities);
        services.AddSingleton<INodeReportSource, CacheReport>();
        return services;
    }

    public static AkkaConfigurationBuilder WithGatewayRole(this AkkaConfigurationBuilder akka, PorterOptions options) =>
        akka.WithTurbocache(hostsEntities: true, options.Turbocache);

    /// <summary>
    /// The public request path: hop-by-hop headers removed, near-cache hits, then metrics, guard, app by Host, static
    /// files, X-Forwarded-* (and the client's copies of private headers dropped), turbocache, and <paramref name="forward"/>
    /// (the in-process dispatcher on a standalone node, a worker node on a gateway).
    /// </summary>
    public static void UseGatewayPipeline(this WebApplication app, Func<HttpContext, AppOptions, Task> forward)
    {
        app.UseMiddleware<HopByHopHeadersMiddleware>();
        app.UseMiddleware<NearHitMiddleware>();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.UseMiddleware<RequestGuardMiddleware>();
        app.UseMiddleware<AppResolutionMiddleware>();
        app.UseMiddleware<AppStaticFilesMiddleware>();
        app.UseMiddleware<ForwardedHeadersMiddleware>();
        app.UseMiddleware<TurbocacheMiddleware>();
        app.Run(context => forward(context, context.Features.Get<ResolvedApp>()!.App));
    }
}
