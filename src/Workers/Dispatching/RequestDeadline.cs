using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Contracts.Options;
using Porter.Hosting.Edge;
using Yarp.ReverseProxy.Forwarder;

namespace Porter.Workers.Dispatching;

/// <summary>
/// The app's <c>--max-request-time</c> for one forward to a process: while it runs, the request's abort token also
/// fires at the deadline, so YARP stops waiting for the app (and the connection to the hung process is dropped).
/// WebSocket upgrades are exempt: their connection lives as long as its users like.
/// </summary>
public sealed class RequestDeadline : IDisposable
{
    private readonly HttpContext _context;
    private readonly CancellationToken _clientAborted;
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    private RequestDeadline(HttpContext context, TimeSpan limit)
    {
        _context = context;
        _clientAborted = context.RequestAborted;
        _timer = new CancellationTokenSource(limit);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(_clientAborted, _timer.Token);
        context.RequestAborted = _linked.Token;
        Limit = limit;
    }

    public TimeSpan Limit { get; }

    /// <summary>The deadline passed while the client was still there: the app, not the client, took too long.</summary>
    public bool Expired => _timer.IsCancellationRequested && !_clientAborted.IsCancellationRequested;

    /// <summary>Starts the deadline for this forward, or returns null when the app has none (or the request upgrades).</summary>
    public static RequestDeadline? Start(HttpContext context, AppOptions app)
    {
        if (app.MaxRequestTime <= 0 || context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true) return null;
        return new RequestDeadline(context, TimeSpan.FromSeconds(app.MaxRequestTime));
    }

    /// <summary>
    /// The client's answer once the deadline passed: 504 when nothing was sent yet (unless the turbocache answers
    /// instead), otherwise the response is cut off, so the client never takes a truncated body for a whole one.
    /// </summary>
    public Task AnswerAsync()
    {
        _context.Features.Set<IForwarderErrorFeature?>(null);
        if (_context.Response.HasStarted)
        {
            _context.Abort();
            return Task.CompletedTask;
        }
        if (ForwardingFailures.HandledByHook(_context, StatusCodes.Status504GatewayTimeout)) return Task.CompletedTask;
        return ErrorResponses.WriteAsync(_context, StatusCodes.Status504GatewayTimeout,
            "The application process did not answer within the app's max request time");
    }

    /// <summary>Gives the request its own abort token back (before anything writes an answer with it).</summary>
    public void Dispose()
    {
        _context.RequestAborted = _clientAborted;
        _linked.Dispose();
        _timer.Dispose();
    }
}
