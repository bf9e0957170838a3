using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;

namespace Porter.Gateway.Edge;

/// <summary>
/// Refuses requests that must not reach static files or apps: paths that try to climb out of a folder (a ".." segment
/// however it is spelled: plain, percent-encoded, with encoded or back slashes; Kestrel already normalises plain dot
/// segments, this catches the encoded forms that reach the static-file step or the app still encoded) and targets with
/// a NUL or a fragment (400); Porter's internal paths under /.porter/, which only Porter itself calls on app processes
/// (404); CONNECT, since Porter tunnels nothing (501); a declared body over the size limit (413). Each refusal is
/// counted as a client error.
/// </summary>
public sealed class RequestGuardMiddleware(RequestDelegate next, AppResolver apps, PorterMetrics metrics)
{
    private static readonly SearchValues<char> ClimbChars = SearchValues.Create(".%\\");

    /// <summary>The first path segment of the endpoints Porter calls on app processes (POST /.porter/oob-work).</summary>
    private const string InternalSegment = ".porter";

    public Task InvokeAsync(HttpContext context)
    {
        var refusal = Refusal(context);
        if (refusal == Refused.No) return next(context);
        metrics.RecordClientError(apps.Resolve(context.Request.Host)?.App.Name ?? "none", ReasonOf(refusal));
        return refusal switch
        {
            Refused.InternalPath => ErrorResponses.WriteAsync(context, StatusCodes.Status404NotFound, "Not found"),
            Refused.MethodNotSupported => ErrorResponses.WriteAsync(context, StatusCodes.Status501NotImplemented, "Porter does not tunnel (CONNECT)"),
            Refused.BodyTooLarge => ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Request body too large"),
            _ => ErrorResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad request path"),
        };
    }

    /// <summary>Why this request is refused, if it is; also asked by steps that answer before this one runs.</summary>
    public static Refused Refusal(HttpContext context)
    {
        if (HttpMethods.IsConnect(context.Request.Method)) return Refused.MethodNotSupported;
        var raw = (context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "").AsSpan();
        // A fragment never belongs in a request target (RFC 9112 §3.2), yet Kestrel lets '#' through.
        if (raw.Contains('#')) return Refused.BadPath;
        var query = raw.IndexOf('?');
        if (query >= 0) raw = raw[..query];
        if (raw.Contains('\0') || raw.Contains("%00", StringComparison.Ordinal)) return Refused.BadPath;
        // Every request passes here: a path without a dot, a percent sign or a backslash can neither climb nor name
        // /.porter/, and is the common case. Kestrel's decoded path is checked too (it decoded what the raw form hides).
        if (raw.IndexOfAny(ClimbChars) >= 0)
        {
            var refused = PathRefusal(raw);
            if (refused == Refused.No) refused = PathRefusal(context.Request.Path.Value);
            if (refused != Refused.No) return refused;
        }
        if (context.Request.ContentLength is { } length
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } limit && length > limit)
            return Refused.BodyTooLarge;
        return Refused.No;
    }

    public enum Refused : byte { No, BadPath, InternalPath, MethodNotSupported, BodyTooLarge }

    /// <summary>The metrics label of a refusal: a fixed set, never anything the request carried.</summary>
    private static string ReasonOf(Refused refusal) => refusal switch
    {
        Refused.InternalPath => ClientErrors.InternalPath,
        Refused.MethodNotSupported => ClientErrors.MethodNotSupported,
        Refused.BodyTooLarge => ClientErrors.BodyTooLarge,
        _ => ClientErrors.BadPath,
    };

    /// <summary>True when any segment, after repeated percent-decoding and treating '\' as '/', is "..".</summary>
    public static bool HasDotDotSegment(string? path) => PathRefusal(path) == Refused.BadPath;

    /// <summary>
    /// True when the first segment, decoded the same way, is ".porter" in any case: apps decode once (Python's
    /// PATH_INFO), some twice, and a router may ignore empty segments, so every spelling of /.porter/ counts.
    /// </summary>
    public static bool IsInternalPath(string? path) => PathRefusal(path) == Refused.InternalPath;

    /// <summary>BadPath for a ".." segment anywhere, InternalPath for a first segment ".porter", else No; one decoding pass.</summary>
    private static Refused PathRefusal(ReadOnlySpan<char> path)
    {
        if (path.IndexOfAny(ClimbChars) < 0) return Refused.No;
        var first = true;
        var refused = Refused.No;
        foreach (var segment in DecodedSegments(path))
        {
            var name = segment.Trim();
            if (name == "..") return Refused.BadPath;
            if (name.Length == 0 || !first) continue;
            first = false;
            if (name.Equals(InternalSegment, StringComparison.OrdinalIgnoreCase)) refused = Refused.InternalPath;
        }
        return refused;
    }

    private static string[] DecodedSegments(ReadOnlySpan<char> path)
    {
        var decoded = path.ToString();
        // Decode until stable (bounded) so double-encoding such as %252e%252e is caught too.
        for (var i = 0; i < 3 && decoded.Contains('%'); i++) decoded = Uri.UnescapeDataString(decoded);
        return decoded.Replace('\\', '/').Split('/');
    }
}
