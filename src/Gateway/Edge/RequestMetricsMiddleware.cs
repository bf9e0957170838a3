using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;
using Porter.Hosting.Management;
using Porter.Hosting.Edge;

namespace Porter.Gateway.Edge;

/// <summary>Counts every public request and its duration, tagged with the app and the turbocache's verdict.</summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, PorterMetrics metrics, PorterOptions options)
{
    private readonly string _cacheHeader = options.Turbocache.CacheStatusHeader is { Length: > 0 } h ? h : "X-Cache";

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var app = context.Features.Get<ResolvedApp>()?.App.Name ?? "none";
            var cache = context.Response.Headers[_cacheHeader].ToString() is { Length: > 0 } status ? status : "NONE";
            metrics.RecordRequest(app, cache, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
