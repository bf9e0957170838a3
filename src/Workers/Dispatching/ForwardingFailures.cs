using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Yarp.ReverseProxy.Forwarder;

namespace Porter.Workers.Dispatching;

/// <summary>
/// What a forwarding hop (worker → app process, gateway → worker node) does when YARP reports an error: whether to
/// retry elsewhere, and otherwise which answer the client gets (or the turbocache, through its hook).
/// </summary>
public static class ForwardingFailures
{
    /// <summary>
    /// Only a request that never reached its target and is safe to send twice is retried: idempotent methods whose
    /// body (if any) was not read yet, or any request whose connection was refused (nothing was sent).
    /// </summary>
    public static bool IsRetryable(HttpContext context, ForwarderError error)
    {
        if (error != ForwarderError.Request || context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
            return false;
        if (context.Features.Get<IForwarderErrorFeature>()?.Exception is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } })
            return true;
        var method = context.Request.Method;
        var idempotent = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
            || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);
        var hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        return idempotent && !hasBody;
    }

    /// <summary>Clears the failed attempt's traces so the next attempt starts from a clean response.</summary>
    public static void ResetForRetry(HttpContext context)
    {
        context.Features.Set<IForwarderErrorFeature?>(null);
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>Lets the turbocache answer instead of an error page (a stale entry, say); true when it did.</summary>
    public static bool HandledByHook(HttpContext context, int status)
    {
        if (context.Features.Get<IUpstreamResponseHook>() is not { } hook || !hook.OnNoResponse(context, status)) return false;
        context.Features.Set<IForwarderErrorFeature?>(null);
        return true;
    }

    /// <summary>
    /// The status for a forward that failed because of the client rather than its target: the body was malformed
    /// (400: a bad chunk size, a body shorter than its Content-Length), stalled below Kestrel's minimum data rate (408),
    /// or grew past the limit while streaming (413). Null when the target (app process, worker node) is at fault.
    /// </summary>
    public static int? ClientFaultStatus(HttpContext context, ForwarderError error)
    {
        if (FindBadRequest(context.Features.Get<IForwarderErrorFeature>()?.Exception) is { } bad) return bad.StatusCode;
        return error == ForwarderError.RequestBodyClient ? StatusCodes.Status400BadRequest : null;
    }

    /// <summary>
    /// For a client's fault: counts it as a client error, logs it at debug level (a client can cause as many as it
    /// likes) and returns true. The caller logs a target's failure as its own warning.
    /// </summary>
    public static bool CountClientFault(HttpContext context, ForwarderError error, PorterMetrics metrics, ILogger logger, string app)
    {
        if (ClientFaultStatus(context, error) is not { } status) return false;
        metrics.RecordClientError(app, ClientErrorOf(status));
        logger.LogDebug("{App}: the client's request failed with {Status} ({Error}: {Message}), not the target",
            app, status, error, context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message);
        return true;
    }

    /// <summary>
    /// The client's answer to a failed, not retried forward: the client's own fault gets its 4xx (see
    /// <see cref="ClientFaultStatus"/>), a timeout 504, anything else 502 (unless the turbocache answers instead).
    /// </summary>
    public static Task AnswerAsync(HttpContext context, ForwarderError error, string targetName)
    {
        if (context.Response.HasStarted || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled)
            return Task.CompletedTask;
        if (ClientFaultStatus(context, error) is { } clientStatus) return WriteClientFaultAsync(context, clientStatus);
        var timedOut = error == ForwarderError.RequestTimedOut;
        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        if (HandledByHook(context, status)) return Task.CompletedTask;
        return ErrorResponses.WriteAsync(context, status,
            timedOut ? $"The {targetName} did not answer in time" : $"The {targetName} failed to answer");
    }

    /// <summary>A client's broken body found before forwarding (while it was buffered): counted, logged at debug level, answered.</summary>
    public static Task AnswerClientFaultAsync(HttpContext context, int status, PorterMetrics metrics, string app)
    {
        metrics.RecordClientError(app, ClientErrorOf(status));
        return WriteClientFaultAsync(context, status);
    }

    private static string ClientErrorOf(int status) => status switch
    {
        StatusCodes.Status408RequestTimeout => ClientErrors.BodyTimeout,
        StatusCodes.Status413PayloadTooLarge => ClientErrors.BodyTooLarge,
        _ => ClientErrors.BadBody,
    };

    private static Task WriteClientFaultAsync(HttpContext context, int status) =>
        ErrorResponses.WriteAsync(context, status, status switch
        {
            StatusCodes.Status408RequestTimeout => "The request body did not arrive in time",
            StatusCodes.Status413PayloadTooLarge => "Request body too large",
            _ => "Bad request body",
        });

    /// <summary>Kestrel's own verdict on the request (its status is the client's answer), wherever YARP wrapped it.</summary>
    private static BadHttpRequestException? FindBadRequest(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++)
        {
            if (exception is BadHttpRequestException bad) return bad;
            if (exception is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                    if (FindBadRequest(inner) is { } found) return found;
                return null;
            }
            exception = exception.InnerException;
        }
        return null;
    }
}
