using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Workers.Dispatching;
using Porter.Workers.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Porter.Gateway.Forwarding;

/// <summary>
/// A gateway-only node's last step: forwards the request to a worker node serving its app (the one with the fewest
/// requests in flight from this gateway) over pooled HTTP/1.1 keep-alive connections. A request that never reached
/// a worker (connection refused, or failed before a response byte while safe to repeat) is retried on another one.
/// </summary>
public sealed class WorkerForwarder(WorkerRoutes routes, IHttpForwarder forwarder, GatewayCredentials credentials, PorterMetrics metrics,
    ILogger<WorkerForwarder> logger)
{
    /// <summary>How long the Retry-After header tells clients to wait when no worker serves the app.</summary>
    public const int RetryAfterSeconds = 5;

    private const int MaxAttempts = 3;

    private static readonly HttpMessageInvoker Client = UpstreamHttp.CreateInvoker();

    private readonly WorkerRequestTransformer _transformer = new(credentials);

    public async Task ForwardAsync(HttpContext context, AppOptions app)
    {
        List<WorkerRoutes.Worker>? failed = null;
        for (var attempt = 1; ; attempt++)
        {
            if (routes.Pick(app.Name, (IReadOnlyCollection<WorkerRoutes.Worker>?)failed ?? []) is not { } worker)
            {
                if (ForwardingFailures.HandledByHook(context, StatusCodes.Status503ServiceUnavailable)) return;
                await ErrorResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                    "No worker node serves this application right now", RetryAfterSeconds);
                return;
            }

            ForwarderError error;
            worker.Enter();
            try
            {
                error = await forwarder.SendAsync(context, worker.Endpoint.OriginalString, Client, UpstreamHttp.RequestConfig, _transformer);
            }
            finally
            {
                worker.Exit();
            }
            if (error == ForwarderError.None) return;

            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (attempt < MaxAttempts && ForwardingFailures.IsRetryable(context, error))
            {
                logger.LogWarning("{App}: worker {Worker} failed before answering ({Error}: {Message}); retrying on another worker",
                    app.Name, worker.Node, error, exception?.Message);
                ForwardingFailures.ResetForRetry(context);
                (failed ??= []).Add(worker);
                continue;
            }
            if (!ForwardingFailures.CountClientFault(context, error, metrics, logger, app.Name) && !context.RequestAborted.IsCancellationRequested)
                logger.LogWarning("{App}: forwarding to worker {Worker} failed with {Error}: {Message}", app.Name, worker.Node, error, exception?.Message);
            await ForwardingFailures.AnswerAsync(context, error, "worker node");
            return;
        }
    }

    /// <summary>
    /// The app forwarding rules plus what the worker needs: the app's name (it need not resolve the Host again) and
    /// this gateway's signature, without which the worker's internal listener refuses the request.
    /// </summary>
    private sealed class WorkerRequestTransformer(GatewayCredentials credentials) : AppRequestTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
            string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove(AppResolver.AppHeader);
            // Escaped: header values are ASCII, app names (folder names) need not be.
            proxyRequest.Headers.TryAddWithoutValidation(AppResolver.AppHeader, Uri.EscapeDataString(httpContext.Features.Get<ResolvedApp>()!.App.Name));
            proxyRequest.Headers.Remove(GatewayCredentials.Header);
            proxyRequest.Headers.TryAddWithoutValidation(GatewayCredentials.Header, credentials.Sign());
        }
    }
}
