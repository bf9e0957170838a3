using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;

namespace Porter.Gateway.Edge;

/// <summary>The app a request is for, resolved once at the edge and read by every later step.</summary>
public sealed class ResolvedApp(AppOptions app)
{
    public AppOptions App { get; } = app;
}

/// <summary>Multitenancy by Host header: each app claims host names; an app with none answers every other host.</summary>
public sealed class AppResolver
{
    private readonly FrozenDictionary<string, ResolvedApp> _byHost;
    private readonly ResolvedApp? _catchAll;

    public AppResolver(PorterOptions options)
    {
        _byHost = options.Apps
            .SelectMany(app => app.Hosts.Select(host => (host, resolved: new ResolvedApp(app))))
            .ToFrozenDictionary(x => x.host, x => x.resolved, StringComparer.OrdinalIgnoreCase);
        _catchAll = options.Apps.FirstOrDefault(a => a.Hosts.Count == 0) is { } app ? new ResolvedApp(app) : null;
        All = options.Apps.Select(a => _byHost.Values.FirstOrDefault(r => r.App == a) ?? new ResolvedApp(a)).ToArray();
    }

    /// <summary>Every app, in configuration order.</summary>
    public IReadOnlyList<ResolvedApp> All { get; }

    /// <summary>The app for a Host header value (port ignored, case-insensitive), or null.</summary>
    public ResolvedApp? Resolve(HostString host)
    {
        if (_byHost.Count > 0 && host.HasValue && _byHost.TryGetValue(host.Host, out var app)) return app;
        return _catchAll;
    }
}

/// <summary>Finds the request's app (404 when no app claims the host) and stores it as a request feature.</summary>
public sealed class AppResolutionMiddleware(RequestDelegate next, AppResolver resolver)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (resolver.Resolve(context.Request.Host) is not { } app)
            return Workers.Dispatching.ErrorResponses.WriteAsync(context, StatusCodes.Status404NotFound, "No application is configured for this host");
        context.Features.Set(app);
        return next(context);
    }
}
