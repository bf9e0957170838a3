using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Hosting.Edge;

namespace Porter.Gateway.Edge;

/// <summary>
/// Refuses requests that must not reach static files or apps: a declared body over the size limit (413), and paths
/// that try to climb out of a folder: a ".." segment however it is spelled (plain, percent-encoded,
/// with encoded or back slashes). Kestrel already normalises plain dot segments; this catches the encoded forms that
/// reach the static-file step or the app still encoded.
/// </summary>
public sealed class RequestGuardMiddleware(RequestDelegate next)
{
    private static readonly SearchValues<char> ClimbChars = SearchValues.Create(".%\\");

    public Task InvokeAsync(HttpContext context) => Refusal(context) switch
    {
        Refused.BadPath => ErrorResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad request path"),
        Refused.BodyTooLarge => ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Request body too large"),
        _ => next(context),
    };

    /// <summary>Why this request is refused, if it is; also asked by steps that answer before this one runs.</summary>
    public static Refused Refusal(HttpContext context)
    {
        var raw = (context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "").AsSpan();
        var query = raw.IndexOf('?');
        if (query >= 0) raw = raw[..query];
        if (HasDotDotSegment(raw) || HasDotDotSegment(context.Request.Path.Value) || raw.Contains('\0') || raw.Contains("%00", StringComparison.Ordinal))
            return Refused.BadPath;
        if (context.Request.ContentLength is { } length
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } limit && length > limit)
            return Refused.BodyTooLarge;
        return Refused.No;
    }

    public enum Refused : byte { No, BadPath, BodyTooLarge }

    /// <summary>True when any segment, after repeated percent-decoding and treating '\' as '/', is "..".</summary>
    public static bool HasDotDotSegment(string? path) => HasDotDotSegment(path.AsSpan());

    /// <inheritdoc cref="HasDotDotSegment(string?)"/>
    public static bool HasDotDotSegment(ReadOnlySpan<char> path)
    {
        // Every request passes here: a path without a dot, a percent sign or a backslash cannot climb, and is the common case.
        if (path.IndexOfAny(ClimbChars) < 0) return false;
        var decoded = path.ToString();
        // Decode until stable (bounded) so double-encoding such as %252e%252e is caught too.
        for (var i = 0; i < 3 && decoded.Contains('%'); i++) decoded = Uri.UnescapeDataString(decoded);
        foreach (var segment in decoded.Replace('\\', '/').Split('/'))
            if (segment.Trim() == "..") return true;
        return false;
    }
}
