using Microsoft.AspNetCore.Http;
using Porter.Workers.Dispatching;

namespace Porter.Gateway.Edge;

/// <summary>
/// The first step of the public pipeline: removes hop-by-hop request headers (every header the Connection header
/// lists, and the fixed ones) before anything reads the request. The near-hit step, the turbocache and the forwarder
/// then all see the request the app will receive, so no variant is built from a header the app never got.
/// </summary>
public sealed class HopByHopHeadersMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        HopByHopHeaders.RemoveFromRequest(context);
        return next(context);
    }
}
