using System.Net;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Porter.Contracts.Options;
using Porter.Hosting.Management.Dashboard;

namespace Porter.Hosting.Management;

/// <summary>
/// The management API's wiring: its own Kestrel listener (on the node address unless --management-address says otherwise), a pipeline that only serves
/// management routes there (the public pipeline never sees them), health checks and Prometheus metrics.
/// </summary>
public static class ManagementHosting
{
    private const string LivenessTag = "liveness";
    private const string ReadinessTag = "ready";

    /// <summary>Marks connections accepted on the management listener.</summary>
    private sealed class ManagementConnection
    {
        public static readonly ManagementConnection Instance = new();
    }

    public static IServiceCollection AddManagement(this IServiceCollection services)
    {
        services.AddHealthChecks();
        services.AddSingleton<HealthTransitions>();
        services.AddRouting();
        services.AddSingleton<PorterMetrics>();
        services.AddSingleton<BearerTokenFilter>();
        services.AddDashboard();
        services.AddOpenTelemetry()
            // target_info names the service "porter" (not "unknown_service:dotnet").
            .ConfigureResource(resource => resource.AddService("porter"))
            .WithMetrics(metrics => metrics
            .AddMeter(PorterMetrics.MeterName)
            // Each scrape reads the instruments now: by default the exporter answers repeated scrapes from a short-lived cache.
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>Liveness: the actor system runs. Readiness: this node is an Up cluster member.</summary>
    public static AkkaConfigurationBuilder WithManagementHealthChecks(this AkkaConfigurationBuilder builder) => builder
        .WithActorSystemLivenessCheck(tags: [LivenessTag])
        .WithAkkaClusterReadinessCheck(tags: [ReadinessTag]);

    /// <summary>Adds the management listener on <paramref name="address"/> (never the public port) unless it is turned off.</summary>
    public static void ListenForManagement(this KestrelServerOptions kestrel, PorterOptions options, IPAddress address)
    {
        if (options.Management.Port < 0) return;
        kestrel.Listen(address, options.Management.Port, listen => listen.Use(next => connection =>
        {
            connection.Features.Set(ManagementConnection.Instance);
            return next(connection);
        }));
    }

    /// <summary>
    /// The health route <paramref name="route"/> over the checks with <paramref name="tag"/>. Its answer is ASP.NET's plain status text; its log is
    /// one line per change of status (<see cref="HealthTransitions"/>) instead of the health-check service's error line
    /// for every unhealthy poll (a probe asks every few seconds while a node waits to join).
    /// </summary>
    private static HealthCheckOptions HealthCheck(string route, string tag) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResponseWriter = (context, report) =>
        {
            context.RequestServices.GetRequiredService<HealthTransitions>().Observe(route, report);
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync(report.Status.ToString());
        },
    };

    private static bool IsManagement(HttpContext context) => context.Features.Get<ManagementConnection>() is not null;

    /// <summary>
    /// Branches management connections to the management routes before the public pipeline starts: the routes
    /// every node has (health, cluster, cluster-wide pool and cache, metrics) plus any of the node's roles (OOB).
    /// </summary>
    public static void UseManagement(this WebApplication app, params Action<IEndpointRouteBuilder>[] roleRoutes)
    {
        app.MapWhen(IsManagement, management =>
        {
            management.UseRouting();
            management.UseEndpoints(routes =>
            {
                routes.MapHealthChecks("/alive", HealthCheck("/alive", LivenessTag));
                routes.MapHealthChecks("/ready", HealthCheck("/ready", ReadinessTag));
                routes.MapClusterMembersApi();
                routes.MapClusterStateApi();
                routes.MapDashboard();
                foreach (var map in roleRoutes) map(routes);
                routes.MapPrometheusScrapingEndpoint("/metrics");
            });
            management.Run(context =>
                ManagementErrors.NotFound($"no management route {context.Request.Method} {context.Request.Path}").ExecuteAsync(context));
        });
    }
}
