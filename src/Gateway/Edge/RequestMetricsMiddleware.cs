using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Porter.Gateway.Caching;
using Porter.Hosting.Management;
using Porter.Hosting.Edge;

namespace Porter.Gateway.Edge;

/// <summary>
/// Counts every public request and its duration, tagged with the app, the turbocache's verdict and the status class.
/// The labels take only values Porter chose (configured app names, the <see cref="CacheVerdict"/> the turbocache set,
/// five status classes): nothing a client or an app sends can add a series.
/// </summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, PorterMetrics metrics)
{
    /// <summary>The cache label of a request the turbocache did not judge (cache off, static file, refused).</summary>
    public const string NoVerdict = "NONE";

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
            var cache = context.Features.Get<CacheVerdict>()?.Status ?? NoVerdict;
            metrics.RecordRequest(app, cache, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
