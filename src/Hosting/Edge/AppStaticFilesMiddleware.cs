using System.Collections.Frozen;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Builder;

namespace Porter.Hosting.Edge;

/// <summary>
/// Serves files under each app's public/ folder directly (ranges, ETag, Last-Modified, content types from
/// ASP.NET's static-file middleware); anything that is not a file there goes on to the app.
/// </summary>
public sealed class AppStaticFilesMiddleware
{
    private readonly RequestDelegate _next;
    private readonly FrozenDictionary<string, StaticFileMiddleware> _byApp;

    public AppStaticFilesMiddleware(RequestDelegate next, AppResolver resolver, IWebHostEnvironment environment, ILoggerFactory loggers)
    {
        _next = next;
        _byApp = resolver.All
            .Where(r => Directory.Exists(Path.Combine(r.App.Root, "public")))
            .ToFrozenDictionary(r => r.App.Name, r => new StaticFileMiddleware(next, environment, Microsoft.Extensions.Options.Options.Create(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(Path.Combine(r.App.Root, "public")),
                ContentTypeProvider = new FileExtensionContentTypeProvider(),
            }), loggers));
    }

    public Task InvokeAsync(HttpContext context)
    {
        var app = context.Features.Get<ResolvedApp>()!;
        return _byApp.TryGetValue(app.App.Name, out var files) ? files.Invoke(context) : _next(context);
    }
}
