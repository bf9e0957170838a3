using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Workers.Dispatching.Buffering;
using Porter.Workers.Pool;
using Yarp.ReverseProxy.Forwarder;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Workers.Management;

namespace Porter.Workers.Dispatching;

/// <summary>
/// The worker's data plane: takes a request for an app, picks a process from the app's pool (least busy, or queue),
/// and forwards the request to it over pooled HTTP/1.1 keep-alive connections with YARP's forwarder.
/// </summary>
public sealed class AppDispatcher(PoolRegistry pools, IHttpForwarder forwarder, PorterOptions options, PorterMetrics metrics,
    ResponseBufferBudget responseBuffers, ILogger<AppDispatcher> logger, InFlightRequests inFlight)
{
    /// <summary>How long the Retry-After header tells clients to wait after a 503.</summary>
    public const int RetryAfterSeconds = 5;

    // One invoker for every app process: connections to each process's port are pooled and kept alive.
    private static readonly HttpMessageInvoker Client = UpstreamHttp.CreateInvoker();

    /// <summary>Forwards the request to one of the app's processes and streams the answer back.</summary>
    public async Task DispatchAsync(HttpContext context, AppOptions app)
    {
        if (pools.Find(app.AppName) is not { } pool)
        {
            await ErrorResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                "This application is not served here", RetryAfterSeconds);
            return;
        }

        try
        {
            await CheckRestartFilesAsync(pool, app, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (RequestBodyBuffer.Applies(context, app, pool))
        {
            try
            {
                await RequestBodyBuffer.InstallAsync(context, responseBuffers);
            }
            catch (BadHttpRequestException bad)
            {
                await ForwardingFailures.AnswerClientFaultAsync(context, bad.StatusCode, metrics, app.Name);
                return;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
        }

        var stickyRoute = app.StickySessions ? context.Request.Cookies[app.StickySessionsCookieName] : null;
        var sticky = stickyRoute is null ? null : pool.FindRoute(stickyRoute);
        ProcessEndpoint? failedEndpoint = null;
        // What GET /requests lists: queued until a process takes it, then that process's, until the answer is sent.
        using var tracked = inFlight.Track(context, app.Name);
        for (var attempt = 0; ; attempt++)
        {
            tracked.Waiting();
            AcquireResult acquired;
            try
            {
                acquired = await pool.AcquireAsync(failedEndpoint, sticky, context.RequestAborted);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            if (acquired.Endpoint is not { } endpoint)
            {
                await WriteNoProcessAsync(context, app, acquired);
                return;
            }
            tracked.AssignedTo(endpoint.Pid.Value);
            if (app.StickySessions && endpoint.RouteId != stickyRoute)
                context.Features.Set(new StickySessionCookie(StickySessionCookie.Format(context, app.StickySessionsCookieName, endpoint.RouteId)));

            ForwarderError error;
            bool overDeadline;
            var deadline = RequestDeadline.Start(context, app);
            var buffer = ResponseBuffer.Install(context, app, responseBuffers);
            try
            {
                error = await forwarder.SendAsync(context, endpoint.BaseUri, Client, UpstreamHttp.RequestConfig, AppRequestTransformer.Instance);
            }
            finally
            {
                overDeadline = deadline?.Expired == true;
                deadline?.Dispose();
                pool.Release(endpoint, context.Features.Get<OobWorkRequested>() is not null);
            }
            // The process is free again; a buffered answer now goes to the client at the client's pace.
            if (buffer is not null)
            {
                if (error == ForwarderError.None && !overDeadline) await buffer.DeliverAsync(context.RequestAborted);
                else buffer.Discard();
            }
            if (overDeadline)
            {
                // A process that took this long is taken to hang: it is replaced, and this request is not retried.
                logger.LogWarning("{App} process {Pid} did not finish a request within max-request-time ({Seconds} s): 504, and the process is replaced",
                    app.Name, endpoint.Pid.Value, app.MaxRequestTime);
                pool.ReportOverMaxRequestTime(endpoint);
                await deadline!.AnswerAsync();
                return;
            }
            if (error == ForwarderError.None) return;

            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (attempt == 0 && ForwardingFailures.IsRetryable(context, error))
            {
                logger.LogWarning("{App} process {Pid} failed before answering ({Error}: {Message}); retrying on another process",
                    app.Name, endpoint.Pid.Value, error, exception?.Message);
                ForwardingFailures.ResetForRetry(context);
                failedEndpoint = endpoint;
                continue;
            }
            // A client's broken or stalled body is not the process's failure: counted and answered 4xx, never logged as the app's.
            if (!ForwardingFailures.CountClientFault(context, error, metrics, logger, app.Name) && !context.RequestAborted.IsCancellationRequested)
                logger.LogWarning("{App} process {Pid}: forwarding failed with {Error}: {Message}",
                    app.Name, endpoint.Pid.Value, error, exception?.Message);
            await ForwardingFailures.AnswerAsync(context, error, "application process");
            return;
        }
    }

    /// <summary>
    /// tmp/restart.txt touched with rolling restarts: ask and go on, the old processes serve until their successors
    /// are ready. A blocking restart, and tmp/always_restart.txt (always blocking): this request waits until the old
    /// processes are out of rotation, so a fresh process serves it, as Passenger restarts before routing.
    /// </summary>
    private static async Task CheckRestartFilesAsync(AppPool pool, AppOptions app, CancellationToken ct)
    {
        var outcome = pool.Restarts?.Check(DateTime.UtcNow) ?? RestartTrigger.Outcome.None;
        if (outcome == RestartTrigger.Outcome.None) return;
        if (outcome == RestartTrigger.Outcome.Restart && app.RestartMethod == RestartMethod.Rolling)
        {
            pool.RequestRestart(RestartMethod.Rolling);
            return;
        }
        try
        {
            await pool.RestartAsync(RestartMethod.Blocking, ct);
        }
        catch (TimeoutException)
        {
            // The supervisor did not answer in time: serve with whatever is routable rather than fail.
        }
    }

    private Task WriteNoProcessAsync(HttpContext context, AppOptions app, AcquireResult result)
    {
        var status = result.Failure == AcquireFailure.QueueTimeout ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status503ServiceUnavailable;
        return ForwardingFailures.HandledByHook(context, status) ? Task.CompletedTask : WriteNoProcessPageAsync(context, app, result);
    }

    private Task WriteNoProcessPageAsync(HttpContext context, AppOptions app, AcquireResult result) => result.Failure switch
    {
        AcquireFailure.QueueFull => ErrorResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            "Request queue full", RetryAfterSeconds),
        AcquireFailure.QueueTimeout => ErrorResponses.WriteAsync(context, StatusCodes.Status504GatewayTimeout,
            "The request waited too long in the queue"),
        _ => ErrorResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            "The application is not available right now", RetryAfterSeconds,
            // The cause and stderr can hold secrets: only development shows them.
            options.IsDevelopment(app) && result.Cause is { } cause ? [cause.Reason, "", .. cause.StderrTail] : null),
    };
}
