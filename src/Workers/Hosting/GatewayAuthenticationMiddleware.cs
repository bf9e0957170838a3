using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Porter.Hosting.Edge;

namespace Porter.Workers.Hosting;

/// <summary>
/// The first step of a worker node's internal listener: only requests a gateway of this cluster signed (see
/// <see cref="GatewayCredentials"/>) go on; anyone else gets 403. The header is removed, so apps never see it, and
/// only then is the gateway's X-Porter-App trusted.
/// </summary>
public sealed class GatewayAuthenticationMiddleware(RequestDelegate next, GatewayCredentials credentials, ILogger<GatewayAuthenticationMiddleware> logger)
{
    private static readonly long LogEvery = TimeSpan.FromSeconds(10).Ticks;
    private long _lastLogged = -LogEvery;

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.Remove(GatewayCredentials.Header, out var value) && value.Count == 1 && credentials.Verify(value[0]))
            return next(context);
        LogRefusal(context, value.Count > 0);
        return ErrorResponses.WriteAsync(context, StatusCodes.Status403Forbidden, "This listener serves only the gateways of its cluster");
    }

    // Anyone who reaches the port can cause refusals: one line per 10 s says enough.
    private void LogRefusal(HttpContext context, bool signed)
    {
        var now = DateTime.UtcNow.Ticks;
        var last = Interlocked.Read(ref _lastLogged);
        if (now - last < LogEvery || Interlocked.CompareExchange(ref _lastLogged, now, last) != last) return;
        logger.LogWarning(signed
                ? "Refused a request from {Peer} whose gateway signature does not verify: do the nodes share --cluster-secret, and are their clocks within {Skew}?"
                : "Refused a request from {Peer} without a gateway signature: the internal listener serves only the cluster's gateways",
            context.Connection.RemoteIpAddress, GatewayCredentials.MaxSkew);
    }
}
