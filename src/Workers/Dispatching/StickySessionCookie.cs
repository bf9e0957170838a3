using Microsoft.AspNetCore.Http;

namespace Porter.Workers.Dispatching;

/// <summary>
/// Present on a request whose answer must (re)set the sticky-session cookie: the client had none, or its process is
/// gone. The value names the process by its opaque route id, never by PID.
/// </summary>
public sealed class StickySessionCookie(string setCookie)
{
    /// <summary>The complete Set-Cookie header value.</summary>
    public string SetCookie { get; } = setCookie;

    /// <summary>
    /// HttpOnly and SameSite=Lax always; Secure when the client used https, directly or as X-Forwarded-Proto. The edge
    /// has already replaced X-Forwarded-Proto from untrusted peers, so its first value is the client's scheme.
    /// </summary>
    public static string Format(HttpContext context, string name, string routeId)
    {
        var forwardedProto = context.Request.Headers["X-Forwarded-Proto"].ToString();
        var comma = forwardedProto.IndexOf(',');
        var clientProto = (comma < 0 ? forwardedProto : forwardedProto[..comma]).Trim();
        var secure = context.Request.IsHttps || clientProto.Equals("https", StringComparison.OrdinalIgnoreCase);
        return $"{name}={routeId}; Path=/; HttpOnly; SameSite=Lax{(secure ? "; Secure" : "")}";
    }
}
