using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Porter.Hosting.Edge;

/// <summary>
/// The request target exactly as the client sent it. Kestrel's <see cref="HttpRequest.Path"/> is decoded, and
/// re-encoding it changes what the client meant (<c>%2F</c>, invalid UTF-8 escapes and <c>%u</c> escapes come out as
/// <c>%25...</c>), so both the forwarders and the turbocache key use this raw form: the app answers the target the
/// key names, and two targets the app may tell apart never share a key.
/// </summary>
public static class RequestTarget
{
    /// <summary>
    /// The raw path and query of an origin-form target (or the path part of an absolute-form one), the query with its
    /// leading '?'. False for the asterisk and authority forms, and for a request built in process without a raw
    /// target: callers then fall back to the decoded path.
    /// </summary>
    public static bool TryGetRaw(HttpContext context, out ReadOnlySpan<char> path, out ReadOnlySpan<char> query)
    {
        ReadOnlySpan<char> raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw.Length > 0 && raw[0] != '/')
        {
            // Absolute form (RFC 9112 §3.2.2): "scheme://authority/path?query"; Kestrel has checked the authority against Host.
            var authority = raw.IndexOf("://", StringComparison.Ordinal);
            if (authority < 0)
            {
                path = query = default;
                return false;
            }
            raw = raw[(authority + 3)..];
            var start = raw.IndexOfAny('/', '?');
            if (start < 0) raw = "/";
            else if (raw[start] == '?') raw = string.Concat("/", raw[start..]);
            else raw = raw[start..];
        }
        if (raw.IsEmpty)
        {
            path = query = default;
            return false;
        }
        var mark = raw.IndexOf('?');
        path = mark < 0 ? raw : raw[..mark];
        query = mark < 0 ? default : raw[mark..];
        return true;
    }

    /// <summary>The path and query the cache keys on and the forwarders send: raw when there is a raw target, else the decoded path.</summary>
    public static void Split(HttpContext context, out ReadOnlySpan<char> path, out ReadOnlySpan<char> query)
    {
        if (TryGetRaw(context, out path, out query)) return;
        path = context.Request.Path.Value;
        query = context.Request.QueryString.Value;
    }

    /// <summary><see cref="Split"/> as strings, for the paths that allocate anyway (invalidation).</summary>
    public static (string Path, string Query) ToStrings(HttpContext context)
    {
        Split(context, out var path, out var query);
        return (path.ToString(), query.ToString());
    }

    /// <summary>Gives a request built in process (a background refresh) the raw target of the one it stands in for.</summary>
    public static void CopyRaw(HttpContext source, HttpContext target)
    {
        if (target.Features.Get<IHttpRequestFeature>() is { } feature)
            feature.RawTarget = source.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
    }

    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>
    /// The URI to forward to: <paramref name="destinationPrefix"/> with the raw path and query appended unchanged
    /// (System.Uri would otherwise re-canonicalise them: %41 → A, %u → %25u); null when there is no raw target.
    /// </summary>
    public static Uri? ForwardUri(HttpContext context, string destinationPrefix)
    {
        if (!TryGetRaw(context, out var path, out var query)) return null;
        var prefix = destinationPrefix.AsSpan().TrimEnd('/');
        return new Uri(string.Concat(prefix, path, query), in Verbatim);
    }
}
