using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;

namespace Porter.Hosting.Edge;

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

    /// <summary>The request header through which a gateway names the app of a request it forwards to a worker node.</summary>
    public const string AppHeader = "X-Porter-App";

    /// <summary>Every app, in configuration order.</summary>
    public IReadOnlyList<ResolvedApp> All { get; }

    /// <summary>The app with this name, or null.</summary>
    public ResolvedApp? ByName(string name)
    {
        foreach (var app in All)
            if (app.App.Name == name) return app;
        return null;
    }

    /// <summary>The app for a Host header value (port ignored, case-insensitive), or null.</summary>
    public ResolvedApp? Resolve(HostString host)
    {
        if (_byHost.Count > 0 && host.HasValue && _byHost.TryGetValue(host.Host, out var app)) return app;
        return _catchAll;
    }
}

/// <summary>
/// Finds the request's app (404 when no app claims the host) and stores it as a request feature. On a worker node's
/// internal listener the forwarding gateway names the app in <see cref="AppResolver.AppHeader"/> (it resolved the
/// Host already); elsewhere a client's copy of that header is ignored. Either way it is removed, so the app never sees it.
/// </summary>
public sealed class AppResolutionMiddleware(RequestDelegate next, AppResolver resolver, bool trustAppHeader = false)
{
    public Task InvokeAsync(HttpContext context)
    {
        // Removed either way: only a gateway may name the app, and apps never see Porter's internal header.
        var named = context.Request.Headers.Remove(AppResolver.AppHeader, out var value);
        var app = trustAppHeader && named
            ? resolver.ByName(Uri.UnescapeDataString(value.ToString()))
            : resolver.Resolve(context.Request.Host);
        if (app is null)
            return ErrorResponses.WriteAsync(context, StatusCodes.Status404NotFound, "No application is configured for this host");
        context.Features.Set(app);
        return next(context);
    }
}
