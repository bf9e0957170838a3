using Microsoft.AspNetCore.Http;

namespace Porter.Workers.Dispatching;

/// <summary>
/// A request feature through which a step in front of the dispatcher (the turbocache) takes part in forwarding:
/// it may add headers to the request sent to the app, and it sees the app's status and headers before any byte
/// reaches the client, so it can answer from elsewhere instead (a refreshed entry after a 304, a stale one after a 5xx).
/// </summary>
public interface IUpstreamResponseHook
{
    /// <summary>Called with the outgoing request after Porter's own header changes.</summary>
    void OnRequest(HttpContext context, HttpRequestMessage proxyRequest);

    /// <summary>
    /// Called once the app's response headers are copied to <paramref name="context"/> but nothing is sent yet.
    /// Return false to drop the app's body: the hook's owner then writes the response itself.
    /// </summary>
    bool OnResponse(HttpContext context, HttpResponseMessage proxyResponse);

    /// <summary>
    /// Called when the app gave no response (no process available, connection failed, timed out) before Porter writes
    /// its error page with <paramref name="statusCode"/>. Return true when the hook's owner answers instead.
    /// </summary>
    bool OnNoResponse(HttpContext context, int statusCode);
}
