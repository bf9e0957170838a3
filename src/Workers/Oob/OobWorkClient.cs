using Porter.Workers.Pool;
using Porter.Workers.Spawning;

namespace Porter.Workers.Oob;

/// <summary>How one out-of-band work call to a process ended.</summary>
public enum OobOutcome
{
    /// <summary>The process answered with a success status.</summary>
    Completed,

    /// <summary>The process answered with another status (it has no OOB endpoint, or its work failed): done, the process stays.</summary>
    Declined,

    /// <summary>No answer within the work timeout: done, and the process is recycled.</summary>
    TimedOut,

    /// <summary>The connection failed (the process crashed): done, and the process is recycled.</summary>
    Unreachable,
}

/// <summary>The call a worker makes once it holds a token: <c>POST /.porter/oob-work</c> with the signed token id in a header.</summary>
public static class OobWorkClient
{
    /// <summary>The path apps implement for out-of-band work.</summary>
    public const string Path = ".porter/oob-work";

    /// <summary>The request header carrying the token id, signed with the process's secret (<see cref="OobWorkSignature"/>).</summary>
    public const string TokenHeader = "X-Porter-OOB-Token";

    // Its own pool: an OOB call never waits behind (or holds) a connection the request path could use.
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
        ActivityHeadersPropagator = null,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Posts the work request and waits at most <paramref name="timeout"/> for the whole answer.</summary>
    public static async Task<OobOutcome> PostAsync(ProcessEndpoint endpoint, long tokenId, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.BaseUri + Path)
        {
            Content = new ByteArrayContent([]),
            Version = System.Net.HttpVersion.Version11,
        };
        request.Headers.TryAddWithoutValidation(TokenHeader, OobWorkSignature.TokenHeaderValue(endpoint.OobSecret, tokenId));
        try
        {
            using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            return response.IsSuccessStatusCode ? OobOutcome.Completed : OobOutcome.Declined;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return OobOutcome.TimedOut;
        }
        catch (HttpRequestException)
        {
            return OobOutcome.Unreachable;
        }
    }
}
