using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Porter.CacheShard.Policy;
using Porter.Gateway.Edge;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;

namespace Porter.Gateway.Caching;

/// <summary>
/// The first step of the public pipeline: a hit on a hot key is answered from the near cache here, before the steps
/// a hit does not need (forwarded headers, static files, the turbocache's miss handling). Everything else, and any
/// request the later steps could answer differently, goes down the full pipeline:
/// a request the guard refuses, one that may name a static file of the app, one carrying X-Forwarded-* or Forwarded
/// (the full pipeline rewrites those before its lookup; stored variants always hold the rewritten values, so a request
/// without them cannot match a variant chosen by them), and one the cache may not look up (a body, no-cache, ...).
/// </summary>
public sealed class NearHitMiddleware
{
    private readonly RequestDelegate _next;
    private readonly NearCacheHits _hits;
    private readonly AppResolver _apps;
    private readonly PorterMetrics _metrics;
    private readonly FrozenSet<string> _appsWithFiles;

    public NearHitMiddleware(RequestDelegate next, NearCacheHits hits, AppResolver apps, PorterMetrics metrics)
    {
        _next = next;
        _hits = hits;
        _apps = apps;
        _metrics = metrics;
        _appsWithFiles = apps.All.Where(r => AppStaticFilesMiddleware.PublicFolder(r.App) is not null).Select(r => r.App.Name).ToFrozenSet();
    }

    public Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return _next(context);
        if (_apps.Resolve(request.Host) is not { } resolved || !_hits.TryGetPolicy(resolved.App.Name, out var policy)) return _next(context);
        var headers = request.Headers;
        if (ForwardedHeadersMiddleware.HasForwardingHeaders(headers)
            || (_appsWithFiles.Contains(resolved.App.Name) && AppStaticFilesMiddleware.MayBeFile(request.Path))
            || RequestGuardMiddleware.Refusal(context) != RequestGuardMiddleware.Refused.No)
            return _next(context);

        var evaluation = policy.Request.Evaluate(request.Method, headers);
        if (!evaluation.CanLookup || !_hits.TryServe(context, policy, evaluation, out var written)) return _next(context);
        if (written.IsCompletedSuccessfully)
        {
            Record(context, resolved.App.Name, started);
            return Task.CompletedTask;
        }
        return RecordWhenWrittenAsync(written, context, resolved.App.Name, started);
    }

    private async Task RecordWhenWrittenAsync(Task written, HttpContext context, string app, long started)
    {
        try
        {
            await written;
        }
        finally
        {
            Record(context, app, started);
        }
    }

    // The same series RequestMetricsMiddleware records for the requests that take the full pipeline.
    private void Record(HttpContext context, string app, long started) =>
        _metrics.RecordRequest(app, CacheStatus.Hit, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
}
