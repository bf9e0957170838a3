using System.Collections.Frozen;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Builder;
using Porter.Contracts.Options;

namespace Porter.Hosting.Edge;

/// <summary>
/// Serves files under each app's public/ folder directly (ranges, ETag, Last-Modified, content types from
/// ASP.NET's static-file middleware); anything that is not a file there goes on to the app. Symbolic links are
/// followed only within public/ (see <see cref="PublicFolderFiles"/>).
/// </summary>
public sealed class AppStaticFilesMiddleware
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    private readonly RequestDelegate _next;
    private readonly FrozenDictionary<string, StaticFileMiddleware> _byApp;

    /// <summary>The folder an app's static files are served from, when it exists.</summary>
    public static string? PublicFolder(AppOptions app) =>
        Path.Combine(app.Root, "public") is var folder && Directory.Exists(folder) ? folder : null;

    /// <summary>Whether a path could be a static file at all: the middleware serves only known content types.</summary>
    public static bool MayBeFile(PathString path) => ContentTypes.TryGetContentType(path.Value ?? "", out _);

    public AppStaticFilesMiddleware(RequestDelegate next, AppResolver resolver, IWebHostEnvironment environment, ILoggerFactory loggers)
    {
        _next = next;
        _byApp = resolver.All
            .Select(r => (r.App.Name, Folder: PublicFolder(r.App)))
            .Where(app => app.Folder is not null)
            .ToFrozenDictionary(app => app.Name, app => new StaticFileMiddleware(next, environment, Microsoft.Extensions.Options.Options.Create(new StaticFileOptions
            {
                FileProvider = new PublicFolderFiles(app.Folder!),
                ContentTypeProvider = ContentTypes,
            }), loggers));
    }

    public Task InvokeAsync(HttpContext context)
    {
        var app = context.Features.Get<ResolvedApp>()!;
        return _byApp.TryGetValue(app.App.Name, out var files) ? files.Invoke(context) : _next(context);
    }
}
