using Microsoft.AspNetCore.Http;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using HeaderNames = Microsoft.Net.Http.Headers.HeaderNames;

namespace Porter.Workers.Dispatching;

/// <summary>
/// Hop-by-hop headers (RFC 9110 §7.6.1): the ones a Connection header lists, whatever else it lists (keep-alive, close,
/// upgrade), and the fixed ones that only ever describe one connection. The edge removes them from the request once,
/// before the turbocache or the near-hit step read it, so what the cache judges is what the app receives; the
/// forwarder removes the listed ones from app responses.
/// </summary>
public static class HopByHopHeaders
{
    /// <summary>Hop-by-hop by definition, listed or not; YARP never forwards them either.</summary>
    private static readonly string[] Fixed =
        [HeaderNames.KeepAlive, HeaderNames.ProxyAuthorization, "Proxy-Connection", HeaderNames.TE, HeaderNames.Trailer];

    /// <summary>
    /// Removes the hop-by-hop headers from the request as the app will not see them. Kept: Connection itself (Kestrel
    /// and YARP read it), Upgrade on a real upgrade (YARP re-sends it to the app), and the framing and routing headers
    /// (Host, Content-Length, Transfer-Encoding), which Porter has already consumed and re-creates for the app itself.
    /// </summary>
    public static void RemoveFromRequest(HttpContext context)
    {
        var headers = context.Request.Headers;
        foreach (var name in Fixed) headers.Remove(name);
        var connection = headers.Connection;
        if (IsOnlyConnectionState(connection)) return;

        var upgrading = context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true;
        foreach (var name in ListedNames(connection))
        {
            if (IsKeptOnRequest(name, upgrading)) continue;
            headers.Remove(name);
        }
    }

    /// <summary>Removes what an app response's Connection header lists (keep-alive, close and upgrade are not header names here).</summary>
    public static void RemoveListedFromResponse(IHeaderDictionary responseHeaders, HeaderStringValues connection)
    {
        if (IsOnlyConnectionState(connection)) return;
        foreach (var name in ListedNames(connection))
        {
            if (IsConnectionState(name) || name.Equals(HeaderNames.Upgrade, StringComparison.OrdinalIgnoreCase)) continue;
            responseHeaders.Remove(name);
        }
    }

    /// <summary>Every token of the Connection values.</summary>
    public static IEnumerable<string> ListedNames(IEnumerable<string?> connection)
    {
        foreach (var value in connection)
        {
            if (value is null) continue;
            foreach (var token in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                yield return token;
        }
    }

    private static bool IsKeptOnRequest(string name, bool upgrading) =>
        name.Equals(HeaderNames.Connection, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
        || (upgrading && name.Equals(HeaderNames.Upgrade, StringComparison.OrdinalIgnoreCase));

    private static bool IsConnectionState(ReadOnlySpan<char> token) =>
        token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase) || token.Equals("close", StringComparison.OrdinalIgnoreCase);

    // The usual "keep-alive" or "close" alone names no other header: nothing to split or allocate (and no boxed enumerator).
    private static bool IsOnlyConnectionState(StringValues values)
    {
        for (var i = 0; i < values.Count; i++)
            if (values[i] is { } value && !IsConnectionState(value.AsSpan().Trim())) return false;
        return true;
    }

    private static bool IsOnlyConnectionState(HeaderStringValues values)
    {
        foreach (var value in values)
            if (!IsConnectionState(value.AsSpan().Trim())) return false;
        return true;
    }
}
