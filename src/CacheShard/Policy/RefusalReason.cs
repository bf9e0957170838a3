namespace Porter.CacheShard.Policy;

/// <summary>Why a response was not stored; every refusal is counted per app under its reason.</summary>
/// <remarks>Values are dense from 0 so counters can index an array by them.</remarks>
public enum RefusalReason
{
    /// <summary>Not refused: the response is storable.</summary>
    None = 0,

    /// <summary>Only responses to GET are stored (HEAD is answered from the GET entry).</summary>
    MethodNotCacheable,

    /// <summary>Status outside 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501.</summary>
    StatusNotCacheable,

    /// <summary>The request said Cache-Control: no-store.</summary>
    RequestNoStore,

    /// <summary>The response said Cache-Control: no-store.</summary>
    NoStore,

    /// <summary>The response said Cache-Control: private (qualified or not): meant for one user.</summary>
    Private,

    /// <summary>Neither s-maxage, max-age nor Expires, and no heuristic allowed (needs public and Last-Modified).</summary>
    NoExplicitLifetime,

    /// <summary>Stale on arrival (or no-cache) with nothing to revalidate with and no stale-serving window: storing it is useless.</summary>
    StaleWithoutValidator,

    /// <summary>The request carried Authorization and the response lacks public, s-maxage and must-revalidate (RFC 9111 §3.5).</summary>
    AuthorizedRequest,

    /// <summary>Set-Cookie: replaying it would hand one client's cookie to others.</summary>
    SetCookie,

    /// <summary>WWW-Authenticate or Proxy-Authenticate: a per-client authentication challenge.</summary>
    AuthenticationChallenge,

    /// <summary>X-Sendfile or X-Accel-Redirect: an instruction to the front server, not content.</summary>
    InternalRedirect,

    /// <summary>Vary: * (RFC 9111 §4.1: never matches).</summary>
    VaryAll,

    /// <summary>Vary: Cookie without a vary cookie configured for the app: the variant would be per user.</summary>
    VaryCookieNotConfigured,

    /// <summary>The app has a vary cookie and the request's Cookie header is not plain (see <see cref="RequestCookies"/>): the app could read the cookie otherwise.</summary>
    AmbiguousVaryCookie,

    /// <summary>The body is larger than the per-entry limit; it streams through uncached.</summary>
    BodyTooLarge,

    /// <summary>The body did not arrive completely (app or client aborted); reported by the caller that buffers it.</summary>
    IncompleteBody,

    /// <summary>A GET or HEAD with a body: the answer may depend on the body, which the key does not hold.</summary>
    RequestBody,
}
