using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Hosting.Edge;
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

    /// <summary>The client's answer to a failed, not retried forward: 413 for a body that outgrew the limit, 504 on timeout, else 502.</summary>
    public static Task AnswerAsync(HttpContext context, ForwarderError error, string targetName)
    {
        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        if (exception is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
            // A chunked body that grew past the limit while streaming.
            return ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Request body too large");
        if (context.Response.HasStarted || error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled)
            return Task.CompletedTask;
        var timedOut = error == ForwarderError.RequestTimedOut;
        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        if (HandledByHook(context, status)) return Task.CompletedTask;
        return ErrorResponses.WriteAsync(context, status,
            timedOut ? $"The {targetName} did not answer in time" : $"The {targetName} failed to answer");
    }
}
