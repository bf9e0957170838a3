using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Porter.Hosting.Management.Dashboard;

/// <summary>
/// <c>GET /dashboard</c> on the management port: one page (HTML, script and style embedded in this assembly, no build
/// step) that reads <c>GET /dashboard/events</c>, a server-sent-events stream of <see cref="DashboardFeed"/>'s snapshots.
/// Reading needs no token, as every GET route; the page's buttons call the mutating routes with the token the user types.
/// </summary>
public static class DashboardApi
{
    private static readonly Assembly Assets = typeof(DashboardApi).Assembly;

    private static readonly Dictionary<string, (string Resource, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        ["/dashboard"] = ("index.html", "text/html; charset=utf-8"),
        ["/dashboard/dashboard.js"] = ("dashboard.js", "text/javascript; charset=utf-8"),
        ["/dashboard/dashboard.css"] = ("dashboard.css", "text/css; charset=utf-8"),
    };

    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddSingleton<RequestTraffic>();
        services.AddSingleton<INodeReportSource>(sp => sp.GetRequiredService<RequestTraffic>());
        services.AddSingleton<DashboardSections>();
        services.AddSingleton<DashboardFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardFeed>());
        return services;
    }

    public static void MapDashboard(this IEndpointRouteBuilder routes)
    {
        foreach (var (path, (resource, contentType)) in Files)
            routes.MapGet(path, () => Results.Stream(Open(resource), contentType));
        routes.MapGet("/dashboard/events", StreamAsync);
    }

    private static Stream Open(string name) =>
        Assets.GetManifestResourceStream($"Porter.Hosting.Management.Dashboard.Assets.{name}")
        ?? throw new InvalidOperationException($"dashboard asset {name} is not embedded");

    private static async Task StreamAsync(HttpContext context, DashboardFeed feed, IHostApplicationLifetime lifetime)
    {
        // The stream ends with the page or with the node (shutdown must not wait for open pages).
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        // Tells the page how long to wait before it reconnects by itself.
        await response.WriteAsync("retry: 2000\n\n", done.Token);
        await response.Body.FlushAsync(done.Token);
        try
        {
            await foreach (var json in feed.SubscribeAsync(done.Token))
            {
                await response.WriteAsync($"event: snapshot\ndata: {json}\n\n", done.Token);
                await response.Body.FlushAsync(done.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
